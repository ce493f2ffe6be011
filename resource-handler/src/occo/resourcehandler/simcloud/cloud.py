"""simcloud's instances and the file they are kept in, without HTTP.

An instance is a plain JSON-able dict, replaced (never changed in place) on
every change and encoded then, once: the file is written by joining the
encoded instances, which keeps a write cheap with a thousand of them.
States are derived from times, so a restarted server finds booted instances
running: `pending` until `ready_at`, then `running`; `terminated` once
deleted. Terminated instances are forgotten `FORGET_AFTER` seconds after
deletion, with their client tokens.

Both live on one asyncio event loop (the server's): a change is made at
once, and the call that made it returns once it is in the file.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
FORGET_AFTER = 3600.0
PRICE_PER_HOUR = 0.036            # what a running instance costs, for `cost`
ADDRESSES = ipaddress.ip_network("10.0.0.0/8")

Instance = dict[str, Any]


class StateFileError(Exception):
    """The state file cannot be read: corrupt, or written by a newer simcloud."""


class StateFile:
    """One JSON file, replaced atomically; changes made at once are saved by one shared write.

    The owner calls `changed()` right after each change and awaits `saved()`
    before it answers: `saved` returns once every change counted so far is in
    the file. One write runs at a time, in a thread so that the event loop
    goes on serving, and carries every change made before it started; the
    changes made meanwhile share the next one (group commit). Writes are
    atomic against the server being killed (temp file + rename), not against
    a power loss.
    """

    def __init__(self, path: Path, snapshot: Callable[[], str]) -> None:
        self.path = path
        self._snapshot = snapshot
        self._changes = 0         # changes counted so far
        self._saved = 0           # changes known to be in the file
        self._writing: asyncio.Task[None] | None = None

    def load(self) -> dict[str, Any] | None:
        """What the file holds; None when there is no file yet."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
        except ValueError as error:
            raise StateFileError(f"{self.path} is not a simcloud state file: {error}") from None
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise StateFileError(f"{self.path} is not a simcloud state file of version "
                                 f"{FORMAT_VERSION}")
        return data

    def changed(self) -> None:
        self._changes += 1

    async def saved(self) -> None:
        wanted = self._changes
        while self._saved < wanted:
            if self._writing is None:
                self._writing = asyncio.create_task(self._write_changes())
            # shielded: the write goes on for the others if this caller is cancelled
            await asyncio.shield(self._writing)

    async def _write_changes(self) -> None:
        try:
            changes, text = self._changes, self._snapshot()
            await asyncio.get_running_loop().run_in_executor(None, self._write, text)
            self._saved = changes
        finally:
            self._writing = None

    def _write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.",
                                         suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class Cloud:
    """The instances of one simcloud: create by client token, get, list, delete."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.state = StateFile(path, self._snapshot)
        data = self.state.load() or {"next_seq": 1, "instances": {}}
        self._next_seq: int = data["next_seq"]
        self._instances: dict[str, Instance] = data["instances"]
        self._entries = {key: _entry(record) for key, record in self._instances.items()}
        self._by_token = {record["client_token"]: record["id"]
                          for record in self._instances.values()}
        # the ids of the terminated instances, in the order they are to be forgotten
        terminated = sorted((record for record in self._instances.values()
                             if record["terminated_at"] is not None),
                            key=lambda record: record["terminated_at"])
        self._terminated: deque[str] = deque(record["id"] for record in terminated)

    async def create(self, client_token: str, tags: Mapping[str, str], image: str | None,
                     flavor: str | None, user_data: str | None, boot_time: float
                     ) -> tuple[Instance, bool]:
        """(the instance, True) when made now; (the one made for this token before, False);
        saved in the state file."""
        made = self.make(client_token, tags, image, flavor, user_data, boot_time)
        await self.state.saved()    # also when found: its creator may not have saved it yet
        return made

    def make(self, client_token: str, tags: Mapping[str, str], image: str | None,
             flavor: str | None, user_data: str | None, boot_time: float
             ) -> tuple[Instance, bool]:
        """What `create` answers, not yet saved: a batch's creates are made at once, then
        saved together (`state.saved()`), as a cloud's batch call makes its instances."""
        existing = self._by_token.get(client_token)
        if existing is None:
            now = self._clock()
            seq = self._next_seq
            self._next_seq += 1
            record = {"id": f"i-{seq:08x}", "client_token": client_token, "tags": dict(tags),
                      "image": image, "flavor": flavor, "user_data": user_data,
                      "private_ip": str(ADDRESSES[seq]), "created_at": now,
                      "ready_at": now + boot_time, "terminated_at": None}
            self._put(record)
            self._by_token[client_token] = record["id"]
            self._forget_terminated(now)
            self.state.changed()
        else:
            record = self._instances[existing]
        return self.view(record), existing is None

    def get(self, instance_id: str) -> Instance | None:
        """An instance with its user data, as a cloud tells it when asked for one instance."""
        record = self._instances.get(instance_id)
        return None if record is None else self.view(record, user_data=True)

    def find(self, tags: Mapping[str, str], ids: Iterable[str] | None = None, *,
             status: bool = False) -> list[Instance]:
        """The remembered instances carrying all of `tags`, terminated ones included: all of
        them, or those among `ids`, each once, in their order (unknown ids left out). With
        `status`, only what a poll needs of each: its id, state and private address."""
        known = self._instances
        records = (known.values() if ids is None
                   else [known[key] for key in dict.fromkeys(ids) if key in known])
        wanted = tags.items()
        found = [record for record in records if wanted <= record["tags"].items()]
        if status:
            now = self._clock()
            return [{"id": record["id"], "state": _state(record, now),
                     "private_ip": record["private_ip"]} for record in found]
        return [self.view(record) for record in found]

    async def delete(self, instance_id: str) -> Instance | None:
        """Terminate an instance (again: no change); None if it is unknown."""
        record = self._instances.get(instance_id)
        if record is None:
            return None
        if record["terminated_at"] is None:
            now = self._clock()
            record = dict(record, terminated_at=now)
            self._put(record)
            self._terminated.append(instance_id)
            self._forget_terminated(now)
            self.state.changed()
        await self.state.saved()    # also when terminated before: that may not be saved yet
        return self.view(record)

    def count_by_state(self) -> dict[str, int]:
        counts = {"pending": 0, "running": 0, "terminated": 0}
        for record in self._instances.values():
            counts[self.view(record)["state"]] += 1
        return counts

    def view(self, record: Instance, *, user_data: bool = False) -> Instance:
        """What the API shows of an instance: its record with its state and cost now; its
        user data only when asked (EC2 answers it apart too: DescribeInstanceAttribute)."""
        now = self._clock()
        end = record["terminated_at"] or now
        running = max(0.0, end - record["ready_at"])
        shown = {key: value for key, value in record.items()
                 if user_data or key != "user_data"}
        return dict(shown, state=_state(record, now),
                    cost=round(running * PRICE_PER_HOUR / 3600, 6))

    def _forget_terminated(self, now: float) -> None:
        """Forget the instances terminated over `FORGET_AFTER` ago: the first ones in line."""
        while self._terminated:
            record = self._instances[self._terminated[0]]
            if now - record["terminated_at"] <= FORGET_AFTER:
                return
            self._terminated.popleft()
            del self._instances[record["id"]], self._entries[record["id"]]
            del self._by_token[record["client_token"]]

    def _put(self, record: Instance) -> None:
        self._instances[record["id"]] = record
        self._entries[record["id"]] = _entry(record)

    def _snapshot(self) -> str:
        """The state file's text."""
        return (f'{{"version":{FORMAT_VERSION},"next_seq":{self._next_seq},'
                f'"instances":{{{",".join(self._entries.values())}}}}}')


def _state(record: Instance, now: float) -> str:
    if record["terminated_at"] is not None:
        return "terminated"
    return "running" if now >= record["ready_at"] else "pending"


def _entry(record: Instance) -> str:
    """An instance as it stands in the file's "instances" object."""
    return f"{json.dumps(record['id'])}:{json.dumps(record, separators=(',', ':'))}"
