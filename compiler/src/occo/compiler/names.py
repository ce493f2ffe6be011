"""The naming rule the original applied to infrastructure and node names.

Both end up in host names and VM names, so they follow the rule for a host
name label: letters, digits and hyphens, at most 63 characters.
"""
from __future__ import annotations

import re

_LABEL = re.compile(r"[A-Za-z0-9-]+")
MAX_LENGTH = 63


def name_problem(name: object) -> str | None:
    """Why `name` is not a valid infrastructure or node name, or None if it is."""
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if "." in name:
        return "cannot contain '.'"
    if not _LABEL.fullmatch(name):
        return "may contain only letters, digits and '-'"
    if len(name) > MAX_LENGTH:
        return f"is too long ({len(name)} characters, at most {MAX_LENGTH})"
    return None
