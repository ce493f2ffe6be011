"""What the enactor tests share (no tests here): a stored infrastructure on simcloud, and enactors.

Every use of the resource handler's modules (simcloud, its handler, errors)
is here, behind `World`, so that the test modules need none of them.

- `World`: a real SqliteStore in a temporary folder holding node definitions
  (simcloud, at a `SimCloudTestCase`'s server) and one compiled description,
  a router over it, and enactors whose engines have fast tuning and a health
  checker that never leaves 127.0.0.0/8.
- `faulty_handlers`: simcloud handlers that refuse creates, drops or listings on demand
  (a `PermanentError`, as a cloud refusing an image, a delete or a listing would).
- `Gate`: a URL on 127.0.0.1 that answers 503 until opened, to hold a node's
  health check (and so a pass) for as long as a test wants.
- `dump`: every row of the store's file, read on the side, to show that
  nothing was written.
- `SimCloudCase`: one simcloud server per test class (simcloud's own test base).
- Run as `python -m tests.enactor_world crash DB INFRA_ID NTH`, it
  makes a pass in a child process that SIGKILLs itself right after its NTH
  intent record is stored (see `crash_child`).
"""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import unittest
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from occo.compiler import StaticDescription, compile_description
from occo.enactor.enactor import Enactor
from occo.infobroker.broker import InfoRouter
from occo.infobroker.providers import StoreProvider
from occo.infobroker.store import LeaseOwner
from occo.infobroker.store.sqlite import SqliteStore
from occo.infraprocessor.engine import Backoff, Engine, InstanceRecord, Step, Tuning
from occo.infraprocessor.health import HealthChecker
from occo.infraprocessor.testing import DEADLINE, Gate, LoopbackPinger, wait_until  # noqa: F401 (tests import Gate here)
from occo.resourcehandler.base import Instance, PermanentError, ResourceError
from occo.resourcehandler.guard import ResourceHandlers
from occo.resourcehandler.simcloud.plugin import SimCloudHandler
from occo.resourcehandler.simcloud.process import SimCloudProcess
from occo.resourcehandler.simcloud.testing import SimCloudTestCase
from occo.util.config import Settings
from occo.util.nodes import NodeState, ResolvedNode
from occo.util.yamlload import load_text

FAST = Tuning(max_workers=8, attempts=4, settle=0.2, retry=Backoff(0.01, 2.0, 0.05, jitter=0.5),
              poll=Backoff(0.05, 1.5, 0.3))
USER = "tester"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
OTHER = LeaseOwner("elsewhere", 4242, "occopus-build")     # another command, for the leases

# db first; app (2 to 4) waits for db; cache stands alone
SHOP = """\
infra_name: shop
user_id: tester
nodes:
  - &DB {name: db, type: db_node}
  - &APP {name: app, type: app_node, scaling: {min: 2, max: 4}}
  - &CACHE {name: cache, type: cache_node}
dependencies:
  - [*APP, *DB]
"""
NODE_TYPES = ("db_node", "app_node", "cache_node", "queue_node", "web_node")


def definition(cloud: SimCloudProcess, image: str = "debian-12", **extra: Any) -> dict[str, Any]:
    """A node definition on simcloud; its 10.x addresses must never be pinged."""
    return {"resource": cloud.resource(image=image), "health_check": {"ping": False}, **extra}


def compile_text(text: str, infra_id: str) -> StaticDescription:
    return compile_description(load_text(text), infra_id=infra_id)


def dump(path: Path, leave_out: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Every row of every table of the SQLite store at `path`."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: sorted(map(repr, db.execute(f"SELECT * FROM {table}")))
                for table in tables if table not in leave_out}


class SimCloudCase(SimCloudTestCase):
    """A simcloud server for the class; faults a test sets last for that test only."""


class Faults:
    """What `faulty_handlers` refuse: creates of these images, drops while `refuse_drops` is
    set, listings while `refuse_lists` is."""

    def __init__(self, images: tuple[str, ...] = ()) -> None:
        self.images = images
        self.refuse_drops = threading.Event()
        self.refuse_lists = threading.Event()
        self.drops_refused = 0
        self.lock = threading.Lock()


def faulty_handlers(case: unittest.TestCase, faults: Faults) -> ResourceHandlers:
    class Faulty(SimCloudHandler):
        def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
            made = iter(super().create_nodes(
                [node for node in nodes if node.resource.get("image") not in faults.images]))
            return [PermanentError(f"image {node.resource['image']} does not exist")
                    if node.resource.get("image") in faults.images else next(made)
                    for node in nodes]

        def drop_node(self, instance: Instance) -> None:
            if faults.refuse_drops.is_set():
                with faults.lock:
                    faults.drops_refused += 1
                raise PermanentError(f"deleting {instance.instance_id} is forbidden")
            super().drop_node(instance)

        def list_owned(self, infra_id: str) -> list[Instance]:
            if faults.refuse_lists.is_set():
                raise PermanentError(f"listing the resources of {infra_id} is forbidden")
            return super().list_owned(infra_id)
    handlers = ResourceHandlers(Settings(), load=lambda _: Faulty)
    case.addCleanup(handlers.close)
    return handlers


def build_enactor(path: Path, store: SqliteStore, *, handlers: ResourceHandlers,
                  progress: Any = None, lease_ttl: float = 30.0,
                  owner: LeaseOwner | None = None) -> Enactor:
    router = InfoRouter([StoreProvider(store, None, random.Random(0))])
    engine = Engine(store, router, handlers,
                    checker=HealthChecker(pinger=LoopbackPinger(), timeout=2.0),
                    rng=random.Random(7), tuning=FAST, strategy="first", progress=progress)
    return Enactor(store, engine, open_store=lambda: SqliteStore(path, USER), owner=owner,
                   lease_ttl=lease_ttl)


