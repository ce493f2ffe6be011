#!/usr/bin/env python3
"""How fast the engine converges an infrastructure on a slow cloud, with and without faults.

Run from the repository root with the infra-processor environment (created by
`./occo-dev reset-env infra-processor`):

    env/infra-processor/bin/python bench/converge.py [--nodes N ...] [--quick]

For each N (by default 200, 1,000 and 10,000) it builds N nodes of 4 node
types in a chain (N/4 instances each, each type waiting for the one before)
with `Engine.execute` on a simcloud server of its own (50 ms a call, 1 s to
boot), storing in a temporary SQLite file, with the engine's default `Tuning`
as users get it. Nothing is reached
beyond 127.0.0.1: the nodes have no health check that pings (their 10.x
addresses are never contacted) and the pinger refuses any other address.

- without faults, its wall time against the critical path, depth x (boot +
  latency): the time the chain would take if every call and boot of a level
  ran at once and every node were seen ready the moment it is (target 1.15x;
  1.10x at 10,000 nodes, where the engine's CPU time a node must also be no
  more than at 1,000);
- with 20 % of the cloud calls answered 503 (simcloud's `error_rate`), its wall
  time against the run without faults, and what simcloud holds afterwards:
  one live instance per node id (more is a duplicate) and N in all.

Figures are printed with their targets; nothing is asserted. The first line
says what the machine is doing meanwhile: its load, and what a synced SQLite
commit costs in the temporary directory now (the store syncs each write, and
the engine makes several an instance, in one thread).
"""
from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "infra-processor"))

from occo.infobroker.broker import InfoRouter  # noqa: E402
from occo.infobroker.providers import StoreProvider  # noqa: E402
from occo.infobroker.store.base import LeaseOwner  # noqa: E402
from occo.infobroker.store.sqlite import SqliteStore  # noqa: E402
from occo.infraprocessor.engine import Engine, ExecutionResult, Outcome  # noqa: E402
from occo.infraprocessor.health import HealthChecker  # noqa: E402
from occo.infraprocessor.instructions import CreateInfrastructure, CreateNodes  # noqa: E402
from occo.resourcehandler.base import Instance  # noqa: E402
from occo.resourcehandler.guard import ResourceHandlers  # noqa: E402
from occo.resourcehandler.simcloud.plugin import SimCloudHandler  # noqa: E402
from occo.resourcehandler.simcloud.process import SimCloudProcess  # noqa: E402
from occo.util.config import Settings  # noqa: E402
from tests.test_engine_fixture import (LoopbackPinger, node_description,  # noqa: E402
                                       simcloud_definition)

DEPTH = 4
LATENCY = 0.05          # seconds every simcloud call takes
BOOT_TIME = 1.0         # seconds an instance stays pending
ERROR_RATE = 0.2        # the fraction of cloud calls answered 503 in the faulty run
TARGET_RATIO = 1.15     # wall time / critical path, without faults
LARGE, TARGET_LARGE = 10_000, 1.10      # ... and at this many nodes, with no more engine CPU a
                                        # node than at REFERENCE nodes
REFERENCE = 1000
TARGET_FAULTS = 1.2     # wall time with faults / wall time without
DEFAULT_NODES = (200, 1000, 10_000)
QUICK_NODES = (40,)


@dataclass(frozen=True)
class Run:
    """One `Engine.execute` and what simcloud holds for the infrastructure afterwards."""

    nodes: int
    wall: float
    result: ExecutionResult
    live: int                   # live instances of the infrastructure
    duplicates: int             # live instances beyond the first of a node id
    calls: int                  # API calls simcloud answered
    unavailable: int            # of which 503
    cpu: float                  # seconds of CPU the engine's process used

    @property
    def created(self) -> int:
        return self.result.counts().get(Outcome.CREATED, 0)


def chain(count: int) -> list[tuple[str, int, frozenset[str]]]:
    """(node name, instances, the type it waits for) of a chain of `DEPTH` types."""
    names = [f"tier{level}" for level in range(DEPTH)]
    share, extra = divmod(count, DEPTH)
    return [(name, share + (1 if level < extra else 0),
             frozenset(names[level - 1:level]) if level else frozenset())
            for level, name in enumerate(names)]


def converge(nodes: int, *, error_rate: float, scratch: Path,
             profile: Path | None = None) -> Run:
    """Build `nodes` nodes on a simcloud server of their own; stop the server after."""
    cloud = SimCloudProcess(latency=LATENCY, boot_time=BOOT_TIME, seed=7)
    cloud.start()
    store = SqliteStore(scratch / f"state-{nodes}-{error_rate:g}.db", "bench")
    handlers = ResourceHandlers(Settings())
    try:
        infra_id = f"bench-{nodes}-{int(error_rate * 100)}"
        levels = chain(nodes)
        store.put_node_definitions({f"{name}_node": [simcloud_definition(cloud)]
                                    for name, _, _ in levels})
        descriptions = {name: node_description(name, f"{name}_node", infra_id)
                        for name, _, _ in levels}
        store.add_infrastructure(infra_id, {
            "format": 1, "infra_id": infra_id, "name": "shop", "user_id": "tester",
            "variables": {}, "nodes": list(descriptions.values()),
            "dependencies": [[name, *after] for name, _, waits in levels for after in waits],
            "levels": [[name] for name, _, _ in levels]})
        fence = store.acquire_lease(infra_id, LeaseOwner("bench", os.getpid(), "bench")).token
        engine = Engine(store, InfoRouter([StoreProvider(store, None, random.Random(0))]),
                        handlers, checker=HealthChecker(pinger=LoopbackPinger()))
        instructions = [CreateInfrastructure(infra_id),
                        *(CreateNodes(name, count, waits) for name, count, waits in levels)]
        if error_rate:
            cloud.set_faults(error_rate=error_rate)
        profiler = cProfile.Profile() if profile else None
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        result = engine.execute(infra_id, instructions, descriptions, fence=fence)
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        cloud.set_faults(error_rate=0.0)
        if profiler and profile:
            profiler.dump_stats(str(profile))
        stats = cloud.stats()
        counted = Counter(instance.node_id for instance in _live(cloud, infra_id))
        return Run(nodes, wall, result, sum(counted.values()),
                   sum(count - 1 for count in counted.values()), stats["calls"],
                   stats["answers"].get("503", 0), cpu)
    finally:
        handlers.close()
        store.close()
        cloud.close()


