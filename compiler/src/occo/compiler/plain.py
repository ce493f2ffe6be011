"""Checking that free-form values (variables, filters, node definitions) can be stored.

A description and its node definitions are stored as JSON. YAML can write
values JSON cannot hold — a date (`2020-01-01`), `.nan`, `.inf`, `!!binary`,
`!!set` — and the store would fail on them mid-build; they are refused here
instead, each at its position, with what to write.
"""
from __future__ import annotations

import datetime
import math
from typing import Any

from occo.util.schema import Problems, Where
from occo.util.yamlload import key_location, location_of

_QUOTE = "quote it to keep it as text"


def check_plain(value: Any, what: str, where: Where, problems: Problems) -> bool:
    """Add a problem for the first value in `value` that JSON cannot hold; True if none.

    One problem per checked value is enough to point at the mistake, and keeps a
    large broken mapping from flooding the output.
    """
    found = _first_unstorable(value, where)
    if found is None:
        return True
    message, hint, location = found
    problems.add(f"{what} holds {message}, which Occopus cannot store", location, hint)
    return False


def _first_unstorable(value: Any, where: Where) -> tuple[str, str, Where] | None:
    """(what the value is, a hint, where) for the first value JSON cannot hold, or None."""
    # (value, its container, its key there); positions are looked up only for a problem
    stack: list[tuple[Any, Any, Any]] = [(value, None, None)]
    seen: set[int] = set()    # an alias is its anchor's very object: look at it once
    while stack:
        item, container, key = stack.pop()
        if isinstance(item, (dict, list)):
            if id(item) in seen:
                continue
            seen.add(id(item))
        if isinstance(item, dict):
            for name in item:
                problem = _leaf_problem(name)
                if problem is not None:
                    return (f"a key that is {problem[0]}", problem[1],
                            lambda d=item, k=name: key_location(d, k))
            # pushed last first, so that values are visited in the order they were written
            stack.extend((item[name], item, name) for name in reversed(list(item)))
        elif isinstance(item, list):
            stack.extend((item[index], item, index) for index in reversed(range(len(item))))
        else:
            problem = _leaf_problem(item)
            if problem is not None:
                return (*problem, where if container is None
                        else lambda c=container, k=key: location_of(c, k))
    return None


def _leaf_problem(value: Any) -> tuple[str, str] | None:
    """(what the value is, a hint) if JSON cannot hold this plain value."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        spelled = ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"
        return f"the non-number {spelled}", f"write a number, or {_QUOTE}"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"the date {value.isoformat()}", _QUOTE
    if isinstance(value, (bytes, bytearray)):
        return "binary data (!!binary)", "write text instead"
    if isinstance(value, (set, frozenset)):
        return "a set (!!set)", "write a list instead"
    if isinstance(value, tuple):
        return "pairs (!!pairs or !!omap)", "write a mapping instead"
    return f"a {type(value).__name__} value", _QUOTE
