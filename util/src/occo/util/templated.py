"""Values of node definitions that may be Jinja templates: what counts as one, and as a port.

A health check's port may be written as a template (`{{ variables.port }}`) that
is rendered per node. Checking a file (`occo.util.schema`) lets a template stand
where a port is expected; infra-processor renders the templates and reads the
port from what they render to. Both use the definitions here, so that a value a
check accepts is one a node can use, and one it refuses is one no node could.
"""
from __future__ import annotations

from typing import Any

# how Jinja's expressions, statements and comments open: text without them renders to itself
TEMPLATE_MARKS = ("{{", "{%", "{#")
MAX_PORT = 65535


def is_template(value: Any) -> bool:
    """Whether `value` is text that rendering would change: it holds a Jinja delimiter."""
    return isinstance(value, str) and any(mark in value for mark in TEMPLATE_MARKS)


def port_number(value: Any) -> int | None:
    """The TCP port `value` names: a whole number, or a string of digits, from 1 to 65535;
    None for anything else (a bool, a float, a sign, spaces, a name such as 'http')."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_PORT)):
            return None
        value = int(value)
    if not isinstance(value, int):
        return None
    return value if 0 < value <= MAX_PORT else None
