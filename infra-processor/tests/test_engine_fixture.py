"""What the engine tests share (no tests here): a stored infrastructure, simcloud, a crash child.

- `EngineWorld`: a real SqliteStore on a temporary file holding node
  definitions and one infrastructure, a router over it, and engines built on
  it with fast tuning and a `Recorder` of progress calls.
- `SimCloudCase`: one simcloud server per test class, with a short boot time.
- `Gate`: a URL on 127.0.0.1 that answers 503 until the test opens it, to
  hold a node's health check (and so its readiness) for as long as a test wants.
- `spy_handlers`: simcloud handlers that call the test back before each create.
- `LoopbackPinger`: pings by TCP and refuses any address outside 127.0.0.0/8,
  so that no test reaches beyond this machine (simcloud's addresses are 10.x).
- Run as `python -m tests.test_engine_fixture crash ...` (see `crash_child`),
  it builds in a child process that SIGKILLs itself at a chosen moment.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import unittest
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from occo.infobroker.broker import InfoRouter
from occo.infobroker.providers import StoreProvider
from occo.infobroker.store.base import LeaseOwner
from occo.infobroker.store.sqlite import SqliteStore
from occo.infraprocessor.engine import Backoff, Engine, ExecutionResult, Step, Tuning
from occo.infraprocessor.health import HealthChecker
from occo.infraprocessor.testing import DEADLINE, Gate, LoopbackPinger, wait_until  # noqa: F401 (tests import them here)
from occo.infraprocessor.instructions import CreateInfrastructure, CreateNodes, Instruction
from occo.resourcehandler.base import Instance, ResourceError, ResourceHandler, ResourceStatus
from occo.resourcehandler.guard import ResourceHandlers
from occo.resourcehandler.simcloud.plugin import SimCloudHandler
from occo.resourcehandler.simcloud.process import SimCloudProcess
from occo.resourcehandler.simcloud.testing import SimCloudTestCase
from occo.util.cancel import Cancellation
from occo.util.config import Settings
from occo.util.nodes import ResolvedNode

FAST = Tuning(max_workers=8, attempts=4, settle=0.2, retry=Backoff(0.01, 2.0, 0.05, jitter=0.5),
              poll=Backoff(0.05, 1.5, 0.3))
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def node_description(name: str, node_type: str, infra_id: str, **extra: Any) -> dict[str, Any]:
    """A compiled node description, as the compiler makes it."""
    return {"name": name, "type": node_type, "scaling": {"min": 1, "max": 1}, "filter": {},
            "variables": {}, "mappings": {"inbound": {}, "outbound": {}},
            "create_timeout": None, "infra_id": infra_id, "infra_name": "shop",
            "user_id": "tester", **extra}


def simcloud_definition(cloud: SimCloudProcess, **extra: Any) -> dict[str, Any]:
    """A node definition on simcloud; its 10.x addresses must never be pinged."""
    return {"resource": cloud.resource(image="debian-12"), "health_check": {"ping": False},
            **extra}


def spy_handlers(case: unittest.TestCase,
                 before_create: Callable[[ResolvedNode], None]) -> ResourceHandlers:
    """Handlers whose simcloud creates call `before_create(node)` first (it may raise)."""

    class Spy(SimCloudHandler):
        # one node a call, each in a worker of its own
        capabilities = dataclasses.replace(SimCloudHandler.capabilities, creates_per_call=1)

        def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
            (node,) = nodes
            try:
                before_create(node)
            except ResourceError as error:
                return [error]
            return super().create_nodes(nodes)
    handlers = ResourceHandlers(Settings(), load=lambda _: Spy)
    case.addCleanup(handlers.close)
    return handlers


def stored(data: dict | str) -> dict:
    """A record as the engine hands it to the store: a dict, or its JSON (`codec.Encoded`)."""
    return json.loads(data) if isinstance(data, str) else data


def create_one(handler: ResourceHandler, node: ResolvedNode) -> Instance:
    """`create_nodes` of one node: its instance, or its error raised."""
    [made] = handler.create_nodes([node])
    if isinstance(made, ResourceError):
        raise made
    return made


def status_of(handler: ResourceHandler, instance: Instance) -> ResourceStatus:
    """What `get_states` tells of one instance."""
    return handler.get_states([instance])[0]


class Recorder:
    """Progress calls, in order, from any thread; `hook(name, step)` sees each one as it comes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, Step]] = []
        self.lock = threading.Lock()
        self.hook: Callable[[str, Step], None] = lambda name, step: None

    def on_node(self, node_name: str, node_id: str | None, step: Step, elapsed: float) -> None:
        assert elapsed >= 0
        with self.lock:
            self.calls.append((node_name, node_id, step))
        self.hook(node_name, step)

    def steps(self, node_id: str) -> list[Step]:
        with self.lock:
            return [step for _, seen, step in self.calls if seen == node_id]


