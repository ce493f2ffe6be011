"""The instance record: what the engine stores for each node instance, as JSON.

The infra-processor owns it: it writes it, and it alone decodes it
(`InstanceRecord.from_dict`), for the engine, the template functions and the
enactor above. Components below it are handed typed values taken from it
(a `ResolvedNode`, an `Instance`, a `resource` section), never the document.
Its shape, written down once:

| key | value |
|---|---|
| `format` | 1 |
| `node_id`, `name`, `infra_id` | who it is |
| `phase` | `intent`, `created`, `ready`, `failed` or `dropping` (`Phase`) |
| `node` | the resolved definition: `ResolvedNode`'s fields (`resource` and `config_management` among them) |
| `variables` | the node's variables, for health-check templates |
| `instance` | `Instance.to_dict()` once the cloud made it, else null |
| `addresses` | where others reach it, the preferred first (empty until known) |
| `private_ip` | its private IP address, or null |
| `created_at` | epoch seconds when the intent was stored; `create_timeout` counts from it |
| `ready_at` | epoch seconds when it became ready, or null |
| `error` | why it failed, or null |
| `configured` | what its configure step did (`Configured.to_dict()`); null or absent: not run |

The intent is stored before any cloud call, so a crash at any moment leaves
either a record, or nothing in the cloud: recovery matches records against
what each cloud lists as owned by the infrastructure.
"""
from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from occo.configmanager.base import Configured
from occo.infobroker.store.codec import Encoded
from occo.resourcehandler.base import Instance
from occo.util.errors import OccoError
from occo.util.nodes import ResolvedNode
from occo.util.redact import redact_url

from .health import HealthTarget

FORMAT = 1


class RecordError(OccoError):
    """A stored instance record is not one this engine wrote."""


class Phase(StrEnum):
    """Where an instance is in its life, as far as the engine has recorded it."""

    INTENT = "intent"      # resolved and recorded; the cloud may or may not have made it yet
    CREATED = "created"    # the cloud made it; not ready yet
    READY = "ready"        # its resource, config manager and health check said ready
    FAILED = "failed"      # it failed and its rollback has not finished: a resource may remain
    DROPPING = "dropping"  # it is being dropped: the drop may or may not have reached its cloud


