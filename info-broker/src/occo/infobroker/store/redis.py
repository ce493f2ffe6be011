"""The Redis state store: several hosts' commands sharing one server.

Layout, under the namespace `<prefix><user>@` (the original's `<user>@<infra_id>:...`):

    schema                      string  the schema version of this layout (`SCHEMA_VERSION`)
    infrastructures             set   the infrastructure ids
    node_definitions            hash  node type -> document
    fences                      hash  infra id -> newest fencing token (kept on removal)
    leases                      hash  infra id -> lease document
    attached                    set   the ids of the attached infrastructures
    destroying                  set   the ids of the infrastructures marked for destruction
    members                     zset  service member -> epoch seconds its announcement expires
    <infra>:description         string
    <infra>:instances           hash  JSON [node name, node id] -> document
    <infra>:failed              hash  node id -> document
    <infra>:targets             hash  node name -> count
    <infra>:pending             hash  node name -> its pending scaling requests (counts)
    <infra>:scaling             hash  old shape, one request each: JSON [node name, request
    <infra>:scaling_order       list  id] -> request document, and those fields oldest first;
                                      folded into `pending` when the node's queue is written
    <infra>:failing             hash  node id -> epoch seconds of the first failure
    <infra>:events              list  event documents, oldest first, the newest kept; an
                                      event's cursor is events_trimmed + its index + 1
    <infra>:events_trimmed      string  how many events were dropped from the list's head
    <infra>:notification        string  the notification settings
    <infra>:delivered           hash  target, seq: how far events were sent to the target

Opening a namespace of a newer schema is refused. One of an older schema
(or none yet) is upgraded: its infrastructures' descriptions are written again
at this version, which an older Occopus, that knows no `schema` key, refuses
when it reads them; then `schema` is set. Old-shaped scaling rows are folded
when their node's queue is next written.

Every key is named by the index set or by the infrastructure, so nothing ever
scans (no KEYS, no SCAN). Data writes are Lua scripts that check the fencing
token and that the infrastructure exists in the same atomic step. A scaling
queue is changed by compare-and-set: read, changed in Python, and written by a
script that first checks that the node's record and old rows read are still
there, so only a change to that queue makes it try again. Leases are decided
in Python between WATCH and MULTI/EXEC. Both try again at most `ATTEMPTS`
times.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from occo.util.redact import redact_url

from . import leases
from .backend import (ATTEMPTS, Change, ChangedAtomically, already_exists, busy, event_window,
                      failure, member_expiry, namespace, not_found, pair, translate_errors)
from .base import (DEFAULT_LEASE_TTL, SCHEMA_VERSION, Delivered, Event, Lease, LeaseOwner,
                   PendingScaling, Store, StoreError)
from .codec import (FOREIGN, check_version, decode, decode_event, decode_lease, encode,
                    encode_record, restamped)
from .pending import decode_legacy, decode_pending, encode_pending, fold_legacy

NAMESPACE_KEYS = ("schema", "infrastructures", "node_definitions", "fences", "leases",
                  "attached", "destroying", "members")
INFRASTRUCTURE_KEYS = ("description", "instances", "failed", "targets", "pending", "scaling",
                       "scaling_order", "failing", "events", "events_trimmed", "notification",
                       "delivered")

# Every data script gets KEYS[1] = fences, KEYS[2] = infrastructures, then its own keys;
# ARGV[1] = infrastructure id, ARGV[2] = fencing token or '' (unfenced), then its own.
GUARD = """
local infra, fence = ARGV[1], ARGV[2]
local newest = tonumber(redis.call('HGET', KEYS[1], infra) or '0')
if fence ~= '' and tonumber(fence) < newest then
  return redis.error_reply('OCCO_STALE ' .. newest)
end
if redis.call('SISMEMBER', KEYS[2], infra) == 0 then
  return redis.error_reply('OCCO_NOT_FOUND')
