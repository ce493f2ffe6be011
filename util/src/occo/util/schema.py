"""Declaring the keys of a YAML section once, and checking data against them.

A component declares each section it owns as a `Schema` (plain data: keys,
kinds, defaults, docs). The same declaration drives the checker below, its
error messages and generated docs. The checker never stops at the first
problem: it collects every problem, each with its position and a hint.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import OccoError, SourceLocation
from .templated import is_template, port_number
from .yamlload import key_location, location_of

# Kinds of value. "scalar" accepts strings too, so that placeholders such as
# `replace_with_...` and templates such as `{{ variables.port }}` stand where
# a number is expected, as they do in users' node definitions.
KINDS: dict[str, Callable[[Any], bool]] = {
    "any": lambda value: True,
    "str": lambda value: isinstance(value, str),
    "int": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "bool": lambda value: isinstance(value, bool),
    "number": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
    "scalar": lambda value: isinstance(value, (str, int, float, bool)),
    "list": lambda value: isinstance(value, list),
    "mapping": lambda value: isinstance(value, dict),
    "text": lambda value: isinstance(value, (str, dict)),  # a template: text or imported YAML
    # a health check's port or URL: what it is, or a template, checked once rendered
    "port": lambda value: is_template(value) or port_number(value) is not None,
    "url": lambda value: is_template(value) or (
        isinstance(value, str) and value.lower().startswith(("http://", "https://"))),
}
KIND_NAMES = {"any": "any value", "str": "a string", "int": "a whole number",
              "bool": "true or false", "number": "a number", "scalar": "a single value", "list": "a list",
              "mapping": "a mapping", "text": "text or an imported YAML document",
              "port": "a port number (1 to 65535) or a template",
              "url": "an http:// or https:// URL, or a template"}


@dataclass(frozen=True)
class Field:
    """One key of a section."""

    kind: str = "any"
    required: bool = False
    default: Any = None
    doc: str = ""
    items: str | None = None          # the kind of each item of a list
    schema: Schema | None = None    # the schema of a nested mapping
    connection: bool = False          # it says which backend to reach (endpoint, region), not
                                      # what to make there: a plugin connects once per value
    verbatim: bool = False            # its templates are the plugin's own (an ansible
                                      # playbook's): node resolution leaves them as written


@dataclass(frozen=True)
class Schema:
    """The keys a section may hold."""

    name: str
    fields: dict[str, Field]
    doc: str = ""
    open: bool = False                # True: unknown keys are allowed (free-form sections)
    one_of: tuple[tuple[str, ...], ...] = field(default=())  # at least one key of each group

    @property
    def required(self) -> list[str]:
        return [name for name, spec in self.fields.items() if spec.required]

    @property
    def connection_keys(self) -> tuple[str, ...]:
        """The keys marked `connection`: together, the backend a section reaches."""
        return tuple(name for name, spec in self.fields.items() if spec.connection)


class Problem(OccoError):
    """One thing wrong in a file, found by a checker."""


Where = SourceLocation | Callable[[], SourceLocation | None] | None


class Problems(list):
    """The problems found so far in one file."""

    def add(self, message: str, location: Where, hint: str | None = None) -> None:
        """Record a problem; `location` may be a function, called only now.

        Checkers pass functions so that valid data, the common case, costs no
        position look-ups.
        """
        if callable(location):
            location = location()
        self.append(Problem(message, location=location, hint=hint))


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest choice, if one is close enough."""
    matches = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


def check_kind(value: Any, kind: str, where: Where, what: str, problems: Problems) -> bool:
    if KINDS[kind](value):
        return True
    problems.add(f"{what} must be {KIND_NAMES[kind]}, not {type(value).__name__} {value!r}"
                 if not isinstance(value, (dict, list)) else
                 f"{what} must be {KIND_NAMES[kind]}, not a {'mapping' if isinstance(value, dict) else 'list'}",
                 where)
    return False


def check(data: Any, schema: Schema, what: str, problems: Problems, where: Where = None) -> None:
    """Check a mapping against a schema, adding every problem to `problems`."""
    if getattr(data, "position", None) is not None:  # loaded from YAML: it knows its place
        where = lambda: location_of(data)  # noqa: E731
    if not isinstance(data, dict):
        problems.add(f"{what} must be a mapping", where)
        return
    for key in data:
        if key not in schema.fields and not schema.open:
            allowed = ", ".join(schema.fields) or "none"
            problems.add(f"unknown key '{key}' in {what}", lambda key=key: key_location(data, key),
                         did_you_mean(key, schema.fields) or f"the keys allowed here are: {allowed}")
    for name, spec in schema.fields.items():
        if name not in data:
            if spec.required:
                problems.add(f"missing key '{name}' in {what}", where,
                             spec.doc or None)
            continue
        value = data[name]
        value_where = lambda name=name: location_of(data, name)  # noqa: E731
        label = f"'{name}' in {what}"
        if value is None:  # `key:` with nothing after it: unset, as the original read it
            if spec.required:
                problems.add(f"{label} has no value", value_where, spec.doc or None)
            continue
        if not check_kind(value, spec.kind, value_where, label, problems):
            continue
        if spec.items and isinstance(value, list):
            for index, item in enumerate(value):
                check_kind(item, spec.items, lambda v=value, i=index: location_of(v, i),
                           f"item {index + 1} of {label}", problems)
        if spec.schema is not None and isinstance(value, dict):
            check(value, spec.schema, label, problems, value_where)
    for group in schema.one_of:
        if not any(name in data for name in group):
            problems.add(f"{what} needs one of: {', '.join(group)}", where)


def with_defaults(data: dict, schema: Schema) -> dict:
    """A copy of `data` with the schema's defaults filled in for absent keys."""
    result = dict(data)
    for name, spec in schema.fields.items():
        if name not in result and spec.default is not None:
            result[name] = spec.default
    return result
