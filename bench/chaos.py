#!/usr/bin/env python3
"""Chaos: SIGKILL the occopus-* commands at random moments, then count orphans and duplicates.

Run from the repository root with the api environment (created by
`./occo-dev reset-env api`), whose console scripts it runs:

    env/api/bin/python bench/chaos.py [--cloud simcloud|docker] [--rounds N] [--seed S]
        [--quick] [-v]

With `--cloud simcloud` (the default), one simcloud server holds every
instance: 40 ms a call, 0.4 s to boot; while a command that will be killed
runs, 10 % of the calls are answered 503 and 15 % of the creates answer 500
after making the instance (both retried by the engine; they widen the moments
between an intent and its instance, and between an instance and its record).
The last pass and the checks run without these faults: a probe answered 503
leaves an instance's state unknown, which a pass rightly neither counts as
gone nor replaces. The infrastructure has 4 node types, `db` and `cache` first, `app` waiting for
both, `front` waiting for `app`, 11 to 20 instances in all; the nodes have no
health check that pings (their 10.x addresses are never contacted). The
commands are the real `occopus-*` console scripts, each a process of its own,
with their own HOME and a config (`--cfg`) naming a temporary SQLite store.

With `--cloud docker` the nodes are containers on the project's Docker engine
(`./occo-dev docker start`, run unless it runs): the base busybox image
running `sleep inf`, ready as soon as it runs, no faults but the kills. The
engine is shared, so the run counts, and at its end (or on Ctrl+C) removes,
only the containers labelled with its own owner (the infrastructure's user
id, one a run); every container that exists counts, stopped or not. A
container's name is its node id's, so the engine itself refuses a duplicate:
orphans are what this mode looks for.

Calibration times each kind of command once, uncut. Then every round:

1. picks a command: `occopus-build` when there is no infrastructure, else
   `occopus-maintain -i ID` after `occopus-scale` requests (up, down by count,
   to a count or by node id, or up and down on two node types), or
   `occopus-destroy -i ID`;
2. runs it and SIGKILLs it at a random moment, drawn in one of three ways:
   anywhere (30 %: uniform over its expected duration from its start),
   executing (50 %: uniform over its expected execution (and exit), from
   its first progress line on stderr, when the engine begins) or at a call
   (20 %: within 0.1 s of its n-th `creating` or `dropping` step, n drawn
   over the number it is expected to show). A command that ends first makes a
   round without a kill, and its duration moves the expectation. One round
   in four then also kills a second `occopus-maintain`, which finds the
   first one's mess (kills during recovery);
3. reads, at each kill, what the store and simcloud hold, to tell in which
   phase the kill landed (below);
4. leaves the dead command's lease as it is: the next command sees that its
   holder no longer runs and takes it over (its recovery then waits a moment
   for a create the dead command may still have in flight);
5. runs one more pass to completion (`occopus-maintain -i ID`; after a killed
   destroy, half the time `occopus-destroy -i ID` instead), which must exit 0
   (within 180 s on simcloud, 60 s on docker, or it has hung and is killed);
6. counts, over everything the cloud holds: orphans (live instances that no
   stored record owns), duplicates (live instances beyond the first of a node
   id), records without a live instance, live instances that do not run
   (pending, or a container made but never started), and for each node type
   the live instances and the stored target against the target the scaling
   requests asked for.

`--rounds N` (default 100) rounds are played until N kills were made, or
until 3 last passes in a row failed (the infrastructure no longer converges;
the rest would only repeat it). At the end the infrastructure is destroyed
and the cloud must hold nothing live.

Phases of a kill, from the store (records, the killed command's events, the
lease) and simcloud's instances at that moment; a kill may catch nodes in
several: starting (before the infrastructure or the lease is stored),
recovering / surveying / planning (lease held, no event yet), intent stored
and no instance ever made, intent stored and an instance made (the create
was in flight or answered but not recorded: simcloud finishes a call whose
client died, so the two cannot be told apart), booting, rolling back (only
after a node fails, which this run does not cause), dropping, after the nodes
(sweep, infraready, release), infrastructure forgotten.

Exits 1 if a target is missed.
"""
from __future__ import annotations

