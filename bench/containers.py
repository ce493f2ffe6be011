#!/usr/bin/env python3
"""Containers built by the engine on the project's Docker engine, against the Docker SDK alone.

Run from the repository root with the api environment (created by
`./occo-dev reset-env api`), which holds the engine, the docker plugin and
the Docker SDK:

    env/api/bin/python bench/containers.py [--nodes N ...] [--quick] [--timeline] [--profile DIR]

The Docker engine is the checkout's own (`./occo-dev docker start`, run here
if it is not running), its containers busybox's `sleep inf` from the base
image `occopus/busybox:latest`, with an init process: a container is ready as
soon as it runs. For each N, N containers in 4 levels of N/4, each level
waiting for the one before, are built twice:

- by the engine: `Engine.execute` as `bench/converge.py` builds on simcloud (a
  temporary SQLite store, the engine's default `Tuning`, a health check that
  does not ping), the `docker` plugin through `ResourceHandlers`, then
  dropped with `DropInfrastructure`;
- with the Docker SDK alone (`APIClient`, as the plugin's): each level's
  containers created and started at once, as many threads as the level has
  containers (the engine's own parallelism: a docker create is one node a
  call, each in a worker of its own, and its 256 workers take a whole level
  of these sizes), then one listing to see them all running before the next
  level; then each stopped and removed, all at once, as the engine drops.

Both go through a proxy of their own (`docker_proxy.py`, a process apart)
that logs every request, from which the calls a container costs over its life
are counted by kind. Figures are printed with their targets; nothing is
asserted. Every container the run made is removed at the end, on Ctrl+C too;
it makes no images.
"""
from __future__ import annotations

import argparse
import cProfile
import logging
import math
import os
import pstats
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "infra-processor"))

import docker  # noqa: E402

from clouds import SLEEPER, DockerEngine, docker_definition  # noqa: E402
from converge import DEPTH, chain, commit_cost, verdict  # noqa: E402
from occo.infobroker.broker import InfoRouter  # noqa: E402
from occo.infobroker.providers import StoreProvider  # noqa: E402
from occo.infobroker.store.base import LeaseOwner  # noqa: E402
from occo.infobroker.store.sqlite import SqliteStore  # noqa: E402
from occo.infraprocessor.engine import Engine, Outcome, Step  # noqa: E402
from occo.infraprocessor.health import HealthChecker  # noqa: E402
from occo.infraprocessor.instructions import (CreateInfrastructure, CreateNodes,  # noqa: E402
                                              DropInfrastructure)
from occo.infraprocessor.testing import LoopbackPinger  # noqa: E402
from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG  # noqa: E402
from occo.resourcehandler.docker.handler import API_VERSION, POOL_SIZE  # noqa: E402
from occo.resourcehandler.docker.launch import NAME_TAG, container_name  # noqa: E402
from occo.resourcehandler.guard import ResourceHandlers  # noqa: E402
from occo.util.config import Settings  # noqa: E402
from tests.test_engine_fixture import node_description  # noqa: E402

TARGET_RATIO = 1.15             # engine build / SDK build
ORIGINAL_CALLS = 18             # engine calls a container cost the original Occopus
DEFAULT_NODES = (8, 40, 200)
QUICK_NODES = (8,)
STOP_GRACE = 3                  # seconds, as the plugin's
KINDS = ("create", "start", "list", "inspect", "stop", "remove", "images", "other")


def kind_of(method: str, path: str) -> str:
    """The kind (one of `KINDS`) of a request the proxy logged, from its method and path."""
    parts = path.split("?")[0].strip("/").split("/")
    if parts[0].startswith("v1."):
        parts = parts[1:]
    if parts[0] == "images":
        return "images"
    rest = parts[1:] if parts[0] == "containers" else None
    if rest == ["create"] and method == "POST":
        return "create"
    if rest == ["json"] and method == "GET":
        return "list"
    if rest is not None and len(rest) == 1 and method == "DELETE":
        return "remove"
    if rest is not None and len(rest) == 2 and (method, rest[1]) in (
            ("GET", "json"), ("POST", "start"), ("POST", "stop")):
        return "inspect" if method == "GET" else rest[1]
    return "other"


class CountingProxy:
    """`docker_proxy.py` in a process (and session) of its own: Ctrl+C leaves it to us."""

    def __init__(self, scratch: Path, engine_socket: str) -> None:
        self.socket = scratch / "proxy.sock"
        self.log = scratch / "proxy.log"
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "docker_proxy.py"), str(self.socket), engine_socket,
             str(self.log)], stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("the counting proxy did not start")
        self.seen = 0       # log lines read so far

    @property
    def endpoint(self) -> str:
        return f"unix://{self.socket}"

    def calls(self) -> Counter[str]:
        """The requests logged since the last call, by kind."""
        lines = self.log.read_text().splitlines()
        new, self.seen = lines[self.seen:], len(lines)
        return Counter(kind_of(method, path) for _, method, path in
                       (line.split(" ", 2) for line in new))

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