def _live(cloud: SimCloudProcess, infra_id: str) -> list[Instance]:
    handler = SimCloudHandler.for_section(cloud.resource())
    try:
        return handler.list_owned(infra_id)
    finally:
        handler.close()


def commit_cost(folder: Path, count: int = 200) -> float:
    """Milliseconds a small synced SQLite commit takes in `folder` (WAL, as the store's)."""
    db = sqlite3.connect(folder / "commit-probe.db", isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE probe (doc TEXT)")
        started = time.perf_counter()
        for _ in range(count):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO probe VALUES (?)", ("x" * 2000,))
            db.execute("COMMIT")
        return (time.perf_counter() - started) / count * 1000
    finally:
        db.close()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(clean: Run, faulty: Run, reference: Run | None) -> None:
    """Print one node count's figures; `reference`: the run at `REFERENCE` nodes, if made."""
    critical = DEPTH * (BOOT_TIME + LATENCY)
    ratio = clean.wall / critical
    target = TARGET_LARGE if clean.nodes >= LARGE else TARGET_RATIO
    print(f"{clean.nodes} nodes, depth {DEPTH}, {LATENCY * 1000:.0f} ms a call, "
          f"{BOOT_TIME:g} s boot; critical path {DEPTH} x ({BOOT_TIME:g} + {LATENCY:g}) s = "
          f"{critical:.2f} s")
    for run in (clean, faulty):
        if not run.result.ok or run.created != run.nodes:
            failed = [r for r in run.result.nodes if r.outcome is not Outcome.CREATED][:3]
            print(f"  !! only {run.created} of {run.nodes} created: {failed}")
    print(f"  no faults      wall {clean.wall:6.2f} s   ratio {ratio:5.2f}   "
          f"target <= {target:g} x critical path: {verdict(ratio <= target)}   "
          f"({clean.calls} calls, {clean.cpu:.1f} s CPU)")
    per_node = clean.cpu / clean.nodes * 1000
    if reference is not None and clean.nodes >= LARGE:
        than = reference.cpu / reference.nodes * 1000
        print(f"  engine CPU     {per_node:.2f} ms a node   target <= {than:.2f} ms a node "
              f"(at {REFERENCE} nodes): {verdict(per_node <= than)}")
    slower = faulty.wall / clean.wall
    exact = faulty.duplicates == 0 and faulty.live == faulty.nodes
    print(f"  {ERROR_RATE:.0%} faults     wall {faulty.wall:6.2f} s   "
          f"{slower:5.2f} x no faults   target <= {TARGET_FAULTS:g} x: "
          f"{verdict(slower <= TARGET_FAULTS)}   ({faulty.calls} calls, "
          f"{faulty.unavailable} answered 503, {faulty.cpu:.1f} s CPU)")
    print(f"  after faults   {faulty.live} live instances for {faulty.nodes} nodes, "
          f"{faulty.duplicates} duplicates   target 0 duplicates, {faulty.nodes} live: "
          f"{verdict(exact)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+",
                        help=f"node counts (default {' and '.join(map(str, DEFAULT_NODES))})")
    parser.add_argument("--quick", action="store_true",
                        help=f"a fast smoke run: {' '.join(map(str, QUICK_NODES))} nodes")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="write cProfile stats of the engine's own thread here")
    args = parser.parse_args()
    counts = args.nodes or (QUICK_NODES if args.quick else DEFAULT_NODES)
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="occo-converge-") as folder:
        scratch = Path(folder)
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"machine: {os.cpu_count()} cores, load average {load}; a synced SQLite commit "
              f"in {tempfile.gettempdir()} takes {commit_cost(scratch):.2f} ms", flush=True)
        reference = None
        for nodes in counts:
            runs = []
            for error_rate in (0.0, ERROR_RATE):
                profile = (args.profile / f"converge-{nodes}-{int(error_rate * 100)}.prof"
                           if args.profile else None)
                runs.append(converge(nodes, error_rate=error_rate, scratch=scratch,
                                     profile=profile))
                if profile:
                    pstats.Stats(str(profile)).sort_stats("cumulative").print_stats(25)
            report(*runs, reference)
            if nodes == REFERENCE:
                reference = runs[0]


if __name__ == "__main__":
    main()
