"""Stored documents: JSON that carries the schema version, so a newer one is refused, never misread.

Every backend stores the same text, `{"v": SCHEMA_VERSION, "data": ...}`; leases,
events and pending scaling requests are stored as the JSON of their dataclass fields,
but those the store itself gives (`metadata={"stored": False}`: an event's cursor).
"""
from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

from .base import SCHEMA_VERSION, Event, Lease, LeaseOwner, PendingScaling, StoreError

FOREIGN = "another program wrote this store; check the store settings"


# one encoder for every document: `json.dumps` with options builds a new one each call
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class Encoded(str):
    """Data its caller has encoded as JSON text already, stored as it is: a caller that knows
    which parts of its documents repeat (an engine's records of thousands of nodes of one
    definition) encodes them faster than `encode` can."""


def encode(data: Any) -> str:
    """The document text for `data` (JSON values only: a NaN or an object is a caller's bug)."""
    if isinstance(data, Encoded):
        return f'{{"v":{SCHEMA_VERSION},"data":{data}}}'
    return _ENCODER.encode({"v": SCHEMA_VERSION, "data": data})


def decode(text: str | bytes) -> Any:
    """The data of a document; `StoreError` if it is not one or is of a newer schema."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise StoreError(f"a stored document is not JSON ({error})", hint=FOREIGN) from None
    if not (isinstance(document, dict) and isinstance(document.get("v"), int)
            and "data" in document):
        raise StoreError("a stored document has no schema version", hint=FOREIGN)
    check_version(document["v"], "a stored document")
    return document["data"]


def check_version(version: int, what: str) -> None:
    """Refuse data written by a newer Occopus: reading it by the old rules could corrupt it."""
    if version > SCHEMA_VERSION:
        raise StoreError(f"{what} has schema version {version}; "
                         f"this Occopus reads up to {SCHEMA_VERSION}",
                         hint="upgrade Occopus (occo-info-broker) to use this store")


def restamped(text: str | bytes) -> str | None:
    """The document `text` encoded again at this schema version when an older one wrote it,
    so that an Occopus of that older version refuses it from now on (None if no older)."""
    try:
        data = decode(text)
    except StoreError:
        return None          # not ours to change: reading it reports what is wrong
    return encode(data) if json.loads(text)["v"] < SCHEMA_VERSION else None


def encode_record(record: Lease | Event | PendingScaling) -> str:
    return encode(_fields(record))


def _fields(record: Any) -> dict[str, Any]:
    """A dataclass's fields by name, nested dataclasses too: `asdict` without its deep copy
    of every value, which JSON encoding does not need (an engine logs thousands of events)."""
    return {name: _fields(value) if _field_names(type(value)) else value
            for name in _field_names(type(record))
            for value in (getattr(record, name),)}


@functools.lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    """The stored field names of a dataclass type; () for any other type."""
    return (tuple(field.name for field in dataclasses.fields(cls)
                  if field.metadata.get("stored", True))
            if dataclasses.is_dataclass(cls) else ())


def decode_lease(text: str | bytes) -> Lease:
    data = decode(text)
    return Lease(**{**data, "owner": LeaseOwner(**data["owner"])})


def decode_event(text: str | bytes, seq: int) -> Event:
    """The event stored as `text`, at the cursor `seq` the store gives it."""
    return Event(**{**decode(text), "seq": seq})