@dataclass
class Side:
    """One way of building N containers: its wall times, calls by kind and timeline."""

    label: str
    build: float = 0.0
    drop: float = 0.0
    made: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    # per level: (creates sent, the last create made and started, the level seen running)
    levels: list[tuple[float, float, float]] = field(default_factory=list)
    cpu: float = 0.0


class Timeline:
    """The engine's progress calls, timed: when each level was sent, made and seen ready."""

    def __init__(self) -> None:
        self.steps: list[tuple[float, str, Step]] = []

    def on_node(self, node_name: str, node_id: str | None, step: Step, elapsed: float) -> None:
        self.steps.append((time.perf_counter(), node_name, step))

    def levels(self, names: Sequence[str]) -> list[tuple[float, float, float]]:
        def at(name: str, step: Step, pick: Callable[..., float]) -> float:
            return pick((t for t, n, s in self.steps if n == name and s is step),
                        default=math.nan)       # a level that failed shows as nan
        return [(at(name, Step.CREATING, min), at(name, Step.BOOTING, max),
                 at(name, Step.READY, max)) for name in names]


def by_engine(nodes: int, endpoint: str, image: str, owner: str, scratch: Path,
              proxy: CountingProxy, profile: Path | None) -> Side:
    """Build `nodes` containers with `Engine.execute`, then drop them with it."""
    side = Side("engine")
    infra_id = f"bench-docker-{nodes}-{uuid.uuid4().hex[:8]}"
    levels = chain(nodes)
    store = SqliteStore(scratch / f"{infra_id}.db", "bench")
    handlers = ResourceHandlers(Settings())
    try:
        store.put_node_definitions({f"{name}_node": [docker_definition(endpoint, image)]
                                    for name, _, _ in levels})
        descriptions = {name: node_description(name, f"{name}_node", infra_id, user_id=owner)
                        for name, _, _ in levels}
        store.add_infrastructure(infra_id, {
            "format": 1, "infra_id": infra_id, "name": "bench", "user_id": owner,
            "variables": {}, "nodes": list(descriptions.values()),
            "dependencies": [[name, *after] for name, _, waits in levels for after in waits],
            "levels": [[name] for name, _, _ in levels]})
        fence = store.acquire_lease(infra_id, LeaseOwner("bench", os.getpid(), "bench")).token
        timeline = Timeline()
        engine = Engine(store, InfoRouter([StoreProvider(store, None, random.Random(0))]),
                        handlers, checker=HealthChecker(pinger=LoopbackPinger()),
                        progress=timeline)
        instructions = [CreateInfrastructure(infra_id),
                        *(CreateNodes(name, count, waits) for name, count, waits in levels)]
        proxy.calls()
        with timed(side, "build", profile):
            result = engine.execute(infra_id, instructions, descriptions, fence=fence)
        side.made = result.counts().get(Outcome.CREATED, 0)
        if side.made != nodes:
            failed = [r for r in result.nodes if r.outcome is not Outcome.CREATED][:3]
            print(f"  !! the engine made {side.made} of {nodes}: {failed}", flush=True)
        side.levels = timeline.levels([name for name, _, _ in levels])
        with timed(side, "drop"):
            dropped = engine.execute(infra_id, [DropInfrastructure(infra_id)], descriptions,
                                     fence=fence)
        if not dropped.ok:
            print(f"  !! the engine's drop: {dropped.problems or dropped.counts()}", flush=True)
        side.calls = proxy.calls()
        return side
    finally:
        handlers.close()
        store.close()


def by_sdk(nodes: int, endpoint: str, image: str, owner: str, proxy: CountingProxy) -> Side:
    """Build `nodes` containers with the SDK alone, level by level, then drop them."""
    side = Side("Docker SDK")
    infra_id = f"bench-sdk-{nodes}-{uuid.uuid4().hex[:8]}"
    client = docker.APIClient(base_url=endpoint, version=API_VERSION, max_pool_size=POOL_SIZE)
    host_config = client.create_host_config(init=True)

    def make(name: str) -> str:
        node_id = str(uuid.uuid4())
        made = client.create_container(
            image, command=SLEEPER, name=container_name(node_id), host_config=host_config,
            labels={INFRA_TAG: infra_id, NODE_TAG: node_id, OWNER_TAG: owner, NAME_TAG: name})
        client.start(made["Id"])
        return str(made["Id"])

    def drop(container: str) -> None:
        client.stop(container, timeout=STOP_GRACE)
        client.remove_container(container, v=True, force=True)

    made: list[str] = []
    try:
        proxy.calls()
        with timed(side, "build"):
            for name, count, _ in chain(nodes):
                sent = time.perf_counter()
                with ThreadPoolExecutor(max_workers=count) as pool:
                    level = list(pool.map(make, [name] * count))
                made += level
                started = time.perf_counter()
                while not all(c["State"] == "running" for c in client.containers(
                        all=True, filters={"id": level})):
                    time.sleep(0.01)
                side.levels.append((sent, started, time.perf_counter()))
        side.made = len(made)
        with timed(side, "drop"), ThreadPoolExecutor(max_workers=len(made)) as pool:
            list(pool.map(drop, made))
        side.calls = proxy.calls()
        return side
    finally:
        client.close()


