"""The MongoDB state store.

MongoDB makes only single-document writes atomic without a replica set, so all
of an infrastructure's guarded state lives in one document of `infrastructures`,
with its newest fencing token: a write filters on the token and on the
infrastructure existing, and either happens whole or not at all.

    {ns, infra_id,
     newest: int,            fencing counter (kept, as a tombstone, on removal)
     lease: document,        the lease (its token is always `newest`)
     description: document,  present exactly while the infrastructure exists
     instances: {node name: {node id: document}}, failed: {node id: document},
     targets: {node name: int}, failing: {node id: epoch seconds},
     pending: {node name: document},  its pending scaling requests (counts)
     scaling: [JSON [node name, request document]], oldest first: the old shape,
                             one request each, folded into `pending` when the
                             node's queue is next written
     attached: true,         present while a REST service maintains it
     destroying: true,       present while a destroy request a REST service accepted waits
     notification: document, its notification settings
     delivered: {target, seq},  how far its events were sent to a notification target
     generation: int,        incarnations of this id, numbering its events
     event_seq: int}         events appended so far (kept on removal)

Events, the newest kept (`Store.events_kept`), are documents of `events` {ns, infra_id,
generation, seq, doc}: `seq` is an event's cursor, growing across
incarnations of the id. Node definitions are one document per namespace, and
so is `schema` {ns, version}: the schema version of this layout. Service
members are documents of `members` {ns, member, expires_at}. Opening a
namespace of a newer schema is refused; one of an older schema (or none yet)
is upgraded: its descriptions are written again at this version, which an
older Occopus, that knows no `schema`, refuses when it reads them. Names
used as map keys are escaped (`.`, `$`, `%`, NUL). Scaling requests are
strings, not subdocuments, because nx-27017 (the tests' stand-in for mongod)
turns a pushed subdocument into a string; a queue is changed by
compare-and-set on its document text. A document holds at most 16 MB:
about 10,000 instance records of 1 KB per infrastructure.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from occo.util.redact import redact_url

from . import leases
from .backend import (ATTEMPTS, Change, ChangedAtomically, already_exists, busy, event_window,
                      failure, member_expiry, namespace, not_found, translate_errors)
from .base import (DEFAULT_LEASE_TTL, SCHEMA_VERSION, Delivered, Event, Lease, LeaseOwner,
                   PendingScaling, Store, StoreError)
from .codec import (FOREIGN, check_version, decode, decode_event, decode_lease, encode,
                    encode_record, restamped)
from .pending import decode_legacy, decode_pending, encode_pending, fold_legacy

# An infrastructure's parts that removal clears; newest, generation and event_seq stay.
PARTS = ("description", "lease", "instances", "failed", "targets", "failing", "pending",
         "scaling", "attached", "destroying", "notification", "delivered")
# What a new infrastructure must not inherit from an earlier one of its id that an older
# Occopus removed, knowing nothing of these parts.
NEWER_PARTS = ("attached", "destroying", "notification", "delivered")
DEFAULT_DATABASE = "occopus"

HINT = "check that the MongoDB server runs and the url of the store settings"
_ESCAPES = {"%": "%25", ".": "%2E", "$": "%24", "\0": "%00"}


@translate_errors(PyMongoError, hint=HINT)
class MongoStore(ChangedAtomically, Store):
    """The store on the MongoDB server at `url`, in `database`: by default the one the url
    names (`mongodb://host:port/NAME`), else "occopus"."""

    def __init__(self, url: str, user: str, database: str | None = None, prefix: str = "",
                 timeout: float = 10.0) -> None:
        self._ns = namespace(prefix, user)
        self.location = f"MongoDB at {redact_url(url)}"
        millis = int(timeout * 1000)
        try:
            self._client: MongoClient[dict[str, Any]] = MongoClient(
                url, serverSelectionTimeoutMS=millis, connectTimeoutMS=millis,
                socketTimeoutMS=millis)
            self._client.admin.command("ping")
            db = (self._client.get_default_database(DEFAULT_DATABASE) if database is None
                  else self._client[database])
            self._infras = db["infrastructures"]
            self._definitions = db["node_definitions"]
            self._events = db["events"]
            self._infras.create_index([("ns", ASCENDING), ("infra_id", ASCENDING)], unique=True)
            self._definitions.create_index([("ns", ASCENDING)], unique=True)
            self._events.create_index(
                [("ns", ASCENDING), ("infra_id", ASCENDING), ("seq", ASCENDING)], unique=True)
            self._schema = db["schema"]
            self._schema.create_index([("ns", ASCENDING)], unique=True)
            self._members = db["members"]
            self._members.create_index([("ns", ASCENDING), ("member", ASCENDING)], unique=True)
        except PyMongoError as error:
            if hasattr(self, "_client"):
                self._client.close()
            raise failure(f"cannot reach {self.location}", error, hint=HINT) from None
        try:
            self._upgrade()
        except BaseException as error:
            self._client.close()
            if isinstance(error, PyMongoError):
                raise failure(f"cannot open the store at {self.location}", error,
                              hint=HINT) from None
            raise

    def close(self) -> None:
        self._client.close()

    # --- plumbing ---------------------------------------------------------
    def _upgrade(self) -> None:
        """Refuse a namespace of a newer schema; bring one of an older schema to this one."""
        version = (self._schema.find_one({"ns": self._ns}) or {}).get("version", 0)
        if not isinstance(version, int):
            raise StoreError(f"{self.location} has a schema document with no version "
                             f"({str(version)[:20]!r})", hint=FOREIGN)
        check_version(version, self.location)
        if version >= SCHEMA_VERSION:
            return
        for state in self._infras.find({"ns": self._ns, "description": {"$exists": True}},
                                       {"infra_id": 1, "description": 1}):
            newer = restamped(state["description"])
            if newer is not None:   # unless another command changed it meanwhile
                self._infras.update_one({**self._id(state["infra_id"]),
                                         "description": state["description"]},
                                        {"$set": {"description": newer}})
        try:   # raised, never lowered
            self._schema.update_one({"ns": self._ns, "version": {"$lt": SCHEMA_VERSION}},
                                    {"$set": {"version": SCHEMA_VERSION}}, upsert=True)
        except DuplicateKeyError:
            pass            # marked at this version (or a newer one) meanwhile

    def _id(self, infra_id: str) -> dict[str, str]:
        return {"ns": self._ns, "infra_id": infra_id}

    def _state(self, infra_id: str, *fields: str) -> dict[str, Any]:
        """Fields of the infrastructure's document ({} when there is none)."""
        return self._infras.find_one(self._id(infra_id), {name: 1 for name in fields}) or {}

    def _update(self, infra_id: str, fence: int | None, update: dict[str, Any],
                fields: tuple[str, ...] = ()) -> dict[str, Any]:
        """`_update_if_exists`, for writes to an infrastructure that must exist."""
        after = self._update_if_exists(infra_id, fence, update, fields)
        if after is None:
            raise not_found(infra_id)
        return after

    def _update_if_exists(self, infra_id: str, fence: int | None, update: dict[str, Any],
                          fields: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """Apply `update` if `fence` is current and the infrastructure exists.

        Returns the document's `fields` after it, or None if the infrastructure
        does not exist. When the filter misses, the document says why; a miss it
        does not explain was a concurrent change, and the write is tried again.
        """
        query: dict[str, Any] = {**self._id(infra_id), "description": {"$exists": True}}
        if fence is not None:
            query["newest"] = {"$lte": fence}
        for _ in range(ATTEMPTS):
            after = self._apply(query, update, fields)
            if after is not None:
                return after
            state = self._state(infra_id, "description", "newest")
            leases.check_fence(infra_id, fence, state.get("newest", 0))
            if "description" not in state:
                return None
        raise busy(infra_id)

    def _apply(self, query: dict[str, Any], update: dict[str, Any],
               fields: tuple[str, ...]) -> dict[str, Any] | None:
        """The matched document's `fields` after `update`, or None if nothing matched."""
        if not fields:  # update_one is the cheaper call when nothing is read back
            return {} if self._infras.update_one(query, update).matched_count else None
        return self._infras.find_one_and_update(
            query, update, projection={"_id": 1, **{name: 1 for name in fields}},
            return_document=ReturnDocument.AFTER)

    # --- node definitions -------------------------------------------------
    def put_node_definitions(self, definitions: dict[str, list[dict]]) -> None:
        if not definitions:
            return
        query = {"ns": self._ns}
        update = {"$set": {f"types.{_escape(node_type)}": encode(implementations)
                           for node_type, implementations in definitions.items()}}
        try:
            self._definitions.update_one(query, update, upsert=True)
        except DuplicateKeyError:  # another command created the document just now
            self._definitions.update_one(query, update)

    def get_node_definition(self, node_type: str) -> list[dict] | None:
        doc = self._node_types().get(_escape(node_type))
        return None if doc is None else decode(doc)

    def list_node_types(self) -> list[str]:
        return sorted(_unescape(key) for key in self._node_types())

    def _node_types(self) -> dict[str, str]:
        found = self._definitions.find_one({"ns": self._ns}, {"types": 1}) or {}
        return found.get("types", {})

    # --- infrastructures --------------------------------------------------
    def add_infrastructure(self, infra_id: str, description: dict) -> None:
        try:
            self._infras.update_one(
                {**self._id(infra_id), "description": {"$exists": False}},
                {"$set": {"description": encode(description)}, "$inc": {"generation": 1},
                 "$setOnInsert": {"newest": 0}, "$unset": {part: "" for part in NEWER_PARTS}},
                upsert=True)
        except DuplicateKeyError:
            raise already_exists(infra_id) from None

    def update_infrastructure(self, infra_id: str, description: dict,
                              fence: int | None = None) -> None:
        self._update(infra_id, fence, {"$set": {"description": encode(description)}})

    def get_infrastructure(self, infra_id: str) -> dict:
        doc = self._state(infra_id, "description").get("description")
        if doc is None:
            raise not_found(infra_id)
        return decode(doc)

    def list_infrastructures(self) -> list[str]:
        return sorted(doc["infra_id"] for doc in self._infras.find(
            {"ns": self._ns, "description": {"$exists": True}}, {"infra_id": 1}))

    def remove_infrastructure(self, infra_id: str, fence: int | None = None) -> None:
        """Remove it and all its data; its fencing counter stays, so old tokens stay stale."""
        removed = self._update_if_exists(infra_id, fence, {"$unset": {part: "" for part in PARTS}},
                                         fields=("generation",))
        if removed is not None:
            self._events.delete_many(
                {**self._id(infra_id), "generation": {"$lte": removed["generation"]}})

    # --- node instances ---------------------------------------------------
    def put_instance(self, infra_id: str, node_name: str, node_id: str, data: dict,
                     fence: int | None = None) -> None:
        self._update(infra_id, fence,
                     {"$set": {_path("instances", node_name, node_id): encode(data)}})

    def get_instances(self, infra_id: str) -> dict[str, dict[str, dict]]:
        nodes = self._state(infra_id, "instances").get("instances", {})
        return {_unescape(node): {_unescape(node_id): decode(doc) for node_id, doc in ids.items()}
                for node, ids in nodes.items() if ids}

    def remove_instance(self, infra_id: str, node_name: str, node_id: str,
                        fence: int | None = None) -> None:
        self._update_if_exists(infra_id, fence,
                               {"$unset": {_path("instances", node_name, node_id): ""}})

    def archive_failed(self, infra_id: str, node_id: str, data: dict,
                       fence: int | None = None) -> None:
        self._update(infra_id, fence, {"$set": {_path("failed", node_id): encode(data)}})

    def failed_instances(self, infra_id: str) -> dict[str, dict]:
        failed = self._state(infra_id, "failed").get("failed", {})
        return {_unescape(node_id): decode(doc) for node_id, doc in failed.items()}

    # --- scaling ----------------------------------------------------------
    def set_target_count(self, infra_id: str, node_name: str, count: int,
                         fence: int | None = None) -> None:
        self._update(infra_id, fence, {"$set": {_path("targets", node_name): count}})

    def get_target_count(self, infra_id: str, node_name: str) -> int | None:
        return self._state(infra_id, "targets").get("targets", {}).get(_escape(node_name))

    def pending_scaling(self, infra_id: str, node_name: str) -> PendingScaling:
        return _queue(self._state(infra_id, "pending", "scaling"), node_name)[0]

    def _change_pending(self, infra_id: str, node_name: str, fence: int | None, *,
                        must_exist: bool, change: Change) -> PendingScaling | None:
        """Compare-and-set of the node's queue (old entries folded in and pulled): the write
        filters on the text read, the token read and the old entries still there."""
        field = _path("pending", node_name)
        for _ in range(ATTEMPTS):
            state = self._state(infra_id, "description", "newest", "pending", "scaling",
                                "targets")
            newest = state.get("newest", 0)
            leases.check_fence(infra_id, fence, newest)
            if "description" not in state:
                if must_exist:
                    raise not_found(infra_id)
                return None
            before, doc, entries = _queue(state, node_name)
            target = state.get("targets", {}).get(_escape(node_name))
            after = change(before, target)
            query: dict[str, Any] = {**self._id(infra_id), "description": {"$exists": True},
                                     "newest": newest,
                                     field: {"$exists": False} if doc is None else doc,
                                     _path("targets", node_name):
                                         {"$exists": False} if target is None else target}
            update: dict[str, Any] = ({"$set": {field: encode_pending(after)}} if after
                                      else {"$unset": {field: ""}})
            if entries:
                query["scaling"] = {"$all": entries}
                update["$pullAll"] = {"scaling": entries}
            if self._apply(query, update, ()) is not None:
                return after
        raise busy(infra_id)

    # --- health -----------------------------------------------------------
    def failing_period(self, infra_id: str, node_id: str, failing: bool, now: float) -> float:
        """Seconds since the earliest failure reported in this failing streak (never negative)."""
        field = _path("failing", node_id)
        if not failing:
            self._update(infra_id, None, {"$unset": {field: ""}})
            return 0.0
        after = self._update(infra_id, None, {"$min": {field: now}}, fields=("failing",))
        return max(0.0, now - after["failing"][_escape(node_id)])

    # --- events -----------------------------------------------------------
    def append_event(self, event: Event) -> None:
        counted = self._update(event.infra_id, None, {"$inc": {"event_seq": 1}},
                               fields=("event_seq", "generation"))
        seq, generation = counted["event_seq"], counted["generation"]
        self._events.insert_one({**self._id(event.infra_id), "generation": generation,
                                 "seq": seq, "doc": encode_record(event)})
        if seq % self.event_trim_stride == 0:      # seq counts this id's events: one a stride
            self._events.delete_many({**self._id(event.infra_id), "generation": generation,
                                      "seq": {"$lte": seq - self.events_kept}})

    def events(self, infra_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        """The events of the current incarnation of this id, in the order they were appended;
        the cursor is their `seq`."""
        after, limit = event_window(after, limit)
        state = self._state(infra_id, "description", "generation")
        if "description" not in state or limit == 0:   # a limit of 0 is none to MongoDB
            return []
        found = self._events.find({**self._id(infra_id), "generation": state["generation"],
                                   "seq": {"$gt": after}},
                                  {"seq": 1, "doc": 1}).sort("seq", ASCENDING)
        if limit is not None:
            found = found.limit(limit)
        return [decode_event(doc["doc"], doc["seq"]) for doc in found]

    def last_event_seq(self, infra_id: str) -> int:
        """The highest `seq` of the current incarnation's events: the generation from the
        infrastructure's document, then one event from the end of the (ns, infra_id, seq)
        index. Not `event_seq`, which counts the events of earlier incarnations too."""
        state = self._state(infra_id, "description", "generation")
        if "description" not in state:
            return 0
        newest = self._events.find_one({**self._id(infra_id), "generation": state["generation"]},
                                       {"seq": 1}, sort=[("seq", DESCENDING)])
        return 0 if newest is None else newest["seq"]

    # --- the attached and destroying sets ----------------------------------
    def attach(self, infra_id: str) -> bool:
        return self._raise_flag(infra_id, "attached")

    def detach(self, infra_id: str) -> bool:
        return self._lower_flag(infra_id, "attached")

    def attached(self) -> list[str]:
        return self._flagged("attached")

    def mark_destroying(self, infra_id: str) -> bool:
        return self._raise_flag(infra_id, "destroying")

    def unmark_destroying(self, infra_id: str) -> bool:
        return self._lower_flag(infra_id, "destroying")

    def destroying(self) -> list[str]:
        return self._flagged("destroying")

    def _raise_flag(self, infra_id: str, flag: str) -> bool:
        """A flag in the infrastructure's document, so that removal clears it atomically;
        True if it was not set."""
        for _ in range(ATTEMPTS):
            if self._infras.update_one({**self._id(infra_id), "description": {"$exists": True},
                                        flag: {"$exists": False}},
                                       {"$set": {flag: True}}).matched_count:
                return True
            state = self._state(infra_id, "description", flag)
            if "description" not in state:
                raise not_found(infra_id)
            if flag in state:
                return False
            # lowered between the write and the read: raise it again
        raise busy(infra_id)

    def _lower_flag(self, infra_id: str, flag: str) -> bool:
        return bool(self._infras.update_one({**self._id(infra_id), flag: {"$exists": True}},
                                            {"$unset": {flag: ""}}).matched_count)

    def _flagged(self, flag: str) -> list[str]:
        return sorted(doc["infra_id"] for doc in self._infras.find(
            {"ns": self._ns, flag: True, "description": {"$exists": True}}, {"infra_id": 1}))

    # --- service members --------------------------------------------------
    def announce(self, member: str, ttl: float, now: float | None = None) -> None:
        """Also prunes the members expired at `now`: each announcement keeps them few."""
        moment, expires_at = member_expiry(member, ttl, now)
        self._members.delete_many({"ns": self._ns, "expires_at": {"$lte": moment}})
        query = {"ns": self._ns, "member": member}
        update = {"$set": {"expires_at": expires_at}}
        try:
            self._members.update_one(query, update, upsert=True)
        except DuplicateKeyError:  # another process announced it just now
            self._members.update_one(query, update)

    def members(self, now: float | None = None) -> list[str]:
        return sorted(doc["member"] for doc in self._members.find(
            {"ns": self._ns, "expires_at": {"$gt": leases.clock(now)}}, {"member": 1}))

    def withdraw(self, member: str) -> None:
        self._members.delete_one({"ns": self._ns, "member": member})

    # --- notification settings --------------------------------------------
    def set_notification(self, infra_id: str, data: dict | None) -> None:
        self._update(infra_id, None, {"$unset": {"notification": ""}} if data is None
                     else {"$set": {"notification": encode(data)}})

    def start_delivery(self, infra_id: str, delivered: Delivered) -> None:
        self._update_if_exists(infra_id, None, {"$set": {"delivered": {
            "target": delivered.target, "seq": delivered.seq}}})

    def advance_delivery(self, infra_id: str, delivered: Delivered) -> None:
        self._infras.update_one({**self._id(infra_id), "description": {"$exists": True},
                                 "delivered.target": delivered.target,
                                 "delivered.seq": {"$lt": delivered.seq}},
                                {"$set": {"delivered.seq": delivered.seq}})

    def delivered(self, infra_id: str) -> Delivered | None:
        found = self._state(infra_id, "delivered").get("delivered")
        return None if found is None else Delivered(found["target"], found["seq"])

    def notification(self, infra_id: str) -> dict | None:
        doc = self._state(infra_id, "notification").get("notification")
        return None if doc is None else decode(doc)

    # --- leases -----------------------------------------------------------
    def acquire_lease(self, infra_id: str, owner: LeaseOwner, ttl: float = DEFAULT_LEASE_TTL,
                      now: float | None = None) -> Lease:
        """Compare-and-set on `newest`: of two commands deciding from the same state, one wins."""
        for _ in range(ATTEMPTS):
            state = self._state(infra_id, "newest", "lease")
            newest = state.get("newest", 0)
            lease = leases.grant(infra_id, _lease(state), newest, owner, ttl, leases.clock(now))
            try:
                self._infras.update_one(
                    {**self._id(infra_id), "newest": newest},
                    {"$set": {"newest": lease.token, "lease": encode_record(lease)}}, upsert=True)
            except DuplicateKeyError:
                continue  # `newest` moved on (or the document was just created): decide again
            return lease
        raise busy(infra_id)

    def renew_lease(self, lease: Lease, ttl: float = DEFAULT_LEASE_TTL,
                    now: float | None = None) -> Lease:
        renewed = leases.extended(lease, ttl, leases.clock(now))
        if not self._infras.update_one(self._lease_filter(lease),
                                       {"$set": {"lease": encode_record(renewed)}}).matched_count:
            raise leases.lost(lease)
        return renewed

    def release_lease(self, lease: Lease) -> None:
        self._infras.update_one(self._lease_filter(lease), {"$unset": {"lease": ""}})

    def current_lease(self, infra_id: str, now: float | None = None) -> Lease | None:
        lease = _lease(self._state(infra_id, "lease"))
        return lease if leases.is_live(lease, leases.clock(now)) else None

    def fence_token(self, infra_id: str) -> int:
        return int(self._state(infra_id, "newest").get("newest", 0))

    def _lease_filter(self, lease: Lease) -> dict[str, Any]:
        """Matches while `lease` is the current one: a lease's token is always `newest`."""
        return {**self._id(lease.infra_id), "newest": lease.token, "lease": {"$exists": True}}


def _queue(state: dict[str, Any], node_name: str) -> tuple[PendingScaling, str | None, list[str]]:
    """A node's pending requests in an infrastructure's document: the record with its old
    entries counted in, the record's stored text, and those old entries."""
    doc = state.get("pending", {}).get(_escape(node_name))
    entries = [entry for entry in state.get("scaling", []) if json.loads(entry)[0] == node_name]
    legacy = [decode_legacy(json.loads(entry)[1]) for entry in entries]
    return fold_legacy(decode_pending(doc), legacy), doc, entries


def _lease(state: dict[str, Any]) -> Lease | None:
    return None if "lease" not in state else decode_lease(state["lease"])


def _escape(name: str) -> str:
    """A map key MongoDB takes for any name: no '.', '$' or NUL in it, and never empty."""
    return "".join(_ESCAPES.get(char, char) for char in name) or "%"


def _unescape(key: str) -> str:
    return "" if key == "%" else unquote(key)


def _path(*names: str) -> str:
    """The dotted path to a nested map entry: the map's field, then escaped names."""
    field, *keys = names
    return ".".join([field, *map(_escape, keys)])
