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
from occo.infobroker.auth import check_auth_data
from occo.util.config import CONFIG, find_config_file, read_settings, settings_of
from occo.util.errors import OccoError, SchemaError
from occo.util.limits import InstanceLimits, LoadLimits
from occo.util.yamlload import YamlError, YamlTagError, load_text, read_file

from .buildable import file_warnings
from .cli import EXIT_ERROR, EXIT_OK, add_version_option, run_command
from .filekinds import explain_unrecognised, has_cloud_config_header, is_cloud_config

CLOUD_INIT = "cloud-init file"


@dataclass(frozen=True)
class Bounds:
    """What files are held to: the configuration's loading bounds and instance limits."""

    load: LoadLimits = field(default_factory=LoadLimits)
    instances: InstanceLimits = field(default_factory=InstanceLimits)


@dataclass(frozen=True)
class LoadedFile:
    """A file's data, loaded from its text read once: every check of the file looks at the
    same content, even if the file changes meanwhile.

    The data is loaded strictly, as the other commands load these files. A file holding
    tags of the original config format (`!UDS`, ...) is loaded leniently instead, to
    tell what it is: such tags are right only in a configuration, and `strict_data`
    says why the file cannot be loaded strictly.
    """

    path: str
    data: Any
    tag_error: YamlTagError | None = None

    def strict_data(self) -> Any:
        if self.tag_error is not None:
            raise self.tag_error
        return self.data


def load(path: str, text: str, bounds: Bounds, imports: list[YamlError]) -> LoadedFile:
    """The data of `text`, read from `path`; `YamlError` if it is not valid YAML. Imports
    that cannot be followed are added to `imports` and load as empty values."""
    try:
        return LoadedFile(path, load_text(text, source=path, limits=bounds.load,
                                          import_errors=imports))
    except YamlTagError as error:
        imports.clear()
        data = load_text(text, source=path, lenient_tags=True, limits=bounds.load,
                         import_errors=imports)
        return LoadedFile(path, data, error)


def _is_node_definitions(data: Any) -> bool:
    return isinstance(data, dict) and any(str(key).startswith("node_def:") for key in data)


def _is_infrastructure(data: Any) -> bool:
    return isinstance(data, dict) and ("nodes" in data or "infra_name" in data)


def _is_auth_data(data: Any) -> bool:
    return isinstance(data, dict) and bool(data) and set(data) <= set(AUTH_SECTIONS)


def _is_config(data: Any) -> bool:
    return isinstance(data, dict) and bool(set(data) & set(CONFIG.fields))


# A check raises the file's problems and returns its warnings as printable lines: what this
# installation cannot do of a valid file (a file that is right, so exit 0).
Check = Callable[[LoadedFile, Bounds], list[str]]


def _check_node_definitions(file: LoadedFile, bounds: Bounds) -> list[str]:
    data = file.strict_data()
    found = file_warnings(data, load_node_definitions(data, SchemaRegistry.from_entry_points()))
    return [f"{warning.location or file.path}: warning: {warning.message}"
            + (f"\n  hint: {warning.hint}" if warning.hint else "") for warning in found]


def _check_infrastructure(file: LoadedFile, bounds: Bounds) -> list[str]:
    compile_description(file.strict_data(), source=file.path, limits=bounds.instances)
    return []


def _check_auth_data(file: LoadedFile, bounds: Bounds) -> list[str]:
    check_auth_data(file.strict_data(), file.path)
    return []


def _check_config(file: LoadedFile, bounds: Bounds) -> list[str]:
    settings_of(file.data, file.path)           # the tags of the original format are right here
    return []


def _check_cloud_init(file: LoadedFile, bounds: Bounds) -> list[str]:
    """A cloud-config is YAML (its templates are rendered later, per node): load it strictly."""
    data = file.strict_data()
    if not isinstance(data, dict):
        raise OccoError("a cloud-config file is a mapping of cloud-init modules",
                        location=getattr(data, "location", None),
                        hint="write e.g. write_files:, runcmd:, packages: at the top")
    return []


# (what the file is, how to recognise it, how to check it), tried in order.
KINDS: list[tuple[str, Callable[[Any], bool], Check]] = [
    ("node definitions", _is_node_definitions, _check_node_definitions),
    ("infrastructure description", _is_infrastructure, _check_infrastructure),
    ("authentication file", _is_auth_data, _check_auth_data),
    ("Occopus configuration", _is_config, _check_config),
    (CLOUD_INIT, is_cloud_config, _check_cloud_init),
]


def recognise(data: Any) -> tuple[str, Check] | None:
    for name, test, checker in KINDS:
        if test(data):
            return name, checker
    return None


@dataclass(frozen=True)
class Verdict:
    """What occopus-validate says of one file."""

    kind: str | None                # None: a file of no kind it knows
    problems: list[str]             # printable lines; none when the file is valid
    warnings: list[str] = field(default_factory=list)   # of a valid file, as printable lines


def examine(path: str, bounds: Bounds = Bounds()) -> Verdict:
    """Read the file once (bounded; a FIFO or a device is refused without waiting on it),
    tell what it is and check it."""
    imports: list[YamlError] = []       # imports that cannot be followed, told with the rest
    verdict = _examine(path, bounds, imports)
    lines = [str(error) for error in imports]
    # an import that failed stands as an empty value: what is said about that value is moot
    moot = tuple(f"{error.location}: " for error in imports)
    problems = lines + [line for line in verdict.problems
                        if line not in lines and not line.startswith(moot)]
    return Verdict(verdict.kind, problems, [] if problems else verdict.warnings)


def _examine(path: str, bounds: Bounds, imports: list[YamlError]) -> Verdict:
    kind: tuple[str, Check] | None = None
    try:
        text = read_file(path, bounds.load)
        if has_cloud_config_header(text):      # whatever its keys, cloud-init reads it as one
            kind = (CLOUD_INIT, _check_cloud_init)
        file = load(path, text, bounds, imports)
    except (YamlError, OccoError) as error:
        return Verdict(kind and kind[0], [str(error)])
    kind = kind or recognise(file.data)
    if kind is None:
        checks = {name: functools.partial(checker, file, bounds) for name, _, checker in KINDS}
        return Verdict(None, [str(problem) for problem in
                              explain_unrecognised(file.path, file.data, checks)])
    name, checker = kind
    try:
        return Verdict(name, [], checker(file, bounds))
    except SchemaError as error:
        return Verdict(name, [str(problem) for problem in error.problems])
    except (YamlError, OccoError) as error:
        return Verdict(name, [str(error)])


def check_file(path: str, bounds: Bounds = Bounds()) -> tuple[str | None, list[str]]:
    """What the file is (None: unknown) and its problems as printable lines (none: valid)."""
    verdict = examine(path, bounds)
    return verdict.kind, verdict.problems


def validate_file(path: str, bounds: Bounds = Bounds()) -> list[str]:
    """The problems of one file as printable lines; empty when it is valid."""
    return examine(path, bounds).problems


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
        verdict = examine(path, bounds)
        if verdict.problems:
            failed = True
            print("\n".join(verdict.problems))
        else:
            ok = f"{path}: ok (cloud-init)" if verdict.kind == CLOUD_INIT else f"{path}: ok"
            print("\n".join([*verdict.warnings, ok]))
    return EXIT_ERROR if failed else EXIT_OK


def main() -> int:
    return run_command("occopus-validate", _body)


if __name__ == "__main__":
    sys.exit(main())
