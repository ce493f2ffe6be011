"""The authentication file: which credentials a node's cloud or config manager gets.

`auth_data.yaml` has three lists, `resource`, `config_management` and `ssh`.
In each entry `auth_data` holds the credentials and every other key is a
filter: the entry applies to a node whose section (`resource` or
`config_management`; for `ssh`, the node's `resource`: the login depends on
its image and cloud) has all of the filter's keys with equal values.

The original re-read the file on every query; `AuthData` reads it once and
again only when it changed on disk. Errors name entries by their position,
never by their credentials.
"""
from __future__ import annotations

import copy
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from occo.util.errors import ConfigurationError, OccoError, SchemaError, SourceLocation
from occo.util.merge import is_subdict
from occo.util.redact import redact, remember_secrets
from occo.util.schema import Field, Problems, Schema, check
from occo.util.yamlload import load_file, location_of, to_plain

SECTIONS = ("resource", "config_management", "ssh")

AUTH_FILE = Schema("authentication file", {
    section: Field("list", doc=f"credentials for the {section} sections of node definitions")
    for section in SECTIONS
})
# `auth_data` is "any" here: its kind is checked in `_read`, whose message never quotes the value.
ENTRY = Schema("entry", {
    "auth_data": Field("any", required=True, doc="the credentials, e.g. {accesskey, secretkey}"),
}, open=True, doc="every key besides auth_data is a filter, e.g. type or endpoint")


class CredentialSource(Protocol):
    """What plugins' providers need of the auth data: `AuthData`, or a stand-in in tests."""

    def select(self, section: str, node_section: Mapping[str, Any]) -> dict[str, Any] | None: ...


class AmbiguousAuthData(OccoError):
    """More than one entry of the authentication file fits a node."""


@dataclass(frozen=True)
class _Entry:
    filter: dict[str, Any]
    auth_data: dict[str, Any]
    location: SourceLocation | None

    def describe(self) -> str:
        filters = ", ".join(f"{key}={value}" for key, value in redact(self.filter).items())
        return f"{self.location} ({filters or 'no filter'})"


class AuthData:
    """The credentials of one authentication file, re-read only when the file changes."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._sections: dict[str, list[_Entry]] = {}

    def select(self, section: str, node_section: Mapping[str, Any]) -> dict[str, Any] | None:
        """A copy of the credentials whose filter fits `node_section`; None if no entry fits.

        `section` is "resource", "config_management" or "ssh"; more than one fitting
        entry is an `AmbiguousAuthData` error.
        """
        if section not in SECTIONS:
            raise ValueError(f"section must be one of {SECTIONS}, not {section!r}")
        matches = [entry for entry in self._current()[section]
                   if is_subdict(entry.filter, dict(node_section))]
        if len(matches) > 1:
            raise AmbiguousAuthData(
                f"{len(matches)} entries of '{section}' in {self.path} fit this node: "
                + "; ".join(entry.describe() for entry in matches),
                location=matches[0].location,
                hint="add a filter key such as 'endpoint' to these entries so that one fits")
        return copy.deepcopy(matches[0].auth_data) if matches else None

    def check(self) -> None:
        """Read the file now; `SchemaError` lists every problem in it."""
        self._current()

    def _current(self) -> dict[str, list[_Entry]]:
        with self._lock:
            stamp = self._stat()
            if stamp != self._stamp:
                self._sections = _read(self.path)
                self._stamp = stamp
            return self._sections

    def _stat(self) -> tuple[int, int, int]:
        try:
            stat = self.path.stat()
        except OSError as error:
            raise ConfigurationError(f"cannot read the authentication file {self.path}: "
                                     f"{error.strerror}",
                                     hint="restore the file, or point --auth_data_path at another"
                                     ) from None
        return stat.st_mtime_ns, stat.st_size, stat.st_ino


def check_auth_data(data: Any, path: str | os.PathLike) -> None:
    """Check the data of an authentication file, loaded from `path` by a checker that need not
    read it again; `SchemaError` lists every problem in it."""
    _entries(data, Path(path))


def _read(path: Path) -> dict[str, list[_Entry]]:
    return _entries(load_file(path), path)


def _entries(data: Any, path: Path) -> dict[str, list[_Entry]]:
    data = {} if data is None else data
    problems = Problems()
    check(data, AUTH_FILE, path.name, problems)
    sections: dict[str, list[_Entry]] = {section: [] for section in SECTIONS}
    for section in SECTIONS:
        entries = data.get(section) if isinstance(data, dict) else None
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            where = location_of(entries, index)
            label = f"entry {index + 1} of '{section}'"
            check(entry, ENTRY, label, problems, where)
            credentials = entry.get("auth_data") if isinstance(entry, dict) else None
            if credentials is not None and not isinstance(credentials, dict):
                problems.add(f"'auth_data' in {label} must be a mapping of credentials",
                             location_of(entry, "auth_data"), "write e.g. auth_data: {username: "
                             "..., password: ...}")
            elif credentials is not None:
                filters = {key: to_plain(value) for key, value in entry.items() if key != "auth_data"}
                sections[section].append(_Entry(filters, to_plain(entry["auth_data"]), where))
    # hidden in a crash log too, whose traceback may quote them
    # (the values under secret keys only: a user name or region hidden everywhere would garble
    # every message that happens to contain the same word)
    remember_secrets([entry.auth_data for entries in sections.values() for entry in entries])
    if problems:
        raise SchemaError(list(problems))
    return sections
