"""The part of a node's cloud-config that a process group on this machine can apply.

`parse` turns the rendered `#cloud-config` text into a `Plan`: the commands of
`bootcmd` and `runcmd` as argument vectors, the files of `write_files` decoded
and with their paths made relative to the node's root folder, and the extra
variables of the `environment` extension key. Everything is checked here, when
the node is created, so that a mistake fails the create call with a message
instead of a half-bootstrapped node. Keys a single machine cannot honour
(`packages`, `users`, ...) are kept as notes for the node's log.
"""
from __future__ import annotations

import base64
import binascii
import gzip
import posixpath
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..base import PermanentError

HEADER = "#cloud-config"
APPLIED = ("bootcmd", "write_files", "runcmd", "environment")
FILE_KEYS = ("path", "content", "encoding", "permissions", "append", "defer")
DEFAULT_MODE = 0o644
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
HINT = "see the cloud-init documentation of write_files, bootcmd and runcmd"

Command = tuple[str, ...]   # an argument vector; a command line is ("/bin/sh", "-c", line)


class ContextError(PermanentError):
    """A node's cloud-config cannot be applied as written."""


@dataclass(frozen=True)
class FileToWrite:
    """One `write_files` entry, decoded; `path` is relative to the node's root folder."""

    path: str
    data: bytes
    mode: int = DEFAULT_MODE
    append: bool = False