@dataclass(frozen=True)
class InstanceRecord:
    """One node instance as stored; every change makes a new record (`replace`)."""

    node: ResolvedNode
    phase: Phase
    created_at: float
    variables: Mapping[str, Any] = field(default_factory=dict)
    instance: Instance | None = None
    addresses: tuple[str, ...] = ()
    private_ip: str | None = None
    ready_at: float | None = None
    error: str | None = None
    configured: Configured | None = None

    @property
    def node_id(self) -> str:
        return self.node.node_id

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def infra_id(self) -> str:
        return self.node.infra_id

    @property
    def resource(self) -> dict[str, Any]:
        return self.node.resource

    def replace(self, **changes: Any) -> InstanceRecord:
        """A copy with `changes`; its fields are copied, not passed through the constructor
        (`dataclasses.replace`), which cost most of a poll's work on a node."""
        assert changes.keys() <= _FIELDS, f"not fields of a record: {changes.keys() - _FIELDS}"
        record = object.__new__(InstanceRecord)
        record.__dict__.update(self.__dict__, **changes)
        return record

    def health_target(self) -> HealthTarget:
        """What the health checker needs to check this instance."""
        return HealthTarget(self.node_id, self.addresses[0] if self.addresses else None,
                            self.node.health_check, self.variables, _Stored(self))

    def encoded(self) -> Encoded:
        """`to_dict()` as JSON text, the node's definition encoded once for all the nodes
        made from it (`_node_json`): a level of thousands of records, written twice each in
        the thread every other step waits for, spent most of that time encoding the same
        sections again."""
        text = _ENCODER.encode(self._document(_NODE_ID))
        return Encoded(text.replace(_NODE_ID_JSON, _node_json(self.node), 1))

    def to_dict(self) -> dict[str, Any]:
        """The record as stored. It shares the record's values: store it or copy it, never
        change it."""
        return self._document(_node_dict(self.node))

    def _document(self, node: Any) -> dict[str, Any]:
        return {"format": FORMAT, "node_id": self.node_id, "name": self.name,
                "infra_id": self.infra_id, "phase": self.phase.value, "node": node,
                "variables": self.variables,
                "instance": None if self.instance is None else self.instance.to_dict(),
                "addresses": list(self.addresses), "private_ip": self.private_ip,
                "created_at": self.created_at, "ready_at": self.ready_at,
                "error": None if self.error is None else redact_url(self.error),
                "configured": None if self.configured is None else _redacted(self.configured)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InstanceRecord:
        if data.get("format") != FORMAT:
            raise RecordError(f"instance record {data.get('node_id')!r} has format "
                              f"{data.get('format')!r}, not {FORMAT}",
                              hint="it was not written by this version of the engine")
        try:
            return cls(node=ResolvedNode(**data["node"]), phase=Phase(data["phase"]),
                       created_at=float(data["created_at"]), variables=dict(data["variables"]),
                       instance=(None if data["instance"] is None
                                 else Instance.from_dict(data["instance"])),
                       addresses=tuple(data["addresses"]), private_ip=data["private_ip"],
                       ready_at=data["ready_at"], error=data["error"],
                       configured=(None if data.get("configured") is None
                                   else Configured.from_dict(data["configured"])))
        except (KeyError, TypeError, ValueError) as error:
            raise RecordError(f"instance record {data.get('node_id')!r} is damaged: "
                              f"{type(error).__name__}: {error}") from None


def _redacted(configured: Configured) -> dict[str, Any]:
    """A configure step's result as stored: credentials in URLs of its detail hidden."""
    stored = configured.to_dict()
    if stored["detail"] is not None:
        stored["detail"] = redact_url(stored["detail"])
    return stored


def decode_all(documents: Iterable[Mapping[str, Any]],
               damaged: Callable[[RecordError], object]) -> list[InstanceRecord]:
    """The records of stored documents; `damaged` is told of each this version cannot read
    (logged, reported or passed over: each reader knows what it can do about one)."""
    records = []
    for data in documents:
        try:
            records.append(InstanceRecord.from_dict(data))
        except RecordError as error:
            damaged(error)
    return records


def stored_documents(instances: Mapping[str, Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Every document of `Store.get_instances`'s answer ({node name: {node id: document}})."""
    for by_id in instances.values():
        yield from by_id.values()


class _Stored(Mapping[str, Any]):
    """A copy of a record as stored (`instance_data` of health-check templates), made when
    first read: most health checks render no template, and a level of hundreds is checked
    at once."""

    def __init__(self, record: InstanceRecord) -> None:
        self._record = record
        self._data: dict[str, Any] | None = None

    def _encoded(self) -> dict[str, Any]:
        if self._data is None:
            self._data = copy.deepcopy(self._record.to_dict())     # templates may change it
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._encoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._encoded())

    def __len__(self) -> int:
        return len(self._encoded())


_NODE_FIELDS = tuple(item.name for item in dataclasses.fields(ResolvedNode))
_FIELDS = frozenset(item.name for item in dataclasses.fields(InstanceRecord))


# a value no node id or record field can be, to stand for what is encoded apart
_NODE_ID = "\x00node-id\x00"
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_NODE_ID_JSON = _ENCODER.encode(_NODE_ID)
_SHARED = tuple(name for name in _NODE_FIELDS if name != "node_id")
# the identities of a definition's values -> (those values, its JSON before and after the id)
_NODE_TEXTS: dict[tuple[int, ...], tuple[tuple[Any, ...], str, str]] = {}
_KEPT = 256


def _node_json(node: ResolvedNode) -> str:
    """`node` as JSON, from the text of its definition (every field but its id) encoded once.

    The nodes of one definition share its values (`ResolvedNode.with_node_id`); a
    definition's text is kept while it holds the very same objects (they are kept with
    it, so their identities cannot be reused), and sections are never changed.
    """
    shared = tuple(getattr(node, name) for name in _SHARED)
    key = tuple(map(id, shared))
    known = _NODE_TEXTS.get(key)
    if known is None or any(kept is not value for kept, value in zip(known[0], shared)):
        text = _ENCODER.encode({**_node_dict(node), "node_id": _NODE_ID})
        if text.count(_NODE_ID_JSON) != 1:      # the definition holds the stand-in itself
            return _ENCODER.encode(_node_dict(node))
        head, tail = text.split(_NODE_ID_JSON)
        if len(_NODE_TEXTS) >= _KEPT:
            _NODE_TEXTS.clear()
        known = _NODE_TEXTS[key] = (shared, head, tail)
    return known[1] + _ENCODER.encode(node.node_id) + known[2]


def _node_dict(node: ResolvedNode) -> dict[str, Any]:
    """`dataclasses.asdict(node)` without its deep copy of every value.

    A record is encoded on every store write of an instance, several times
    an instance, in the thread every other step waits for, and stores
    encode what they are given: the copy was most of the cost.
    """
    return {name: getattr(node, name) for name in _NODE_FIELDS}