class World:
    """One infrastructure (`infra_id`, compiled from `description`) in a temporary store, with
    simcloud node definitions for every type in `NODE_TYPES` (`definitions` replace some)."""

    def __init__(self, case: unittest.TestCase, cloud: SimCloudProcess,
                 description: str = SHOP, definitions: dict[str, list[dict]] | None = None,
                 *, store_it: bool = True) -> None:
        self.case = case
        self.cloud = cloud
        scratch = tempfile.TemporaryDirectory(prefix="occo-enactor-")
        case.addCleanup(scratch.cleanup)
        self.path = Path(scratch.name) / "state.db"
        self.store = SqliteStore(self.path, USER)
        case.addCleanup(self.store.close)
        self.infra_id = f"infra-{uuid.uuid4().hex[:12]}"
        self.store.put_node_definitions({node_type: [definition(cloud)]
                                         for node_type in NODE_TYPES} | (definitions or {}))
        self.static = self.compile(description)
        if store_it:
            self.store.add_infrastructure(self.infra_id, self.static.to_dict())
        self.handlers = ResourceHandlers(Settings())
        case.addCleanup(self.handlers.close)
        self.handler = SimCloudHandler.for_section(cloud.resource())
        case.addCleanup(self.handler.close)

    def compile(self, description: str) -> StaticDescription:
        return compile_text(description, self.infra_id)

    def enactor(self, handlers: ResourceHandlers | None = None, **options: Any) -> Enactor:
        """A new enactor with an engine of its own."""
        return build_enactor(self.path, self.store, handlers=handlers or self.handlers,
                             **options)

    def connect(self) -> SqliteStore:
        """Another connection to the store, for another thread or another command."""
        return SqliteStore(self.path, USER)

    def records(self, name: str | None = None) -> dict[str, dict]:
        """{node id: record} of one node, or of all."""
        return {node_id: data
                for node_name, by_id in self.store.get_instances(self.infra_id).items()
                if name in (None, node_name) for node_id, data in by_id.items()}

    def live(self) -> list[Instance]:
        """What simcloud holds for the infrastructure, terminated instances left out."""
        return self.handler.list_owned(self.infra_id)

    def live_ids(self) -> list[str]:
        return sorted(instance.node_id for instance in self.live())

    def running(self, node_id: str) -> bool:
        """Whether simcloud runs the instance of `node_id` (booted, not terminated)."""
        instance = InstanceRecord.from_dict(self.records()[node_id]).instance
        assert instance is not None
        return self.handler.get_states([instance])[0].state == NodeState.READY

    def make(self, node: ResolvedNode) -> None:
        """Have simcloud make an instance for `node`, as the engine would."""
        [made] = self.handler.create_nodes([node])
        assert isinstance(made, Instance), made

    def kill(self, node_id: str) -> None:
        """Drop an instance in simcloud behind the engine's back."""
        instance = InstanceRecord.from_dict(self.records()[node_id]).instance
        assert instance is not None
        self.handler.drop_node(instance)

    def event_names(self) -> list[str]:
        return [event.name for event in self.store.events(self.infra_id)]

    def request(self, name: str, kind: str, value: str | None = None, count: int = 1) -> None:
        """Queue requests with no limit: what a store may hold (rows an older Occopus wrote,
        limits changed since), which a pass must clamp."""
        self.store.queue_scaling(self.infra_id, name, kind, count=count, value=value,
                                 limit=10**9)

    def creates(self) -> int:
        """Instances simcloud made so far."""
        return self.cloud.stats()["made"]

    def calls(self) -> int:
        return self.cloud.stats()["calls"]

    def dump(self, leave_out: tuple[str, ...] = ()) -> dict[str, list[str]]:
        return dump(self.path, leave_out)


# --- the crash child ------------------------------------------------------------------
CHILD_LEASE_TTL = 1.0


def crash_child(database: Path, infra_id: str, nth: int) -> subprocess.Popen[bytes]:
    """A child process that makes a pass and SIGKILLs itself once its `nth` instance is reported
    creating: its intent is stored, the creates before it are sent (its lease, of
    `CHILD_LEASE_TTL` seconds, then expires by itself)."""
    command = [sys.executable, "-m", "tests.enactor_world", "crash", str(database), infra_id,
               str(nth)]
    return subprocess.Popen(command, cwd=PACKAGE_ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _crash_main(argv: list[str]) -> None:
    _, database, infra_id, nth = argv
    left = [int(nth)]
    lock = threading.Lock()

    class Killer:
        def on_node(self, node_name: str, node_id: str | None, step: Step,
                    elapsed: float) -> None:
            if step is Step.CREATING:
                with lock:
                    left[0] -= 1
                    if left[0] == 0:
                        os.kill(os.getpid(), signal.SIGKILL)

    path = Path(database)
    store = SqliteStore(path, USER)
    handlers = ResourceHandlers(Settings())
    enactor = build_enactor(path, store, handlers=handlers, progress=Killer(),
                            lease_ttl=CHILD_LEASE_TTL,
                            owner=LeaseOwner("child", os.getpid(), "crash"))
    enactor.make_a_pass(infra_id)
    sys.exit(3)         # the pass ended before the moment came: the parent says so


if __name__ == "__main__":
    _crash_main(sys.argv[1:])