end
"""
SCRIPTS = {
    # Set string KEYS[1] to ARGV[2] if it still holds ARGV[1].
    "replace": """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) end
""",
    # Raise the schema version KEYS[1] to ARGV[1] (never lower it).
    "mark": """
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
""",
    # KEYS[3] = description, KEYS[4] = notification, KEYS[5] = attached, KEYS[6] = destroying,
    # KEYS[7] = events_trimmed, KEYS[8] = delivered: a new infrastructure inherits none of them
    # from an earlier one of its id that an older Occopus removed.
    "add": """
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return redis.error_reply('OCCO_EXISTS') end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('DEL', KEYS[4], KEYS[7], KEYS[8])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
""",
    "set": GUARD + "redis.call('SET', KEYS[3], ARGV[3])",
    "unset": GUARD + "redis.call('DEL', KEYS[3])",
    # Add the infrastructure to set KEYS[3] (attached or destroying); returns 1 if it was not in.
    "enlist": GUARD + "return redis.call('SADD', KEYS[3], infra)",
    # Set fields ARGV[3], ARGV[5], ... of hash KEYS[3] to ARGV[4], ARGV[6], ...
    "set_fields": GUARD + """
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
""",
    # Delete fields ARGV[3..] of hash KEYS[3], and the same values from list KEYS[4] if given.
    "delete_fields": GUARD + """
for i = 3, #ARGV do
  redis.call('HDEL', KEYS[3], ARGV[i])
  if KEYS[4] then redis.call('LREM', KEYS[4], 0, ARGV[i]) end
end
""",
    # Append ARGV[3] to list KEYS[3]; if KEYS[4] is given, set its field ARGV[3] to ARGV[4].
    "push": GUARD + """
redis.call('RPUSH', KEYS[3], ARGV[3])
if KEYS[4] then redis.call('HSET', KEYS[4], ARGV[3], ARGV[4]) end
""",
    # Append ARGV[5..] to the event list KEYS[3], in order; once it holds ARGV[4] (the
    # stride) past ARGV[3] (the events kept), drop the oldest beyond those and count them in
    # KEYS[4], so that an event's cursor (dropped + its index + 1) never changes.
    "push_events": GUARD + """
for i = 5, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
local length, kept = redis.call('LLEN', KEYS[3]), tonumber(ARGV[3])
if length >= kept + tonumber(ARGV[4]) then
  redis.call('LTRIM', KEYS[3], length - kept, -1)
  redis.call('INCRBY', KEYS[4], length - kept)
end
""",
    # The events of list KEYS[1] after cursor ARGV[1], ARGV[2] of them (-1: all), with the
    # count of dropped ones (KEYS[2]) that turns a list index into a cursor: {dropped, docs}.
    "read_events": """
local dropped = tonumber(redis.call('GET', KEYS[2]) or '0')
local first = math.max(tonumber(ARGV[1]) - dropped, 0)
local last = -1
if tonumber(ARGV[2]) >= 0 then last = first + tonumber(ARGV[2]) - 1 end
return {dropped + first, redis.call('LRANGE', KEYS[1], first, last)}
""",
    # Hash KEYS[3]: its cursor raised to ARGV[4] if it is of target ARGV[3].
    "advance_delivery": GUARD + """
if redis.call('HGET', KEYS[3], 'target') == ARGV[3]
    and tonumber(ARGV[4]) > tonumber(redis.call('HGET', KEYS[3], 'seq')) then
  redis.call('HSET', KEYS[3], 'seq', ARGV[4])
end
""",
    # The newest event's cursor: the dropped events and the list's length.
    "last_event": """
return tonumber(redis.call('GET', KEYS[2]) or '0') + redis.call('LLEN', KEYS[1])
""",
    # ARGV[3] = now while failing ('' once healthy), ARGV[4] = node id; returns the start.
    "failing": GUARD + """
