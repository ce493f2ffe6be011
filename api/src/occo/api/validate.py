"""occopus-validate: check Occopus files before using them.

Recognises each file by its content (an infrastructure description, node
definitions, ..., a cloud-init file that node definitions import), checks
it completely, and prints `FILE: ok` or every problem as
`file:line:column: message` with a hint. Exit code 0 when every file is
valid, 1 otherwise, 2 for usage errors. A valid file of node
definitions that this installation cannot build (a plugin missing here) gets
a `file:line:column: warning:` line for each such node type, and exit code 0.
A file it cannot recognise is explained: its likely kind and mistake (see
filekinds.py). Descriptions are held to the instance limits of the
configuration (`--cfg`, or the one the other commands find), as are the
bounds on loading a file.
"""
from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from occo.compiler import SchemaRegistry, compile_description, load_node_definitions
from occo.infobroker.auth import SECTIONS as AUTH_SECTIONS
from occo.infobroker.auth import AuthData
from occo.util.config import CONFIG, find_config_file, read_settings
from occo.util.errors import OccoError, SchemaError
from occo.util.limits import InstanceLimits, LoadLimits
from occo.util.yamlload import YamlError, load_file

from .buildable import file_warnings
from .cli import EXIT_ERROR, EXIT_OK, add_version_option, run_command
from .filekinds import explain_unrecognised, has_cloud_config_header, is_cloud_config

CLOUD_INIT = "cloud-init file"


@dataclass(frozen=True)
class Bounds:
    """What files are held to: the configuration's loading bounds and instance limits."""

    load: LoadLimits = field(default_factory=LoadLimits)
    instances: InstanceLimits = field(default_factory=InstanceLimits)


def _is_node_definitions(data: Any) -> bool:
    return isinstance(data, dict) and any(str(key).startswith("node_def:") for key in data)


def _is_infrastructure(data: Any) -> bool:
    return isinstance(data, dict) and ("nodes" in data or "infra_name" in data)


def _is_auth_data(data: Any) -> bool:
    return isinstance(data, dict) and bool(data) and set(data) <= set(AUTH_SECTIONS)


def _is_config(data: Any) -> bool:
    return isinstance(data, dict) and bool(set(data) & set(CONFIG.fields))


# check_file reports the imports it cannot follow: these loads go on past them (`[]`)
def _check_node_definitions(path: str, bounds: Bounds) -> None:
    load_node_definitions(load_file(path, limits=bounds.load, import_errors=[]),
                          SchemaRegistry.from_entry_points())


def _check_infrastructure(path: str, bounds: Bounds) -> None:
    compile_description(load_file(path, limits=bounds.load, import_errors=[]), source=path,
                        limits=bounds.instances)


def _check_auth_data(path: str, bounds: Bounds) -> None:
    AuthData(path).check()


def _check_config(path: str, bounds: Bounds) -> None:
    read_settings(path)


def _check_cloud_init(path: str, bounds: Bounds) -> None:
    """A cloud-config is YAML (its templates are rendered later, per node): load it strictly."""
    data = load_file(path, limits=bounds.load)
    if not isinstance(data, dict):
        raise OccoError("a cloud-config file is a mapping of cloud-init modules",
                        location=getattr(data, "location", None),
                        hint="write e.g. write_files:, runcmd:, packages: at the top")


# (what the file is, how to recognise it, how to check it), tried in order.
# Recognising reads the original config format's tags; checking a description,
# node definitions or auth data loads the file again, strictly.
KINDS: list[tuple[str, Callable[[Any], bool], Callable[[str, Bounds], Any]]] = [
    ("node definitions", _is_node_definitions, _check_node_definitions),
    ("infrastructure description", _is_infrastructure, _check_infrastructure),
    ("authentication file", _is_auth_data, _check_auth_data),
    ("Occopus configuration", _is_config, _check_config),
    (CLOUD_INIT, is_cloud_config, _check_cloud_init),
]