import argparse
import getpass
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml

from occo.infobroker.store import Store, open_store
from occo.resourcehandler.base import INFRA_TAG, NODE_TAG
from occo.resourcehandler.simcloud.plugin import NAME_TAG

from clouds import DockerEngine, Held, SimCloud

LATENCY = 0.04          # seconds every simcloud call takes
BOOT_TIME = 0.4         # seconds an instance stays pending
GHOST_RATE = 0.15       # creates that make the instance but answer 500 (the retry adopts it)
ERROR_RATE = 0.1        # calls answered 503 (retried): intents wait longer for their instance
# name, min, max, the node types it waits for
NODES = (("db", 1, 2, ()), ("cache", 3, 5, ()), ("app", 5, 9, ("db", "cache")),
         ("front", 2, 4, ("app",)))
STRETCH = 1.0           # kill delays are drawn over STRETCH x the expected duration
# how kill moments are drawn: the share of kills, and the mode (see `KillPlan`)
MODES = (("anywhere", 0.3), ("executing", 0.5), ("at a call", 0.2))
AT_A_CALL = 2.5             # "at a call": the kill comes this many call times after, at most
PROGRESS = re.compile(r"\[\s*[\d.]+s\] ")        # a progress line of the commands (not a tty)
CALL = re.compile(r"\[\s*[\d.]+s\] \S+\s+\S+\s+(creating|dropping) ")
SECOND_KILL = 0.25      # the share of rounds that kill a second pass before the last one
GIVE_UP = 3             # last passes failed in a row: the infrastructure no longer converges
DEFAULT_ROUNDS, QUICK_ROUNDS = 100, 12

PHASES = (
    ("starting", "starting (nothing stored yet, or no lease)"),
    ("planning", "recovering, surveying or planning (lease held)"),
    ("intent", "intent stored, no instance ever made"),
    ("unrecorded", "intent stored, instance made (call in flight)"),
    ("booting", "booting"),
    ("rollback", "rolling back"),
    ("dropping", "dropping"),
    ("after", "after the nodes (sweep, infraready, release)"),
    ("destroyed", "infrastructure forgotten, not yet exited"),
)
NODE_PHASES = ("intent", "unrecorded", "booting", "rollback", "dropping")


@dataclass
class Ran:
    """One command run: its exit code (None: killed), duration and output."""

    args: tuple[str, ...]
    code: int | None
    seconds: float
    stdout: str
    stderr: str
    pid: int
    began: float        # epoch seconds
    lines: list[tuple[float, str]] = field(default_factory=list)   # stderr, timed

    @property
    def first_step(self) -> float | None:
        """Seconds from the start to the first progress line: the execution began."""
        return next((at for at, line in self.lines if PROGRESS.match(line)), None)

    @property
    def killed(self) -> bool:
        return self.code is None


@dataclass
class Tally:
    kills: Counter = field(default_factory=Counter)          # command kind -> kills
    finished_first: Counter = field(default_factory=Counter)  # command kind -> missed kills
    phase_kills: Counter = field(default_factory=Counter)     # phase -> kills that caught it
    phase_nodes: Counter = field(default_factory=Counter)     # phase -> nodes caught in it
    modes: Counter = field(default_factory=Counter)           # kill mode -> kills
    orphans: int = 0
    duplicates: int = 0
    unbacked: int = 0             # records without a live instance after the last pass
    count_misses: int = 0         # rounds whose live count of some node type missed its target
    pass_failures: int = 0        # last passes that did not exit 0
    failing_now: int = 0          # of which in a row, up to the last round
    not_running: int = 0          # live resources not running after the last pass
    named_kept: int = 0           # instances named by a destroy request still there afterwards
    named_asked: int = 0
    rounds: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class KillPlan:
    """When to SIGKILL a command, in one of three modes:

    - anywhere: `delay` seconds after its start;
    - executing: `delay` seconds after its first progress line (the engine began);
    - at a call: `delay` seconds after the `nth` `creating` or `dropping` step shown.
    """

    mode: str
    delay: float
    nth: int = 1

    def moment(self, lines: Sequence[tuple[float, str]]) -> float | None:
        """Seconds after the start at which to kill, once the lines tell."""
        if self.mode == "anywhere":
            return self.delay
        first = next((at for at, line in lines if PROGRESS.match(line)), None)
        if first is None:
            return None
        if self.mode == "executing":
            return first + self.delay
        calls = [at for at, line in lines if CALL.match(line)]
        return calls[self.nth - 1] + self.delay if len(calls) >= self.nth else None