if ARGV[3] == '' then redis.call('HDEL', KEYS[3], ARGV[4]) return false end
local since = redis.call('HGET', KEYS[3], ARGV[4])
if not since or tonumber(ARGV[3]) < tonumber(since) then
  since = ARGV[3]
  redis.call('HSET', KEYS[3], ARGV[4], since)
end
return since
""",
    # KEYS[3] = pending, KEYS[4] = scaling, KEYS[5] = scaling_order, KEYS[6] = targets;
    # ARGV[3] = node name, ARGV[4] = its record as read ('' for none), ARGV[5] = the record
    # to write ('' for none), ARGV[6] = its target as read ('' for none), ARGV[7..] = the
    # old rows read, to fold: written only if all are as read. Returns 1 once written.
    "change_pending": GUARD + """
if (redis.call('HGET', KEYS[3], ARGV[3]) or '') ~= ARGV[4]
    or (redis.call('HGET', KEYS[6], ARGV[3]) or '') ~= ARGV[6] then
  return redis.error_reply('OCCO_CHANGED')
end
for i = 7, #ARGV do
  if redis.call('HEXISTS', KEYS[4], ARGV[i]) == 0 then return redis.error_reply('OCCO_CHANGED') end
end
if ARGV[5] == '' then
  redis.call('HDEL', KEYS[3], ARGV[3])
else
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
end
for i = 7, #ARGV do
  redis.call('HDEL', KEYS[4], ARGV[i])
  redis.call('LREM', KEYS[5], 0, ARGV[i])
end
return 1
""",
    # KEYS[3] = leases, KEYS[4] = attached, KEYS[5] = destroying, KEYS[6..] = the
    # infrastructure's own keys.
    "remove": GUARD + """
