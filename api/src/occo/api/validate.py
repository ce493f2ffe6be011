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
from occo.infobroker.auth import SECTIONS as AUTH_SECTIONS
from occo.infobroker.auth import AuthData
from occo.util.config import CONFIG, read_settings
from occo.util.errors import OccoError, SchemaError
from occo.util.yamlload import YamlError, load_file

from .cli import EXIT_ERROR, EXIT_OK, add_version_option, run_command


def _is_node_definitions(data: Any) -> bool:
    return isinstance(data, dict) and any(str(key).startswith("node_def:") for key in data)


def _is_infrastructure(data: Any) -> bool:
    return isinstance(data, dict) and ("nodes" in data or "infra_name" in data)


def _is_auth_data(data: Any) -> bool:
    return isinstance(data, dict) and bool(data) and set(data) <= set(AUTH_SECTIONS)


def _is_config(data: Any) -> bool:
    return isinstance(data, dict) and bool(set(data) & set(CONFIG.fields))


def _check_node_definitions(path: str) -> None:
    load_node_definitions(load_file(path), SchemaRegistry.from_entry_points())


def _check_infrastructure(path: str) -> None:
    compile_description(load_file(path), source=path)


def _check_auth_data(path: str) -> None:
    AuthData(path).check()


# (what the file is, how to recognise it, how to check it), tried in order.
# Recognising reads the original config format's tags; checking a description,
# node definitions or auth data loads the file again, strictly.
KINDS: list[tuple[str, Callable[[Any], bool], Callable[[str], Any]]] = [
    ("node definitions", _is_node_definitions, _check_node_definitions),
    ("infrastructure description", _is_infrastructure, _check_infrastructure),
    ("authentication file", _is_auth_data, _check_auth_data),
    ("Occopus configuration", _is_config, read_settings),
]


def recognise(data: Any) -> tuple[str, Callable[[str], Any]] | None:
    for name, test, checker in KINDS:
        if test(data):
            return name, checker
    return None


def validate_file(path: str) -> list[str]:
    """The problems of one file as printable lines; empty when it is valid."""
    try:
        kind = recognise(load_file(path, lenient_tags=True))
        if kind is None:
            names = ", ".join(name for name, _, _ in KINDS)
            return [f"{path}: cannot tell what this file is (expected: {names})"]
        kind[1](path)
    except SchemaError as error:
        return [str(problem) for problem in error.problems]
    except (YamlError, OccoError) as error:
        return [str(error)]
    return []


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-validate", description=__doc__.splitlines()[0])
    add_version_option(parser)
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