class EngineWorld:
    """An infrastructure of its own (`infra_id`) stored in a temporary SQLite file, and
    engines over it. `nodes` are (name, node type) or (name, node type, description keys)."""

    def __init__(self, case: unittest.TestCase, definitions: dict[str, list[dict]],
                 *nodes: tuple[Any, ...]) -> None:
        scratch = tempfile.TemporaryDirectory(prefix="occo-engine-")
        case.addCleanup(scratch.cleanup)
        self.path = Path(scratch.name) / "state.db"
        self.store = SqliteStore(self.path, "tester")
        case.addCleanup(self.store.close)
        self.infra_id = infra_id = f"infra-{uuid.uuid4().hex[:12]}"
        self.nodes = {name: node_description(name, node_type, infra_id, **dict(*extra))
                      for name, node_type, *extra in nodes}
        self.store.put_node_definitions(definitions)
        self.store.add_infrastructure(infra_id, {
            "format": 1, "infra_id": infra_id, "name": "shop", "user_id": "tester",
            "variables": {}, "nodes": list(self.nodes.values()), "dependencies": [],
            "levels": [list(self.nodes)]})
        self.router = InfoRouter([StoreProvider(self.store, None, random.Random(0))])
        self.handlers = ResourceHandlers(Settings())
        case.addCleanup(self.handlers.close)
        self.progress = Recorder()

    def engine(self, handlers: ResourceHandlers | None = None, **options: Any) -> Engine:
        options = {"checker": HealthChecker(pinger=LoopbackPinger(), timeout=2.0),
                   "rng": random.Random(7), "progress": self.progress, "tuning": FAST,
                   "strategy": "first", **options}
        return Engine(self.store, self.router, handlers or self.handlers, **options)

    def execute(self, engine: Engine, *instructions: Instruction,
                cancel: Cancellation | None = None) -> ExecutionResult:
        """Execute under a new lease."""
        return engine.execute(self.infra_id, instructions, self.nodes, fence=self.lease(),
                              cancel=cancel)

    def lease(self, now: float | None = None) -> int:
        """Take the infrastructure's lease (over any other, with a `now` past its end)."""
        return self.store.acquire_lease(self.infra_id, LeaseOwner("test", os.getpid(), "test"),
                                        now=now).token

    def records(self, name: str | None = None) -> dict[str, dict]:
        """{node id: record} of one node, or of all."""
        stored = self.store.get_instances(self.infra_id)
        return {node_id: data for node_name, by_id in stored.items()
                if name in (None, node_name) for node_id, data in by_id.items()}

    def event_names(self) -> list[str]:
        return [event.name for event in self.store.events(self.infra_id)]

    def events_of(self, node_id: str) -> list[str]:
        return [event.name for event in self.store.events(self.infra_id)
                if event.data.get("node_id") == node_id]


class SimCloudCase(SimCloudTestCase):
    """A simcloud server for the class (faults set by a test last for that test only)."""

    def faults(self, **changes: Any) -> None:
        self.cloud.set_faults(**changes)

    def fail_next(self, status: int, count: int) -> None:
        """The next `count` API calls of this test answer `status`."""
        self.cloud.fail_next(status, count)

    def live(self, infra_id: str, cloud: SimCloudProcess | None = None) -> list[Instance]:
        """What the cloud holds for the infrastructure, terminated instances left out."""
        handler = SimCloudHandler.for_section((cloud or self.cloud).resource())
        self.addCleanup(handler.close)
        return handler.list_owned(infra_id)

    def created_calls(self) -> int:
        """Instances simcloud made so far."""
        return self.cloud.stats()["made"]


# --- the crash child ------------------------------------------------------------------
# the moments a child can die at that the engine reports: the intent is stored by then; the
# `created` and `ready` records may still be kept back (the engine writes them behind)
REPORTED = {"intent": Step.CREATING, "booting": Step.BOOTING, "ready": Step.READY}
KILL_POINTS = (*REPORTED, "created", "at")


def crash_child(database: str, endpoint: str, infra_id: str, count: int, kill_at: str,
                nth: int, after: float) -> subprocess.Popen[bytes]:
    """Start a child that builds `count` web nodes and SIGKILLs itself.

    `kill_at` is the moment: the `nth` instance stored as an intent, made by
    the cloud (before the engine heard of it), its create answered, or seen
    ready; or `at`: `after` seconds into the build.
    """
    command = [sys.executable, "-m", "tests.test_engine_fixture", "crash", database, endpoint,
               infra_id, str(count), kill_at, str(nth), str(after)]
    return subprocess.Popen(command, cwd=PACKAGE_ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _Countdown:
    """Dies at the `nth` time it is called."""

    def __init__(self, nth: int) -> None:
        self.left = nth
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.left -= 1
            if self.left == 0:
                _die()


def _crash_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["crash"])
    for name in ("database", "endpoint", "infra_id"):
        parser.add_argument(name)
    parser.add_argument("count", type=int)
    parser.add_argument("kill_at", choices=KILL_POINTS)
    parser.add_argument("nth", type=int)
    parser.add_argument("after", type=float)
    args = parser.parse_args(argv)
    countdown = _Countdown(args.nth)

    class Progress:
        def on_node(self, node_name: str, node_id: str | None, step: Step,
                    elapsed: float) -> None:
            if REPORTED.get(args.kill_at) is step:
                countdown()

    class KillAfterCreate(SimCloudHandler):
        def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
            made = super().create_nodes(nodes)
            if args.kill_at == "created":
                for _ in made:
                    countdown()
            return made

    if args.kill_at == "at":
        threading.Timer(args.after, _die).start()
    store = SqliteStore(args.database, "tester")
    fence = store.acquire_lease(args.infra_id, LeaseOwner("child", os.getpid(), "crash"),
                                ttl=300).token
    nodes = {"web": node_description("web", "web_node", args.infra_id)}
    engine = Engine(store, InfoRouter([StoreProvider(store, None, random.Random())]),
                    ResourceHandlers(Settings(), load=lambda _: KillAfterCreate),
                    checker=HealthChecker(pinger=LoopbackPinger()), progress=Progress(),
                    tuning=FAST, strategy="first")
    engine.execute(args.infra_id, [CreateInfrastructure(args.infra_id),
                                   CreateNodes("web", args.count, frozenset())],
                   nodes, fence=fence)
    sys.exit(3)        # the build ended before the moment came: the parent says so


if __name__ == "__main__":
    _crash_main(sys.argv[1:])
