"""Writing a resource type's schema: the keys every `resource` section has, and a helper.

Each plugin declares its own schema beside it (`docker/schema.py`, ...) with
`resource_schema`.
Values that must be numbers are declared `scalar`, since users write
placeholders and templates there. Keys marked `connection` say which backend
a section reaches; a handler is built once per distinct value of them.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from occo.util.schema import Field, Schema

_FALSE = {"false", "no", "off", "0", ""}


def resource_schema(type_name: str, doc: str, required: dict[str, Field],
                    optional: dict[str, Field], one_of: tuple[tuple[str, ...], ...] = ()) -> Schema:
    """A resource section: `type`, an optional display `name`, and the type's own keys."""
    fields = {"type": Field("str", required=True, doc=f"the resource type, here '{type_name}'"),
              "name": Field("scalar", connection=True,
                            doc="a name for this cloud in logs and auth-data filters")}
    fields.update({key: replace(spec, required=True) for key, spec in required.items()})
    fields.update(optional)
    return Schema(f"resource {type_name}", fields, doc, one_of=one_of)


def text(doc: str, *, connection: bool = False) -> Field:
    """A single value: text, a number or a placeholder."""
    return Field("scalar", doc=doc, connection=connection)


def flag(value: Any) -> bool:
    """A yes/no key as users write it: true, yes, 1 (and a value left empty is no)."""
    if isinstance(value, bool):
        return value
    return value is not None and str(value).strip().lower() not in _FALSE
