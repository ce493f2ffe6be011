"""occopus-validate: check Occopus files before using them.

Recognises each file by its content (an infrastructure description, node
definitions, ...), checks it completely, and prints `FILE: ok` or every
problem as `file:line:column: message` with a hint. Exit code 0 when every
file is valid, 1 otherwise, 2 for usage errors.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from occo.compiler import SchemaRegistry, compile_description, load_node_definitions
from occo.util.errors import OccoError, SchemaError
from occo.util.yamlload import YamlError, load_file

from .cli import EXIT_ERROR, EXIT_OK, run_command


def _is_node_definitions(data: Any) -> bool:
    return isinstance(data, dict) and any(str(key).startswith("node_def:") for key in data)


def _is_infrastructure(data: Any) -> bool:
    return isinstance(data, dict) and ("nodes" in data or "infra_name" in data)


def _check_node_definitions(data: Any, path: str) -> None:
    load_node_definitions(data, SchemaRegistry.from_entry_points())


def _check_infrastructure(data: Any, path: str) -> None:
    compile_description(data, source=path)


# (what the file is, how to recognise it, how to check it), tried in order.
KINDS: list[tuple[str, Callable[[Any], bool], Callable[[Any, str], None]]] = [
    ("node definitions", _is_node_definitions, _check_node_definitions),
    ("infrastructure description", _is_infrastructure, _check_infrastructure),
]


def recognise(data: Any) -> tuple[str, Callable[[Any, str], None]] | None:
    for name, test, checker in KINDS:
        if test(data):
            return name, checker
    return None


def validate_file(path: str) -> list[str]:
    """The problems of one file as printable lines; empty when it is valid."""
    try:
        data = load_file(path, lenient_tags=False)
        kind = recognise(data)
        if kind is None:
            names = ", ".join(name for name, _, _ in KINDS)
            return [f"{path}: cannot tell what this file is (expected: {names})"]
        kind[1](data, path)
    except SchemaError as error:
        return [str(problem) for problem in error.problems]
    except (YamlError, OccoError) as error:
        return [str(error)]
    return []


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-validate", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="FILE")
    return parser


def _body(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    failed = False
    for path in args.files:
        problems = validate_file(path)
        if problems:
            failed = True
            print("\n".join(problems))
        else:
            print(f"{path}: ok")
    return EXIT_ERROR if failed else EXIT_OK


def main() -> int:
    return run_command("occopus-validate", _body)


if __name__ == "__main__":
    sys.exit(main())