def _read(stream: IO[bytes], started: float, lines: list[tuple[float, str]]) -> None:
    """Keep each line of `stream` with the time it came, until it ends."""
    for raw in iter(stream.readline, b""):
        lines.append((time.monotonic() - started, raw.decode(errors="replace")))
    stream.close()


class Chaos:
    def __init__(self, scratch: Path, rng: random.Random, verbose: bool,
                 cloud: SimCloud | DockerEngine, user_id: str) -> None:
        self.scratch = scratch
        self.rng = rng
        self.verbose = verbose
        self.bin = Path(sys.executable).with_name
        self.cloud = cloud
        self.user_id = user_id
        self.cfg = scratch / "occopus_config.yaml"
        self.infra_file = scratch / "infra.yaml"
        self.logs = scratch / "logs"
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith("OCCOPUS_")}
        self.env.update(HOME=str(scratch / "home"), OCCOPUS_LOG_DIR=str(self.logs),
                        PYTHONUNBUFFERED="1")
        self.infra_id: str | None = None
        self.running: subprocess.Popen[bytes] | None = None     # the command running now
        self.last: Ran | None = None        # the last pass of the round, for diagnostics
        self.targets: dict[str, int] = {}
        # command kind -> expected (duration, seconds from the first progress line to the end,
        # creating and dropping steps)
        self.durations: dict[str, tuple[float, float, float]] = {}
        self.tally = Tally()

    # --- setting up -----------------------------------------------------------
    def start(self) -> None:
        self.cloud.start()
        (self.scratch / "home").mkdir()
        self.cfg.write_text(yaml.safe_dump(
            {"store": {"backend": "sqlite", "path": str(self.scratch / "state.db")}}))
        definitions = {f"node_def:chaos_{name}": [self.cloud.definition()] for name, *_ in NODES}
        nodes_file = self.scratch / "nodes.yaml"
        nodes_file.write_text(yaml.safe_dump(definitions))
        self.infra_file.write_text(yaml.safe_dump({
            "infra_name": "chaos", "user_id": self.user_id,
            "nodes": [{"name": name, "type": f"chaos_{name}",
                       "scaling": {"min": low, "max": high}} for name, low, high, _ in NODES],
            "dependencies": [[name, after] for name, _, _, waits in NODES for after in waits]},
            sort_keys=False))
        self.must(self.run("occopus-import", str(nodes_file)))

    def close(self) -> None:
        """Stop the command still running (after Ctrl+C, say) before the cloud cleans up."""
        if self.running is not None and self.running.poll() is None:
            self.running.kill()
            self.running.wait()
        self.cloud.close()

    # --- running commands -------------------------------------------------------
    def run(self, name: str, *args: str, kill: KillPlan | None = None) -> Ran:
        """Run a command with our --cfg to its end, or SIGKILL it at the moment `kill` picks."""
        argv = [str(self.bin(name)), "--cfg", str(self.cfg), *args]
        out = tempfile.TemporaryFile(dir=self.scratch)
        began, started = time.time(), time.monotonic()
        process = self.running = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, env=self.env,
            cwd=self.scratch)
        lines: list[tuple[float, str]] = []       # stderr: (seconds since the start, line)
        reader = threading.Thread(target=_read, args=(process.stderr, started, lines),
                                  daemon=True)
        reader.start()
        code: int | None = None
        deadline = started + self.cloud.pass_timeout
        while (code := process.poll()) is None:
            now = time.monotonic()
            at = kill.moment(list(lines)) if kill is not None else None
            if at is not None and started + at <= now:
                break
            if now > deadline:
                self.problem(f"{name} {' '.join(args)} hung for {self.cloud.pass_timeout:g} s; "
                             "killed")
                break
            time.sleep(0.002 if at is not None and started + at - now < 0.05 else 0.01)
        if code is None:
            os.kill(process.pid, signal.SIGKILL)
            code = process.wait()
            if code == -signal.SIGKILL and kill is not None:
                code = None     # killed; else it had ended just before
        seconds = time.monotonic() - started
        reader.join()
        out.seek(0)
        ran = Ran(tuple(argv), code, seconds, out.read().decode(errors="replace"),
                  "".join(line for _, line in lines), process.pid, began, lines)
        out.close()
        return ran

    def must(self, ran: Ran) -> Ran:
        if ran.code != 0:
            crashes = "".join(log.read_text()[-3000:] for log in self.logs.glob("*.log"))
            raise SystemExit(f"{' '.join(ran.args)} exited {ran.code}:\n{ran.stderr[-2000:]}"
                             + (f"\ncrash logs:\n{crashes}" if crashes else ""))
        return ran

    def problem(self, text: str) -> None:
        self.tally.problems.append(text)
        print(f"  !! {text}", flush=True)
        if self.last is not None and self.verbose:
            print("     the last pass printed:\n" + self.last.stdout[-3000:], flush=True)

    # --- the store and the cloud -----------------------------------------------
    def store(self) -> Store:
        return open_store({"backend": "sqlite", "path": str(self.scratch / "state.db")},
                          getpass.getuser())

    def infrastructures(self) -> list[str]:
        store = self.store()
        try:
            return store.list_infrastructures()
        finally:
            store.close()

    def live(self) -> list[Held]:
        """Every live resource the cloud holds for the run."""
        return self.cloud.held()

    def kill(self, kind: str, name: str, *args: str) -> Ran:
        """Run a command, SIGKILL it at a random moment, record the phase it was in."""
        infra_before = set(self.infrastructures())
        events_before = self._events(self.infra_id)
        plan = self.kill_plan(kind)
        self.faults(True)
        try:
            ran = self.run(name, *args, kill=plan)
        finally:
            self.faults(False)
        if self.infra_id is None:        # a build: did it store its infrastructure?
            new = sorted(set(self.infrastructures()) - infra_before)
            self.infra_id = new[0] if new else None
            self.targets = {node: low for node, low, *_ in NODES}
        if not ran.killed:
            self.tally.finished_first[kind] += 1
            self.learn(kind, ran)
            if self.verbose:
                print(f"    {name} {' '.join(args)} finished in {ran.seconds:.2f} s, before "
                      f"its kill ({plan.mode})", flush=True)
            if ran.code != 0:
                self.problem(f"{name} {' '.join(args)} exited {ran.code} before its kill: "
                             f"{ran.stderr.strip().splitlines()[-1:]}")
            return ran
        self.tally.modes[plan.mode] += 1
        self.tally.kills[kind] += 1
        phases = self.phases(ran.pid, events_before)
        for phase, nodes in phases.items():
            self.tally.phase_kills[phase] += 1
            self.tally.phase_nodes[phase] += nodes
        if self.verbose:
            print(f"    killed {name} {' '.join(args)} at {ran.seconds:.2f} s ({plan.mode}): "
                  f"{', '.join(f'{p} {n}' if n else p for p, n in phases.items())}", flush=True)
        return ran

    def faults(self, on: bool) -> None:
        """The cloud's faults: on while a command that will be killed runs, off otherwise."""
        self.cloud.faults(on)

    def kill_plan(self, kind: str) -> KillPlan:
        total, executing, calls = self.durations[kind]
        mode = self.rng.choices([m for m, _ in MODES], [share for _, share in MODES])[0]
        if mode == "anywhere":
            return KillPlan(mode, self.rng.uniform(0.0, STRETCH * total))
        if mode == "executing":
            return KillPlan(mode, self.rng.uniform(0.0, STRETCH * executing))
        return KillPlan(mode, self.rng.uniform(0.0, AT_A_CALL * self.cloud.call_time),
                        self.rng.randint(1, max(1, round(calls))))

    def learn(self, kind: str, ran: Ran) -> None:
        """Move the expected durations of `kind` towards those of a command run to its end."""
        first = ran.first_step
        seen = (ran.seconds, ran.seconds - first if first is not None else 0.0,
                float(sum(1 for _, line in ran.lines if CALL.match(line))))
        old = self.durations.get(kind, seen)
        self.durations[kind] = tuple((a + b) / 2 for a, b in zip(old, seen))

    def _events(self, infra_id: str | None) -> int:
        if infra_id is None:
            return 0
        store = self.store()
        try:
            return len(store.events(infra_id)) if infra_id in store.list_infrastructures() else 0
        finally:
            store.close()

    def phases(self, pid: int, events_before: int) -> dict[str, int]:
        """The phases a kill caught: phase -> nodes in it (0 for a phase of the whole pass)."""
        infra_id = self.infra_id
        if infra_id is None:
            return {"starting": 0}
        live = {i.tags.get(NODE_TAG) for i in self.live()
                if i.tags.get(INFRA_TAG) == infra_id}
        store = self.store()
        try:
            if infra_id not in store.list_infrastructures():
                return {"destroyed": 0}
            lease = store.current_lease(infra_id)
            events = store.events(infra_id)[events_before:]
            records = [data for by_id in store.get_instances(infra_id).values()
                       for data in by_id.values()]
        finally:
            store.close()
        held = lease is not None and lease.owner.pid == pid
        named = {name: {e.data.get("node_id") for e in events if e.name == name}
                 for name in ("nodecreating", "nodecreated", "nodedropping", "nodedropped")}
        found: Counter = Counter()
        for record in records:
            node_id, phase = record["node_id"], record["phase"]
            if phase == "failed":
                found["rollback"] += 1
            elif node_id in named["nodedropping"] and node_id not in named["nodedropped"]:
                found["dropping"] += 1
            elif node_id not in named["nodecreating"] or node_id in named["nodecreated"]:
                continue
            elif phase == "intent":
                found["unrecorded" if node_id in live else "intent"] += 1
            elif phase == "created":
                found["booting"] += 1
        # dropped and removed, the event not yet written
        found["dropping"] += len(named["nodedropping"] - named["nodedropped"]
                                 - {record["node_id"] for record in records})
        caught = {phase: count for phase, count in found.items() if count}
        if caught:
            return caught
        if held:
            return {"after" if events else "planning": 0}
        return {"after" if events else "starting": 0}

    # --- one round --------------------------------------------------------------
    def round(self, number: int) -> None:
        self.tally.rounds += 1
        self.last = None
        named: str | None = None
        if self.infra_id is None:
            kind, ran = "build", self.kill("build", "occopus-build", str(self.infra_file))
            if self.infra_id is None:    # killed before it stored the infrastructure
                self.check(number, "build", None)
                return
        else:
            kind = self.rng.choices(["up", "down", "both", "destroy"], [35, 35, 15, 15])[0]
            if kind == "destroy":
                ran = self.kill("destroy", "occopus-destroy", "-i", self.infra_id)
            else:
                named = self.request(kind)
                ran = self.kill(kind, "occopus-maintain", "-i", self.infra_id)
        infra_id = self.infra_id
        assert infra_id is not None
        exists = infra_id in self.infrastructures()
        if ran.killed and exists and self.rng.random() < SECOND_KILL:
            self.kill("again", "occopus-maintain", "-i", infra_id)
            exists = infra_id in self.infrastructures()
        last = "none"
        if exists and (ran.killed or kind != "destroy"):
            last = ("destroy" if kind == "destroy" and self.rng.random() < 0.5 else "maintain")
            final = self.last = self.run(f"occopus-{last}", "-i", infra_id)
            self.tally.failing_now = 0 if final.code == 0 else self.tally.failing_now + 1
            if final.code != 0:
                self.tally.pass_failures += 1
                self.problem(f"round {number}: the last pass (occopus-{last}) exited "
                             f"{final.code}: {final.stderr.strip()[-1500:]}")
        if infra_id not in self.infrastructures():
            self.infra_id = None
        self.check(number, kind, infra_id, named)
        if self.verbose:
            print(f"  round {number}: {kind}, killed: {ran.killed}, last pass: {last}",
                  flush=True)

    def request(self, kind: str) -> str | None:
        """occopus-scale requests for a round of `kind`; the node id named, if any."""
        assert self.infra_id is not None
        limits = {name: (low, high) for name, low, high, _ in NODES}
        can_grow = [n for n in limits if self.targets[n] < limits[n][1]]
        can_shrink = [n for n in limits if self.targets[n] > limits[n][0]]
        named = None
        grow = shrink = None
        if kind in ("up", "both") and can_grow:
            grow = self.rng.choice(can_grow)
        if kind in ("down", "both") and can_shrink:
            shrink = self.rng.choice([n for n in can_shrink if n != grow] or [None])
        if grow:
            count = self.rng.randint(1, min(3, limits[grow][1] - self.targets[grow]))
            self.scale(grow, "-c", str(count))
            self.targets[grow] += count
        if shrink:
            room = self.targets[shrink] - limits[shrink][0]
            how = self.rng.choice(["count", "set", "named"])
            if how == "named":
                ids = self.node_ids(shrink)
                named = self.rng.choice(ids) if ids else None
            if named:
                self.scale(shrink, "-f", named)
                self.targets[shrink] -= 1
                self.tally.named_asked += 1
            elif how == "set":
                target = self.rng.randint(limits[shrink][0], self.targets[shrink] - 1)
                self.scale(shrink, "-s", str(target))
                self.targets[shrink] = target
            else:
                count = self.rng.randint(1, min(3, room))
                self.scale(shrink, "-c", str(-count))
                self.targets[shrink] -= count
        return named

    def scale(self, node: str, *change: str) -> None:
        assert self.infra_id is not None
        self.must(self.run("occopus-scale", "-i", self.infra_id, "-n", node, *change))

    def node_ids(self, node: str) -> list[str]:
        store = self.store()
        try:
            return sorted(store.get_instances(self.infra_id).get(node, {}))
        finally:
            store.close()

    # --- checking ---------------------------------------------------------------
    def check(self, number: int, kind: str, infra_id: str | None,
              named: str | None = None) -> None:
        """Orphans and duplicates over all the cloud holds; live counts of the infrastructure."""
        live = self.live()
        store = self.store()
        try:
            owned = {(infra, node_id) for infra in store.list_infrastructures()
                     for by_id in store.get_instances(infra).values() for node_id in by_id}
            stored_targets = ({name: store.get_target_count(infra_id, name) for name, *_ in NODES}
                              if self.infra_id else {})
        finally:
            store.close()
        keys = Counter((i.tags.get(INFRA_TAG), i.tags.get(NODE_TAG)) for i in live)
        orphans = [key for key in keys if key not in owned]
        duplicates = sum(count - 1 for count in keys.values())
        unbacked = [key for key in owned if key not in keys]
        self.tally.orphans += len(orphans)
        self.tally.duplicates += duplicates
        self.tally.unbacked += len(unbacked)
        idle = Counter(i.state for i in live if i.state != "running")
        self.tally.not_running += sum(idle.values())
        if orphans or duplicates or unbacked or idle:
            self.problem(f"round {number} ({kind}): {len(orphans)} orphans {orphans[:3]}, "
                         f"{duplicates} duplicates, {len(unbacked)} records without an "
                         f"instance {unbacked[:3]}, not running: {dict(idle) or 0}")
        if self.infra_id is not None:
            counts = Counter(i.tags.get(NAME_TAG) for i in live
                             if i.tags.get(INFRA_TAG) == self.infra_id)
            wrong = {name: (counts[name], target, stored_targets.get(name))
                     for name, target in self.targets.items()
                     if counts[name] != target or stored_targets.get(name) != target}
            if wrong:
                self.tally.count_misses += 1
                self.problem(f"round {number} ({kind}): node types whose (live, target, "
                             f"stored target) differ: {wrong}")
            if named is not None:
                if any(i.tags.get(NODE_TAG) == named for i in live):
                    self.tally.named_kept += 1
                    if self.verbose:
                        print(f"    the instance {named} named by a destroy request is still "
                              "there (the kill came after its request was consumed)")
        elif infra_id is not None:
            left = [i.id for i in live if i.tags.get(INFRA_TAG) == infra_id]
            if left:     # counted as orphans too: no record owns them
                self.problem(f"round {number}: destroyed infrastructure {infra_id} still has "
                             f"{len(left)} live instances")

    # --- calibration --------------------------------------------------------------
    def calibrate(self) -> None:
        """Time each kind of command once, uncut, with the faults the killed ones meet."""
        self.faults(True)
        try:
            self._calibrate()
        finally:
            self.faults(False)

    def _calibrate(self) -> None:
        build = self.must(self.run("occopus-build", str(self.infra_file)))
        self.infra_id = build.stdout.strip().splitlines()[-1]
        self.targets = {node: low for node, low, *_ in NODES}
        self.learn("build", build)
        self.learn("again", build)          # a pass after a kill: up to a build
        self.check(0, "calibration", self.infra_id)
        for kind, changes in (("up", (("app", 3), ("front", 1))),
                              ("down", (("app", -3), ("front", -1)))):
            for node, change in changes:
                self.scale(node, "-c", str(change))
                self.targets[node] += change
            self.learn(kind, self.must(self.run("occopus-maintain", "-i", self.infra_id)))
            self.check(0, "calibration", self.infra_id)
        self.durations["both"] = tuple(a + b for a, b in zip(self.durations["up"],
                                                              self.durations["down"]))
        infra_id = self.infra_id
        self.learn("destroy", self.must(self.run("occopus-destroy", "-i", infra_id)))
        self.infra_id = None
        self.check(0, "calibration", infra_id)

    def finish(self) -> tuple[int, int]:
        """Destroy what is left; (live instances simcloud still holds, infrastructures stored)."""
        if self.infra_id is not None:
            ran = self.run("occopus-destroy", "-i", self.infra_id)
            if ran.code != 0:
                self.problem(f"the final destroy exited {ran.code}: {ran.stderr[-1500:]}")
        return len(self.live()), len(self.infrastructures())


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(chaos: Chaos, wanted: int, wall: float, left: tuple[int, int], crashes: int) -> bool:
    tally = chaos.tally
    kills = sum(tally.kills.values())
    print(f"{tally.rounds} rounds, {kills} kills: "
          + ", ".join(f"{kind} {tally.kills[kind]}"
                      for kind in ("build", "up", "down", "both", "destroy", "again")
                      if tally.kills[kind])
          + "   (up/down/both: occopus-maintain after occopus-scale requests; again: a second "
            "maintain killed before the last pass)")
    missed = sum(tally.finished_first.values())
    print(f"  commands that finished before their kill: {missed} "
          f"({', '.join(f'{k} {n}' for k, n in sorted(tally.finished_first.items())) or '-'})")
    print("  kill moments drawn: " + ", ".join(f"{mode} {tally.modes[mode]}"
                                               for mode, _ in MODES))
    print("  kills by phase (kills that caught it / nodes caught in it):")
    for phase, label in PHASES:
        nodes = f"  {tally.phase_nodes[phase]:4d} nodes" if phase in NODE_PHASES else ""
        print(f"    {label:<48} {tally.phase_kills[phase]:4d} kills{nodes}")
    if tally.named_asked:
        print(f"  destroy requests naming a node id: {tally.named_asked}, the named instance "
              f"kept instead of another: {tally.named_kept} (a kill after the request was "
              "consumed; not a target)")
    checks = [
        (f"kills {kills}", f"target >= {wanted}", kills >= wanted),
        (f"orphans {tally.orphans}", "target 0", tally.orphans == 0),
        (f"duplicates {tally.duplicates}", "target 0", tally.duplicates == 0),
        (f"records without a live instance {tally.unbacked}", "target 0", tally.unbacked == 0),
        (f"rounds with a node type off its target {tally.count_misses}", "target 0",
         tally.count_misses == 0),
        (f"last passes that failed {tally.pass_failures}", "target 0", tally.pass_failures == 0),
        (f"live instances not running after the last pass {tally.not_running}", "target 0",
         tally.not_running == 0),
        (f"crash logs {crashes}", "target 0", crashes == 0),
        (f"after the final destroy: live instances {left[0]}, infrastructures {left[1]}",
         "target 0 and 0", left == (0, 0)),
    ]
    ok = True
    for figure, target, passed in checks:
        print(f"  {figure} ({target}) {verdict(passed)}")
        ok = ok and passed
    print(f"  wall {wall:.0f} s ({wall / max(1, tally.rounds):.1f} s a round); expected "
          "durations at the end (whole / from the first step): " + ", ".join(
              f"{k} {v[0]:.1f}/{v[1]:.1f} s" for k, v in chaos.durations.items())
          + f"; load average now {load_average()}", flush=True)
    return ok