redis.call('DEL', unpack(KEYS, 6))
redis.call('HDEL', KEYS[3], infra)
redis.call('SREM', KEYS[4], infra)
redis.call('SREM', KEYS[5], infra)
redis.call('SREM', KEYS[2], infra)
""",
}

HINT = "check that the Redis server runs and the url (or host, port, db) of the store settings"


class _Changed(Exception):
    """What a compare-and-set read changed before its write: read and decide again."""


@translate_errors(redis.RedisError, hint=HINT)
class RedisStore(ChangedAtomically, Store):
    """The store on the Redis server at `url` (`redis://[user:password@]host:port/db`),
    or at `host`, `port` and `db` when no url is given."""

    def __init__(self, url: str | None = None, *, user: str, host: str = "127.0.0.1",
                 port: int = 6379, db: int = 0, prefix: str = "occo:",
                 timeout: float = 5.0) -> None:
        self._ns = namespace(prefix, user)
        url = url or f"redis://{host}:{port}/{db}"
        self.location = f"Redis at {redact_url(url)}"
        try:
            self._redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=timeout,
                                               socket_connect_timeout=timeout)
            self._redis.ping()
        except (redis.RedisError, ValueError) as error:
            raise failure(f"cannot reach {self.location}", error, hint=HINT) from None
        self._scripts = {name: self._redis.register_script(source)
                         for name, source in SCRIPTS.items()}
        try:
            self._upgrade()
        except BaseException as error:
            self._redis.close()
            if isinstance(error, redis.RedisError):
                raise failure(f"cannot open the store at {self.location}", error,
                              hint=HINT) from None
            raise

    def close(self) -> None:
        self._redis.close()

    # --- plumbing ---------------------------------------------------------
    def _upgrade(self) -> None:
        """Refuse a namespace of a newer schema; bring one of an older schema to this one."""
        try:
            schema = self._redis.get(self._key("schema"))
            version = int(schema or 0)
        except ValueError:
            raise StoreError(f"{self.location} has a schema key that is not a version "
                             f"({schema[:20]!r})", hint=FOREIGN) from None
        check_version(version, self.location)
        if version >= SCHEMA_VERSION:
            return
        for infra_id in self._redis.smembers(self._key("infrastructures")):
            key = self._infra_key(infra_id, "description")
            doc = self._redis.get(key)
            newer = None if doc is None else restamped(doc)
            if newer is not None:
                self._scripts["replace"](keys=[key], args=[doc, newer])
        self._scripts["mark"](keys=[self._key("schema")], args=[SCHEMA_VERSION])

    def _key(self, name: str) -> str:
        return f"{self._ns}{name}"

    def _infra_key(self, infra_id: str, name: str) -> str:
        return f"{self._ns}{infra_id}:{name}"

    def _run(self, script: str, infra_id: str, fence: int | None, keys: list[str],
             *args: Any, missing_ok: bool = False) -> Any:
        """Run a data script; its refusals become the store's errors (`missing_ok`: a no-op)."""
        try:
            return self._scripts[script](
                keys=[self._key("fences"), self._key("infrastructures"), *keys],
                args=[infra_id, "" if fence is None else fence, *args])
        except redis.ResponseError as error:
            reason, _, newest = str(error).partition(" ")
            if reason == "OCCO_STALE":
                raise leases.stale(infra_id, fence, int(newest)) from None
            if reason == "OCCO_EXISTS":
                raise already_exists(infra_id) from None
            if reason == "OCCO_NOT_FOUND":
                if missing_ok:
                    return None
                raise not_found(infra_id) from None
            if reason == "OCCO_CHANGED":
                raise _Changed() from None
            raise

    def _in_transaction(self, infra_id: str,
                        decide: Callable[[redis.client.Pipeline], Any]) -> Any:
        """Run `decide` between WATCH of the lease data and MULTI/EXEC, again if they changed
        (at most `ATTEMPTS` times: redis-py's own `transaction` would never give up)."""
        with self._redis.pipeline() as pipe:
            for _ in range(ATTEMPTS):
                try:
                    pipe.watch(self._key("fences"), self._key("leases"))
                    decided = decide(pipe)
                    pipe.execute()
                    return decided
                except redis.WatchError:
                    continue
        raise busy(infra_id)

    def _lease(self, client: redis.Redis | redis.client.Pipeline, infra_id: str) -> Lease | None:
        doc = client.hget(self._key("leases"), infra_id)
        return None if doc is None else decode_lease(doc)

    # --- node definitions -------------------------------------------------
    def put_node_definitions(self, definitions: dict[str, list[dict]]) -> None:
        if definitions:
            self._redis.hset(self._key("node_definitions"), mapping={
                node_type: encode(implementations)
                for node_type, implementations in definitions.items()})

    def get_node_definition(self, node_type: str) -> list[dict] | None:
        doc = self._redis.hget(self._key("node_definitions"), node_type)
        return None if doc is None else decode(doc)

    def list_node_types(self) -> list[str]:
        return sorted(self._redis.hkeys(self._key("node_definitions")))

    # --- infrastructures --------------------------------------------------
    def add_infrastructure(self, infra_id: str, description: dict) -> None:
        self._run("add", infra_id, None, [self._infra_key(infra_id, "description"),
                                          self._infra_key(infra_id, "notification"),
                                          self._key("attached"), self._key("destroying"),
                                          self._infra_key(infra_id, "events_trimmed"),
                                          self._infra_key(infra_id, "delivered")],
                  encode(description))

    def update_infrastructure(self, infra_id: str, description: dict,
                              fence: int | None = None) -> None:
        self._run("set", infra_id, fence, [self._infra_key(infra_id, "description")],
                  encode(description))

    def get_infrastructure(self, infra_id: str) -> dict:
        doc = self._redis.get(self._infra_key(infra_id, "description"))
        if doc is None:
            raise not_found(infra_id)
        return decode(doc)

    def list_infrastructures(self) -> list[str]:
        return sorted(self._redis.smembers(self._key("infrastructures")))

    def remove_infrastructure(self, infra_id: str, fence: int | None = None) -> None:
        """Remove it and all its data; its fencing counter stays, so old tokens stay stale."""
        keys = [self._infra_key(infra_id, name) for name in INFRASTRUCTURE_KEYS]
        self._run("remove", infra_id, fence, [self._key("leases"), self._key("attached"),
                                              self._key("destroying"), *keys], missing_ok=True)

    # --- node instances ---------------------------------------------------
    def put_instance(self, infra_id: str, node_name: str, node_id: str, data: dict,
                     fence: int | None = None) -> None:
        self.put_instances(infra_id, [(node_name, node_id, data)], fence=fence)

    def put_instances(self, infra_id: str, records: Sequence[tuple[str, str, dict]],
                      fence: int | None = None) -> None:
        self._run("set_fields", infra_id, fence, [self._infra_key(infra_id, "instances")],
                  *(value for node_name, node_id, data in records
                    for value in (pair(node_name, node_id), encode(data))))

    def get_instances(self, infra_id: str) -> dict[str, dict[str, dict]]:
        instances: dict[str, dict[str, dict]] = {}
        for field, doc in self._redis.hgetall(self._infra_key(infra_id, "instances")).items():
            node_name, node_id = json.loads(field)
            instances.setdefault(node_name, {})[node_id] = decode(doc)
        return instances

    def remove_instance(self, infra_id: str, node_name: str, node_id: str,
                        fence: int | None = None) -> None:
        self._run("delete_fields", infra_id, fence, [self._infra_key(infra_id, "instances")],
                  pair(node_name, node_id), missing_ok=True)

    def archive_failed(self, infra_id: str, node_id: str, data: dict,
                       fence: int | None = None) -> None:
        self._run("set_fields", infra_id, fence, [self._infra_key(infra_id, "failed")],
                  node_id, encode(data))

    def failed_instances(self, infra_id: str) -> dict[str, dict]:
        return {node_id: decode(doc) for node_id, doc
                in self._redis.hgetall(self._infra_key(infra_id, "failed")).items()}

    # --- scaling ----------------------------------------------------------
    def set_target_count(self, infra_id: str, node_name: str, count: int,
                         fence: int | None = None) -> None:
        self._run("set_fields", infra_id, fence, [self._infra_key(infra_id, "targets")],
                  node_name, count)

    def get_target_count(self, infra_id: str, node_name: str) -> int | None:
        count = self._redis.hget(self._infra_key(infra_id, "targets"), node_name)
        return None if count is None else int(count)

    def pending_scaling(self, infra_id: str, node_name: str) -> PendingScaling:
        return self._queue(infra_id, node_name).pending

    def _queue(self, infra_id: str, node_name: str) -> _Queue:
        """The node's queue as of one moment (MULTI/EXEC)."""
        pipe = self._redis.pipeline()
        pipe.hget(self._key("fences"), infra_id)
        pipe.sismember(self._key("infrastructures"), infra_id)
        pipe.hget(self._infra_key(infra_id, "pending"), node_name)
        pipe.lrange(self._infra_key(infra_id, "scaling_order"), 0, -1)
        pipe.hgetall(self._infra_key(infra_id, "scaling"))
        pipe.hget(self._infra_key(infra_id, "targets"), node_name)
        newest, exists, doc, order, legacy, target = pipe.execute()
        fields = [field for field in _legacy_fields(order, node_name) if field in legacy]
        pending = fold_legacy(decode_pending(doc),
                              [decode_legacy(legacy[field]) for field in fields])
        return _Queue(int(newest or 0), bool(exists), pending, doc, fields, target)

    def _change_pending(self, infra_id: str, node_name: str, fence: int | None, *,
                        must_exist: bool, change: Change) -> PendingScaling | None:
        """Compare-and-set of the node's queue (old rows folded in and removed): the script
        writes only if the fence and the infrastructure allow and the record, the node's
        target and the old rows read are still there; read and changed again if not, at most
        `ATTEMPTS` times."""
        keys = [self._infra_key(infra_id, name) for name in ("pending", "scaling",
                                                              "scaling_order", "targets")]
        for _ in range(ATTEMPTS):
            read = self._queue(infra_id, node_name)
            leases.check_fence(infra_id, fence, read.newest)
            if not read.exists:
                if must_exist:
                    raise not_found(infra_id)
                return None
            after = change(read.pending, None if read.target is None else int(read.target))
            try:
                written = self._run("change_pending", infra_id, fence, keys, node_name,
                                    read.doc or "", encode_pending(after) if after else "",
                                    read.target or "", *read.fields,
                                    missing_ok=not must_exist)
            except _Changed:
                continue
            return None if written is None else after
        raise busy(infra_id)

    # --- health -----------------------------------------------------------
    def failing_period(self, infra_id: str, node_id: str, failing: bool, now: float) -> float:
        """Seconds since the earliest failure reported in this failing streak (never negative)."""
        since = self._run("failing", infra_id, None, [self._infra_key(infra_id, "failing")],
                          repr(float(now)) if failing else "", node_id)
        return 0.0 if since is None else max(0.0, now - float(since))

    # --- events -----------------------------------------------------------
    def append_event(self, event: Event) -> None:
        self.append_events([event])

    def append_events(self, events: Sequence[Event]) -> None:
        """One script per infrastructure: the events of each are appended all or none."""
        by_infra: dict[str, list[str]] = {}
        for event in events:
            by_infra.setdefault(event.infra_id, []).append(encode_record(event))
        for infra_id, documents in by_infra.items():
            self._run("push_events", infra_id, None, self._event_keys(infra_id),
                      self.events_kept, self.event_trim_stride, *documents)

    def events(self, infra_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        """The cursor is the events dropped from the list's head plus the list index + 1:
        it never changes while the infrastructure lives (a new one of the same id starts
        again at 1)."""
        after, limit = event_window(after, limit)
        if limit == 0:
            return []
        first, documents = self._scripts["read_events"](
            keys=self._event_keys(infra_id), args=[after, -1 if limit is None else limit])
        return [decode_event(doc, first + number)
                for number, doc in enumerate(documents, start=1)]

    def last_event_seq(self, infra_id: str) -> int:
        return self._scripts["last_event"](keys=self._event_keys(infra_id))

    def _event_keys(self, infra_id: str) -> list[str]:
        return [self._infra_key(infra_id, "events"), self._infra_key(infra_id, "events_trimmed")]

    # --- the attached set -------------------------------------------------
    def attach(self, infra_id: str) -> bool:
        return self._run("enlist", infra_id, None, [self._key("attached")]) == 1

    def detach(self, infra_id: str) -> bool:
        return self._redis.srem(self._key("attached"), infra_id) == 1

    def attached(self) -> list[str]:
        """Only ids that exist: an older Occopus's removal leaves its id in the set."""
        return sorted(self._redis.sinter(self._key("attached"), self._key("infrastructures")))

    # --- the destroying set -----------------------------------------------
    def mark_destroying(self, infra_id: str) -> bool:
        return self._run("enlist", infra_id, None, [self._key("destroying")]) == 1

    def unmark_destroying(self, infra_id: str) -> bool:
        return self._redis.srem(self._key("destroying"), infra_id) == 1

    def destroying(self) -> list[str]:
        """Only ids that exist: an older Occopus's removal leaves its id in the set."""
        return sorted(self._redis.sinter(self._key("destroying"), self._key("infrastructures")))

    # --- service members --------------------------------------------------
    def announce(self, member: str, ttl: float, now: float | None = None) -> None:
        """One MULTI/EXEC that also prunes the members expired at `now`."""
        moment, expires_at = member_expiry(member, ttl, now)
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(self._key("members"), "-inf", moment)
        pipe.zadd(self._key("members"), {member: expires_at})
        pipe.execute()

    def members(self, now: float | None = None) -> list[str]:
        return sorted(self._redis.zrangebyscore(self._key("members"),
                                                f"({leases.clock(now)!r}", "+inf"))

    def withdraw(self, member: str) -> None:
        self._redis.zrem(self._key("members"), member)

    # --- notification settings --------------------------------------------
    def set_notification(self, infra_id: str, data: dict | None) -> None:
        key = [self._infra_key(infra_id, "notification")]
        if data is None:
            self._run("unset", infra_id, None, key)
        else:
            self._run("set", infra_id, None, key, encode(data))

    def start_delivery(self, infra_id: str, delivered: Delivered) -> None:
        self._run("set_fields", infra_id, None, [self._infra_key(infra_id, "delivered")],
                  "target", delivered.target, "seq", delivered.seq, missing_ok=True)

    def advance_delivery(self, infra_id: str, delivered: Delivered) -> None:
        self._run("advance_delivery", infra_id, None, [self._infra_key(infra_id, "delivered")],
                  delivered.target, delivered.seq, missing_ok=True)

    def delivered(self, infra_id: str) -> Delivered | None:
        found = self._redis.hmget(self._infra_key(infra_id, "delivered"), "target", "seq")
        return None if found[0] is None else Delivered(found[0], int(found[1]))

    def notification(self, infra_id: str) -> dict | None:
        doc = self._redis.get(self._infra_key(infra_id, "notification"))
        return None if doc is None else decode(doc)

    # --- leases -----------------------------------------------------------
    def acquire_lease(self, infra_id: str, owner: LeaseOwner, ttl: float = DEFAULT_LEASE_TTL,
                      now: float | None = None) -> Lease:
        def decide(pipe: redis.client.Pipeline) -> Lease:
            newest = int(pipe.hget(self._key("fences"), infra_id) or 0)
            lease = leases.grant(infra_id, self._lease(pipe, infra_id), newest, owner, ttl,
                                 leases.clock(now))
            pipe.multi()
            pipe.hset(self._key("fences"), infra_id, lease.token)
            pipe.hset(self._key("leases"), infra_id, encode_record(lease))
            return lease
        return self._in_transaction(infra_id, decide)

    def renew_lease(self, lease: Lease, ttl: float = DEFAULT_LEASE_TTL,
                    now: float | None = None) -> Lease:
        def decide(pipe: redis.client.Pipeline) -> Lease:
            renewed = leases.renewed(lease, self._lease(pipe, lease.infra_id), ttl,
                                     leases.clock(now))
            pipe.multi()
            pipe.hset(self._key("leases"), lease.infra_id, encode_record(renewed))
            return renewed
        return self._in_transaction(lease.infra_id, decide)

    def release_lease(self, lease: Lease) -> None:
        def decide(pipe: redis.client.Pipeline) -> None:
            current = self._lease(pipe, lease.infra_id)
            pipe.multi()
            if current is not None and current.token == lease.token:
                pipe.hdel(self._key("leases"), lease.infra_id)
        self._in_transaction(lease.infra_id, decide)

    def current_lease(self, infra_id: str, now: float | None = None) -> Lease | None:
        lease = self._lease(self._redis, infra_id)
        return lease if leases.is_live(lease, leases.clock(now)) else None

    def fence_token(self, infra_id: str) -> int:
        return int(self._redis.hget(self._key("fences"), infra_id) or 0)


@dataclass(frozen=True)
class _Queue:
    """A node's queue as read: the infrastructure's newest token, whether it exists, the
    pending requests with the old rows counted in, the record's stored text, the fields of
    those old rows, and the node's stored target (its text)."""

    newest: int
    exists: bool
    pending: PendingScaling
    doc: str | None
    fields: list[str]
    target: str | None


def _legacy_fields(order: list[str], node_name: str) -> list[str]:
    """The old-shaped request fields of one node, oldest first."""
    return [field for field in order if json.loads(field)[0] == node_name]
