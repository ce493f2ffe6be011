"""What an Occopus file is, told from its content, and the likely mistake in one that is
none of the kinds.

occopus-validate recognises each file by what it holds. A file it cannot
recognise is usually one kind of file with a mistake that hides what it is:
node definitions whose keys lack the `node_def:` prefix, a list at the top
where a mapping belongs, misspelt keys. `explain_unrecognised` names that
kind and the mistake, and lists the problems the kind's own check finds —
the same check, and so the same positioned messages, as occopus-import and
occopus-build give for that file.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from occo.compiler.description import INFRASTRUCTURE, NODE
from occo.compiler.nodedefs import PREFIX, SECTIONS
from occo.infobroker.auth import SECTIONS as AUTH_SECTIONS
from occo.util.config import CONFIG
from occo.util.errors import OccoError, SourceLocation
from occo.util.schema import did_you_mean
from occo.util.yamlload import key_location, location_of

CLOUD_CONFIG_HEADER = "#cloud-config"

# Top-level keys of cloud-config (the cloud-init modules users write most); a file of
# them is a cloud-init file that node definitions import with !text_import.
CLOUD_CONFIG_KEYS = frozenset({
    "apt", "apt_sources", "apt_update", "apt_upgrade", "bootcmd", "ca_certs", "chef",
    "disk_setup", "final_message", "fs_setup", "groups", "hostname", "manage_etc_hosts",
    "mounts", "ntp", "output", "package_reboot_if_required", "package_update",
    "package_upgrade", "packages", "phone_home", "power_state", "puppet", "runcmd",
    "ssh_authorized_keys", "ssh_pwauth", "swap", "timezone", "users", "write_files",
    "yum_repos",
})


def is_cloud_config(data: Any) -> bool:
    return isinstance(data, dict) and bool(set(data) & CLOUD_CONFIG_KEYS)


def has_cloud_config_header(text: str) -> bool:
    """A file's text starts with `#cloud-config`, the mark cloud-init reads."""
    return text.startswith(CLOUD_CONFIG_HEADER)


@dataclass(frozen=True)
class Guess:
    """The kind a file most likely is, and the mistake that hid it."""

    kind: str
    mistake: str
    hint: str
    key: Any = None        # the key the mistake is in, if it is in one


def likely_kind(data: Any) -> Guess | None:
    """What a file no kind recognises most likely is, or None when nothing suggests one."""
    if isinstance(data, list):
        items = [item for item in data if isinstance(item, dict)]
        if any(set(item) & set(SECTIONS) for item in items):
            return Guess("node definitions", "a list of implementations at the top",
                         f"put the list under a key naming its node type: '{PREFIX}NAME':")
        if any({"name", "type"} <= set(item) for item in items):
            return Guess("infrastructure description", "a list of nodes at the top",
                         "put the list under 'nodes:', next to 'infra_name:'")
        return None
    if not isinstance(data, dict):
        return None
    for key, value in data.items():
        if _implementations(value):
            return Guess("node definitions", f"node types without the '{PREFIX}' prefix",
                         f"write each node type as '{PREFIX}NAME', e.g. '{PREFIX}{key}':", key)
    if set(data) & set(SECTIONS):
        return Guess("node definitions", "one implementation at the top",
                     f"put it in a list under a key naming its node type: '{PREFIX}NAME':")
    if {"name", "type"} <= set(data) <= set(NODE.fields):
        return Guess("infrastructure description", "one node at the top",
                     "put it in a list under 'nodes:', next to 'infra_name:'")
    for kind, fields in (("infrastructure description", INFRASTRUCTURE.fields),
                         ("Occopus configuration", CONFIG.fields),
                         ("authentication file", AUTH_SECTIONS)):
        for key in data:
            hint = did_you_mean(str(key), fields)
            if hint:
                return Guess(kind, f"a misspelt key {key!r}", hint, key)
    return None


def _implementations(value: Any) -> bool:
    """`value` is a list of node implementations (mappings of sections)."""
    return isinstance(value, list) and any(isinstance(item, dict) and set(item) & set(SECTIONS)
                                           for item in value)


def explain_unrecognised(path: str, data: Any,
                         checks: Mapping[str, Callable[[], Any]]) -> list[OccoError]:
    """Why `data`, loaded from `path`, is none of the kinds `checks` checks (by kind name;
    each checks `data` as that kind): the likely mistake at its place, then the problems
    the likely kind's check finds."""
    where = location_of(data) or SourceLocation(path, 1, 1)
    guess = likely_kind(data)
    if guess is None:
        return [OccoError(f"cannot tell what this file is: {_describe(data)}",
                          location=_first_key(data) or where,
                          hint=f"expected one of: {', '.join(checks)}")]
    lead = OccoError(f"cannot tell what this file is; it looks like {_a(guess.kind)} with "
                     f"{guess.mistake}", hint=guess.hint,
                     location=where if guess.key is None else key_location(data, guess.key))
    try:
        checks[guess.kind]()
    except OccoError as error:
        return [lead, *getattr(error, "problems", [error])]
    return [lead]


def _a(kind: str) -> str:
    """The kind as a phrase: 'an infrastructure description', 'node definitions'."""
    if kind.endswith("s"):
        return kind
    return f"{'an' if kind[0] in 'aeiouAEIOU' else 'a'} {kind}"


def _describe(data: Any) -> str:
    if data is None:
        return "it is empty"
    if isinstance(data, dict):
        keys = ", ".join(repr(key) for key in list(data)[:5])
        return f"none of its keys ({keys}{', ...' if len(data) > 5 else ''}) is one Occopus reads"
    if isinstance(data, list):
        return "it is a list, and every Occopus file is a mapping"
    return f"it holds a single {type(data).__name__}, and every Occopus file is a mapping"


def _first_key(data: Any) -> SourceLocation | None:
    if isinstance(data, dict) and data:
        return key_location(data, next(iter(data)))
    return None