def recognise(data: Any) -> tuple[str, Callable[[str, Bounds], Any]] | None:
    for name, test, checker in KINDS:
        if test(data):
            return name, checker
    return None


def check_file(path: str, bounds: Bounds = Bounds()) -> tuple[str | None, list[str]]:
    """What the file is (None: unknown) and its problems as printable lines (none: valid)."""
    imports: list[YamlError] = []       # imports that cannot be followed, told with the rest
    kind, problems = _check_file(path, bounds, imports)
    lines = [str(error) for error in imports]
    # an import that failed stands as an empty value: what is said about that value is moot
    moot = tuple(f"{error.location}: " for error in imports)
    return kind, lines + [line for line in problems if line not in lines
                          and not line.startswith(moot)]


def _check_file(path: str, bounds: Bounds,
                imports: list[YamlError]) -> tuple[str | None, list[str]]:
    kind = None
    try:
        if has_cloud_config_header(path):   # whatever its keys, cloud-init reads it as one
            kind = (CLOUD_INIT, _check_cloud_init)
        else:
            data = load_file(path, lenient_tags=True, limits=bounds.load,
                             import_errors=imports)
            kind = recognise(data)
            if kind is None:
                checks = {name: functools.partial(checker, bounds=bounds)
                          for name, _, checker in KINDS}
                return None, [str(problem) for problem in explain_unrecognised(path, data, checks)]
        kind[1](path, bounds)
    except SchemaError as error:
        return kind and kind[0], [str(problem) for problem in error.problems]
    except (YamlError, OccoError) as error:
        return kind and kind[0], [str(error)]
    return kind[0], []


def validate_file(path: str, bounds: Bounds = Bounds()) -> list[str]:
    """The problems of one file as printable lines; empty when it is valid."""
    return check_file(path, bounds)[1]


def configured_bounds(cfg: str | None) -> Bounds:
    """The bounds of the configuration the commands use; the defaults, said on stderr, when it
    cannot be read (validating it shows why)."""
    found = find_config_file(cfg)
    if found.path is None:
        return Bounds()
    try:
        settings = read_settings(found.path)
    except OccoError:
        print(f"occopus-validate: the configuration {found.path} is not valid, so files are "
              "checked against the default bounds", file=sys.stderr)
        return Bounds()
    return Bounds(settings.yaml, settings.limits)


def warnings_of(path: str, bounds: Bounds = Bounds()) -> list[str]:
    """What a valid file asks of this installation that it cannot do, as printable lines: the
    node types of node definitions it cannot build (a file that is right, so exit 0)."""
    try:
        data = load_file(path, limits=bounds.load)
        if not _is_node_definitions(data):
            return []
        found = file_warnings(data, load_node_definitions(data, SchemaRegistry.from_entry_points()))
    except (YamlError, OccoError):
        return []                   # said as its problems
    return [f"{warning.location or path}: warning: {warning.message}"
            + (f"\n  hint: {warning.hint}" if warning.hint else "") for warning in found]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-validate", description=__doc__.splitlines()[0])
    add_version_option(parser)
    parser.add_argument("--cfg", metavar="CFG_PATH",
                        help="the occopus_config.yaml whose bounds files are held to")
    parser.add_argument("files", nargs="+", metavar="FILE")
    return parser


def _body(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    bounds = configured_bounds(args.cfg)
    failed = False
    for path in args.files:
        kind, problems = check_file(path, bounds)
        if problems:
            failed = True
            print("\n".join(problems))
        else:
            ok = f"{path}: ok (cloud-init)" if kind == CLOUD_INIT else f"{path}: ok"
            print("\n".join([*warnings_of(path, bounds), ok]))
    return EXIT_ERROR if failed else EXIT_OK


def main() -> int:
    return run_command("occopus-validate", _body)


if __name__ == "__main__":
    sys.exit(main())