@dataclass(frozen=True)
class Plan:
    """What a node's bootstrap does, in cloud-init's order: bootcmd, write_files, runcmd."""

    bootcmd: tuple[Command, ...] = ()
    write_files: tuple[FileToWrite, ...] = ()
    runcmd: tuple[Command, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()   # keys not applied, for the node's log

    def to_dict(self) -> dict[str, Any]:
        return {"bootcmd": [list(argv) for argv in self.bootcmd],
                "write_files": [{"path": item.path, "mode": item.mode, "append": item.append,
                                 "data": base64.b64encode(item.data).decode()}
                                for item in self.write_files],
                "runcmd": [list(argv) for argv in self.runcmd],
                "environment": dict(self.environment), "ignored": list(self.ignored)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        return cls(tuple(tuple(argv) for argv in data["bootcmd"]),
                   tuple(FileToWrite(item["path"], base64.b64decode(item["data"]), item["mode"],
                                     item["append"]) for item in data["write_files"]),
                   tuple(tuple(argv) for argv in data["runcmd"]),
                   dict(data["environment"]), tuple(data["ignored"]))


def parse(context: str | None) -> Plan:
    """The plan of a rendered context; an empty plan when there is none."""
    if context is None or not context.strip():
        return Plan()
    if not context.lstrip().startswith(HEADER):
        raise ContextError("the node's context is not a #cloud-config document",
                           hint="a local node applies cloud-config only; start the text with "
                                "'#cloud-config', as cloud-init needs too")
    try:
        document = yaml.safe_load(context)
    except yaml.YAMLError as error:
        raise ContextError(f"the node's cloud-config is not valid YAML: {error}",
                           hint="check the rendered context_template") from None
    if document is None:
        return Plan()
    if not isinstance(document, dict):
        raise ContextError("the node's cloud-config must be a mapping of cloud-init keys",
                           hint=HINT)
    files, file_notes = _files(document.get("write_files", []))
    return Plan(bootcmd=_commands(document.get("bootcmd", []), "bootcmd"),
                write_files=files,
                runcmd=_commands(document.get("runcmd", []), "runcmd"),
                environment=_environment(document.get("environment", {})),
                ignored=tuple(sorted(str(key) for key in document if key not in APPLIED))
                + file_notes)


def _commands(value: Any, key: str) -> tuple[Command, ...]:
    items = _list(value, key)
    commands = []
    for index, item in enumerate(items):
        where = f"{key}[{index}]"
        if isinstance(item, str):
            commands.append(("/bin/sh", "-c", item))
        elif isinstance(item, list) and item and all(_is_scalar(word) for word in item):
            commands.append(tuple(str(word) for word in item))
        else:
            raise ContextError(f"{where} must be a command line or a non-empty list of words",
                               hint="a string runs with /bin/sh -c; a list runs without a shell")
    return tuple(commands)


def _files(value: Any) -> tuple[tuple[FileToWrite, ...], tuple[str, ...]]:
    files, notes = [], []
    for index, entry in enumerate(_list(value, "write_files")):
        where = f"write_files[{index}]"
        if not isinstance(entry, dict):
            raise ContextError(f"{where} must be a mapping with a 'path'", hint=HINT)
        notes.extend(f"{where}.{key}" for key in entry if key not in FILE_KEYS)
        append = entry.get("append", False)
        if not isinstance(append, bool):
            raise ContextError(f"{where}.append must be true or false", hint=HINT)
        files.append(FileToWrite(_relative_path(entry.get("path"), where),
                                 _decode(entry.get("content", ""), entry.get("encoding"), where),
                                 _mode(entry.get("permissions"), where), append))
    return tuple(files), tuple(notes)


def _relative_path(path: Any, where: str) -> str:
    """`path` under the node's root: `/etc/app.conf` -> `etc/app.conf`; `..` stops at the root."""
    if not isinstance(path, str) or not path.strip("/") or "\0" in path:
        raise ContextError(f"{where}.path must name a file", hint=HINT)
    relative = posixpath.normpath("/" + path).lstrip("/")
    if not relative or relative == ".":
        raise ContextError(f"{where}.path must name a file, not the root folder", hint=HINT)
    return relative


def _mode(permissions: Any, where: str) -> int:
    """cloud-init's reading: a string is octal ('0640'); a number is taken as it is."""
    if permissions is None:
        return DEFAULT_MODE
    try:
        mode = int(permissions, 8) if isinstance(permissions, str) else permissions
    except ValueError:
        mode = None
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o7777:
        raise ContextError(f"{where}.permissions must be an octal mode such as '0644', "
                           f"not {permissions!r}", hint="quote it, so that YAML keeps it octal")
    return mode


def _b64(data: bytes) -> bytes:
    return base64.b64decode(data, validate=False)


DECODERS: dict[str, tuple[Callable[[bytes], bytes], ...]] = {
    "text/plain": (),
    "b64": (_b64,), "base64": (_b64,),
    "gz": (gzip.decompress,), "gzip": (gzip.decompress,),
    **{f"{gz}+{b64}": (_b64, gzip.decompress)
       for gz in ("gz", "gzip") for b64 in ("b64", "base64")},
}


def _decode(content: Any, encoding: Any, where: str) -> bytes:
    steps = DECODERS.get(str(encoding or "text/plain").lower())
    if steps is None:
        raise ContextError(f"{where}.encoding {encoding!r} is not known",
                           hint="use one of: " + ", ".join(DECODERS))
    data = content if isinstance(content, bytes) else str(content).encode()
    try:
        for step in steps:
            data = step(data)
    except (binascii.Error, zlib.error, OSError, EOFError) as error:
        raise ContextError(f"{where}.content cannot be decoded as {encoding}: {error}",
                           hint="check that the content was encoded that way") from None
    return data


def _environment(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ContextError("environment must be a mapping of variable names to values",
                           hint="e.g. environment: {PORT: 8080}")
    variables = {}
    for name, item in value.items():
        if not isinstance(name, str) or not VARIABLE_NAME.match(name) or not _is_scalar(item):
            raise ContextError(f"environment: {name!r} must be a variable name with one value",
                               hint="names are letters, digits and _; values are text or numbers")
        variables[name] = str(item).lower() if isinstance(item, bool) else str(item)
    return variables


def _list(value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ContextError(f"{key} must be a list", hint=HINT)
    return value


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))