@contextmanager
def timed(side: Side, what: str, profile: Path | None = None) -> Iterator[None]:
    """Set `side.<what>` to the wall time of the block (and the CPU of a build)."""
    profiler = cProfile.Profile() if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    try:
        yield
    finally:
        if profiler:
            profiler.disable()
        setattr(side, what, time.perf_counter() - started)
        if what == "build":
            side.cpu = time.process_time() - cpu
    if profiler and profile:
        profiler.dump_stats(str(profile))
        pstats.Stats(str(profile)).sort_stats("cumulative").print_stats(25)


def report(nodes: int, engine: Side, sdk: Side) -> None:
    ratio = engine.build / sdk.build
    print(f"{nodes} containers, {DEPTH} levels of {nodes // DEPTH}, {nodes // DEPTH} at once "
          f"(load average after both: {load_average()})")
    print(f"  build   engine {engine.build:6.2f} s   SDK {sdk.build:6.2f} s   ratio {ratio:5.2f}"
          f"   target <= {TARGET_RATIO:g}: {verdict(ratio <= TARGET_RATIO)}   "
          f"({engine.made} and {sdk.made} made; engine CPU {engine.cpu:.1f} s)")
    print(f"  drop    engine {engine.drop:6.2f} s   SDK {sdk.drop:6.2f} s   "
          f"ratio {engine.drop / sdk.drop:5.2f}")
    for side in (engine, sdk):
        kinds = ", ".join(f"{kind} {side.calls[kind] / nodes:.2f}" for kind in KINDS
                          if side.calls[kind])
        print(f"  calls a container, {side.label:<10} {sum(side.calls.values()) / nodes:5.2f}: "
              f"{kinds}   (the original Occopus: {ORIGINAL_CALLS})")
    print(flush=True)


def load_average() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def print_timeline(engine: Side, sdk: Side) -> None:
    """Per level, seconds from the build's start: sent, all made and started, seen running."""
    for side in (engine, sdk):
        zero = side.levels[0][0]
        print(f"  timeline {side.label:<10} " + "  ".join(
            f"L{level}: {sent - zero:5.2f} > {made - zero:5.2f} > {seen - zero:5.2f}"
            for level, (sent, made, seen) in enumerate(side.levels)))
    print("  (per level: creates sent > all made and started > seen running)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+",
                        help=f"container counts (default {', '.join(map(str, DEFAULT_NODES))})")
    parser.add_argument("--quick", action="store_true",
                        help=f"a fast smoke run: {' '.join(map(str, QUICK_NODES))} containers")
    parser.add_argument("--timeline", action="store_true",
                        help="when each level was sent, made and seen running, both ways")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="write cProfile stats of the engine's own thread here")
    args = parser.parse_args()
    counts = args.nodes or (QUICK_NODES if args.quick else DEFAULT_NODES)
    logging.basicConfig(level=logging.ERROR)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))     # clean up as on Ctrl+C
    cloud = DockerEngine(owner=f"bench-docker-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    cloud.start()
    image = cloud.state["base_image"]
    with tempfile.TemporaryDirectory(prefix="occo-bench-docker-") as folder:
        scratch = Path(folder)
        print(f"machine: {os.cpu_count()} cores, load average {load_average()}; a synced "
              f"SQLite commit in {tempfile.gettempdir()} takes {commit_cost(scratch):.2f} ms; "
              f"{cloud.describe()}", flush=True)
        proxy = CountingProxy(scratch, cloud.state["socket"])
        try:
            for nodes in counts:
                profile = args.profile / f"docker-{nodes}.prof" if args.profile else None
                sdk = by_sdk(nodes, proxy.endpoint, image, cloud.owner, proxy)
                engine = by_engine(nodes, proxy.endpoint, image, cloud.owner, scratch, proxy,
                                   profile)
                report(nodes, engine, sdk)
                if args.timeline:
                    print_timeline(engine, sdk)
        finally:
            proxy.close()
            left = cloud.remove_all()
            cloud.close()
            if left:
                print(f"removed {left} containers the run left", flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; the run's containers are removed")