def load_average() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int,
                        help=f"kills to make, one a round (default {DEFAULT_ROUNDS}); a "
                             "command that ends before its kill makes a round without one")
    parser.add_argument("--seed", type=int, help="for a reproducible run (default: random)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a short smoke run: {QUICK_ROUNDS} rounds")
    parser.add_argument("--cloud", choices=("simcloud", "docker"), default="simcloud",
                        help="where the nodes are: a simcloud server of the run's own (with "
                             "faults), or busybox containers on the project's Docker engine")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per kill and round")
    args = parser.parse_args(argv)
    if not Path(sys.executable).with_name("occopus-build").exists():
        raise SystemExit("run with the api environment: env/api/bin/python bench/chaos.py "
                         "(./occo-dev reset-env api creates it)")
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    rng = random.Random(seed)
    user_id = "chaos@example.org"
    cloud: SimCloud | DockerEngine
    if args.cloud == "docker":
        user_id = f"chaos-{rng.randrange(1 << 32):08x}-{os.getpid()}@example.org"
        cloud = DockerEngine(owner=user_id)
    else:
        cloud = SimCloud(latency=LATENCY, boot_time=BOOT_TIME, error_rate=ERROR_RATE,
                         ghost_rate=GHOST_RATE, seed=rng.randrange(1 << 30))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))     # clean up as on Ctrl+C
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="occo-chaos-") as folder:
        chaos = Chaos(Path(folder), rng, args.verbose, cloud, user_id)
        try:
            chaos.start()
            print(f"chaos: {rounds} rounds, seed {seed}; {cloud.describe()}; nodes " + ", ".join(
                f"{name} {low}-{high}" + (f" (after {'+'.join(waits)})" if waits else "")
                for name, low, high, waits in NODES) + f"; load average {load_average()}",
                flush=True)
            chaos.calibrate()
            number = 0
            while sum(chaos.tally.kills.values()) < rounds and chaos.tally.failing_now < GIVE_UP:
                number += 1
                chaos.round(number)
                if not args.verbose and number % 10 == 0:
                    tally = chaos.tally
                    print(f"  {number} rounds, {sum(tally.kills.values())} kills, "
                          f"{tally.orphans} orphans, {tally.duplicates} duplicates, "
                          f"{time.monotonic() - started:.0f} s", flush=True)
            if chaos.tally.failing_now >= GIVE_UP:
                print(f"  !! stopped: {GIVE_UP} last passes in a row failed, the infrastructure "
                      "no longer converges", flush=True)
            left = chaos.finish()
            crashes = len(list(chaos.logs.glob("*.log"))) if chaos.logs.exists() else 0
            for log in sorted(chaos.logs.glob("*.log"))[:3] if crashes else ():
                print(f"  crash log {log.name}:\n{log.read_text()[-1500:]}")
        finally:
            chaos.close()
        ok = report(chaos, rounds, time.monotonic() - started, left, crashes)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
