#!/usr/bin/env python3
"""The REST service under load: scale requests at once, and what idle infrastructures cost.

Run from the repository root with the api environment (created by
`./occo-dev reset-env api`), whose `occopus-rest-service` it starts:

    env/api/bin/python bench/rest.py [scale|idle] [--quick] [--interval S]

Each mode starts the real command (next to this interpreter) in a temporary
HOME, with a config file of its own (a SQLite store next to it, `rest:
{interval: ...}`), on a free port of 127.0.0.1, with the token it makes on its
first start, and a simcloud server of its own (no latency, instances ready at
once). The node type `plain` is put straight into the store as
`occopus-import` stores it; its addresses are never contacted (`health_check:
{ping: false}`). Infrastructures are submitted over HTTP, as users do. At the
end the service is sent SIGTERM (it exits 0), simcloud stopped and the folder
removed. Without a mode both run, `scale` first.

- `scale`: one infrastructure whose node `app` may have 1 to 5 instances, built
  (interval 1 s). 100 clients at once (asyncio, a keep-alive connection each, opened
  before the clock starts, speaking just enough HTTP/1.1 that they cost the machine far
  less than the service: httpx spends more on a request than the service does) each send
  20 requests (`--quick`: 5), one after the other, each at random `scaleup/app/1` or
  `scaledown/app`. It prints the latency of the answers (p50, p90, p99, max; target: p99
  under 50 ms), how many got each status code, and the CPU the service and the clients
  used. With 100 requests always in flight, latency is about 100 / throughput: p99 under
  50 ms takes over 2,000 answers a second. Meanwhile and
  afterwards, until the daemon's passes have carried out every request, a
  thread samples every 50 ms `GET /infrastructures/ID?live=false` (the node's
  instance records and `scaling.actual`), the instances simcloud holds, and the
  node's pending requests in the store, read right before and after the GET:
  the largest count seen against the node's max of 5 (target: never above it).
  Records + pending creates - pending destroys is taken only from samples whose
  pending requests did not change during the GET (one carried out meanwhile
  could be counted both as an instance and as pending).
- `idle`: 1,000 infrastructures (`--quick`: 100) of one `plain` node each,
  submitted by 4 clients at once and all built (every instance `ready`),
  attached to the service and maintained every interval (10 s, `--interval`).
  After one more interval to settle, for 60 s (`--quick`: 20 s) nothing is
  asked of the service; it prints the CPU the service process used in that
  window (all its threads, from /proc/PID/stat) as % of one core (target under
  5 %), its resident memory (VmRSS) in MiB, the CPU simcloud used meanwhile,
  and the API calls simcloud answered. Passes made in the window are sampled:
  how many of 20 infrastructures had a pass start in it (`GET
  .../maintenance` `last_pass`, read before and after the window only).

Figures are printed with their targets; nothing is asserted. The first line
says what the machine is doing meanwhile (its load average).
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from occo.compiler import SchemaRegistry, load_node_definitions
from occo.infobroker.store import Store, open_store
from occo.resourcehandler.base import INFRA_TAG
from occo.resourcehandler.simcloud.process import SimCloudProcess

PROG = "occopus-rest-service"
SERVING = re.compile(rf"{PROG}: serving on (http://\S+)")
START_TIMEOUT = 60.0        # seconds the service may take to serve
STOP_TIMEOUT = 90.0         # ... and to exit after SIGTERM
BUILD_TIMEOUT = 900.0       # seconds every submitted infrastructure may take to be ready
REQUEST_TIMEOUT = 120.0

CLIENTS = 100               # scale: concurrent clients, one connection each
REQUESTS, QUICK_REQUESTS = 20, 5
SCALE_INTERVAL = 1.0
SAMPLE_EVERY = 0.05         # seconds between two samples of the node's count
SETTLED_FOR = 3.0           # seconds everything must stay carried out to count as done
SETTLE_TIMEOUT = 60.0
MAX_INSTANCES = 5
TARGET_P99_MS = 50.0

INFRASTRUCTURES, QUICK_INFRASTRUCTURES = 1000, 100
SUBMITTERS = 4
WINDOW, QUICK_WINDOW = 60.0, 20.0
DEFAULT_INTERVAL = 10.0
PASS_SAMPLE = 20
TARGET_CPU = 5.0            # % of one core

DEFINITIONS = """\
'node_def:plain':
  - resource: {{type: simcloud, endpoint: '{url}', image: debian-12}}
    health_check: {{ping: false}}
"""
SCALED = """\
infra_name: bench-scale
nodes:
  - {name: app, type: plain, scaling: {min: 1, max: 5}}
"""
IDLE = """\
infra_name: bench-idle-{number}
nodes:
  - {{name: plain, type: plain}}
"""


# --- the service ----------------------------------------------------------------------

class Service:
    """`occopus-rest-service` in a HOME of its own under `folder`, on the store next to its
    config file."""

    def __init__(self, folder: Path, interval: float) -> None:
        self.home = folder / "home"
        self.home.mkdir(parents=True)
        self.config = folder / "occopus_config.yaml"
        self.config.write_text("store: {backend: sqlite, path: state.db}\n"
                               f"rest: {{interval: {interval:g}}}\n")
        self.state_db = folder / "state.db"
        self.stderr_path = folder / f"{PROG}.err"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.token = ""

    def store(self) -> Store:
        """A connection of the benchmark's own to the service's store (same OS user)."""
        return open_store({"backend": "sqlite", "path": str(self.state_db)}, getpass.getuser())

    def import_definitions(self, cloud: SimCloudProcess) -> None:
        """The `plain` node type on `cloud`, stored as occopus-import stores it."""
        data = yaml.safe_load(DEFINITIONS.format(url=cloud.url))
        definitions = load_node_definitions(data, SchemaRegistry.from_entry_points())
        store = self.store()
        try:
            store.put_node_definitions(definitions)
        finally:
            store.close()

    def start(self) -> None:
        """Start it on a free port; wait until it says it serves, and read its token."""
        script = Path(sys.executable).with_name(PROG)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("OCCOPUS_")}
        env.update(HOME=str(self.home), OCCOPUS_LOG_DIR=str(self.home / "crash-logs"))
        with self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [str(script), "--cfg", str(self.config), "--port", "0"], cwd=self.home,
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + START_TIMEOUT
        while not (found := SERVING.search(self.stderr())):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                raise SystemExit(f"{PROG} did not start; its stderr:\n{self.stderr()}")
            time.sleep(0.05)
        self.url = found.group(1)
        self.token = (self.home / ".occopus" / "rest-token").read_text().split()[0]

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(), trust_env=False,
                            timeout=REQUEST_TIMEOUT)

    def async_client(self, connections: int, **options: Any) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections,
                              max_keepalive_connections=connections)
        return httpx.AsyncClient(base_url=self.url, headers=self.headers(), trust_env=False,
                                 timeout=REQUEST_TIMEOUT, limits=limits, **options)

    def stop(self) -> str:
        """SIGTERM and wait: what it did (its exit code and how long it took)."""
        if self.process is None or self.process.poll() is not None:
            return "not running"
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return f"still running {STOP_TIMEOUT:g} s after SIGTERM: killed"
        said = f"SIGTERM -> exit {code} in {time.monotonic() - started:.1f} s"
        logs = sorted((self.home / "crash-logs").glob("*"))
        if logs:
            said += f"; !! {len(logs)} crash log(s), the first:\n{logs[0].read_text()}"
        if code != 0:
            said += "; its stderr ends:\n" + "\n".join(self.stderr().splitlines()[-10:])
        return said


# --- /proc ------------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a whole process (every thread of it) so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS      # utime, stime


def memory_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024               # kB
    return math.nan


def child_with(marker: str) -> int:
    """The pid of this process's child whose command line holds `marker`."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            command = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2:].split()[1])
        if parent == os.getpid() and marker in command.decode(errors="replace"):
            return int(entry.name)
    raise SystemExit(f"no child process runs with {marker!r}")


# --- shared -----------------------------------------------------------------------------

def machine() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"machine: {os.cpu_count()} cores, load average {load}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def percentile(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)]


def instance_states(shown: dict[str, Any]) -> list[str]:
    """Every instance's state in a `GET /infrastructures/ID` answer."""
    return [instance["state"] for node in shown.values()
            for instance in node["instances"].values()]


async def submit(client: httpx.AsyncClient, text: str) -> str:
    answer = await client.post("/infrastructures/", content=text)
    if answer.status_code != 201:
        raise SystemExit(f"submitting answered {answer.status_code}: {answer.text[:500]}")
    return answer.json()["infraid"]


async def wait_ready(client: httpx.AsyncClient, ids: Sequence[str], *, at_once: int,
                     deadline: float = BUILD_TIMEOUT) -> None:
    """Until every instance of every infrastructure is `ready` (read from the records:
    `?live=false`); only those not yet seen ready are asked again."""
    waiting = list(ids)
    gate = asyncio.Semaphore(at_once)
    end = time.monotonic() + deadline

    async def ready(infra_id: str) -> bool:
        async with gate:
            answer = await client.get(f"/infrastructures/{infra_id}", params={"live": "false"})
        if answer.status_code != 200:
            raise SystemExit(f"GET /infrastructures/{infra_id} answered "
                             f"{answer.status_code}: {answer.text[:500]}")
        states = instance_states(answer.json())
        return bool(states) and all(state == "ready" for state in states)

    while waiting:
        done = await asyncio.gather(*(ready(infra_id) for infra_id in waiting))
        waiting = [infra_id for infra_id, ok in zip(waiting, done) if not ok]
        if waiting and time.monotonic() > end:
            raise SystemExit(f"{len(waiting)} of {len(ids)} infrastructures are not ready "
                             f"after {deadline:g} s")
        if waiting:
            await asyncio.sleep(0.5)


# --- scale ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    """The node `app` at one moment."""

    records: int            # instance records (GET ...?live=false)
    actual: int             # its scaling.actual
    target: int             # its scaling.target
    creates: int            # pending, read right after the GET
    destroys: int
    steady: bool            # the pending requests were the same right before the GET
    live: int               # instances simcloud holds that are not terminated
    ready: bool             # every instance recorded ready

    @property
    def planned(self) -> int:
        """What the node comes to once the pending requests are carried out."""
        return self.records + self.creates - self.destroys

    @property
    def settled(self) -> bool:
        return (not self.creates and not self.destroys and self.ready
                and self.records == self.actual == self.target == self.live)


class Sampler(threading.Thread):
    """Samples the node every `SAMPLE_EVERY` seconds until stopped, with clients and a store
    connection of its own (a connection belongs to its thread)."""

    def __init__(self, service: Service, cloud: SimCloudProcess, infra_id: str) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.service = service
        self.cloud_url = cloud.url
        self.infra_id = infra_id
        self.samples: list[tuple[float, Sample]] = []
        self.failures: Counter[str] = Counter()
        self.halt = threading.Event()

    def run(self) -> None:
        store = self.service.store()
        try:
            with self.service.client() as client, \
                    httpx.Client(base_url=self.cloud_url, trust_env=False,
                                 timeout=REQUEST_TIMEOUT) as cloud:
                while not self.halt.is_set():
                    self.take(client, cloud, store)
                    self.halt.wait(SAMPLE_EVERY)
        finally:
            store.close()

    def take(self, client: httpx.Client, cloud: httpx.Client, store: Store) -> None:
        before = store.pending_scaling(self.infra_id, "app")
        answer = client.get(f"/infrastructures/{self.infra_id}", params={"live": "false"})
        pending = store.pending_scaling(self.infra_id, "app")
        held = cloud.get("/instances", params={f"tag.{INFRA_TAG}": self.infra_id})
        for what, got in (("GET /infrastructures/ID", answer), ("simcloud", held)):
            if got.status_code != 200:
                self.failures[f"{what} {got.status_code}"] += 1
                return
        node = answer.json()["app"]
        states = [instance["state"] for instance in node["instances"].values()]
        live = [item for item in held.json()["instances"] if item["state"] != "terminated"]
        self.samples.append((time.monotonic(), Sample(
            len(states), node["scaling"]["actual"], node["scaling"]["target"],
            pending.create, pending.destroys, pending == before, len(live),
            all(state == "ready" for state in states))))

    def settled_since(self) -> float | None:
        """Since when (monotonic) every sample showed the requests carried out."""
        since = None
        for moment, sample in reversed(self.samples):
            if not sample.settled:
                break
            since = moment
        return since


@dataclass(frozen=True)
class Answers:
    """What the scale requests got, and what answering them cost."""

    latencies: list[float]          # ms, one a request
    codes: Counter[int]
    accepted: Counter[str]          # requests accepted, by route
    wall: float                     # seconds from the first request to the last answer
    service_cpu: float              # seconds of CPU the service used meanwhile
    bench_cpu: float                # ... and this benchmark's process


class Connection:
    """One keep-alive HTTP/1.1 connection that sends bodiless POSTs and reads answers with a
    Content-Length, as uvicorn gives them: just enough HTTP for the load, so that the clients
    cost a small part of what the service spends (httpx spends more on a request than the
    service does, and both share the machine's cores)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 authority: str, token: str) -> None:
        self.reader, self.writer = reader, writer
        self.head = (f"Host: {authority}\r\nAuthorization: Bearer {token}\r\n"
                     "Content-Length: 0\r\n\r\n").encode()

    @classmethod
    async def open(cls, service: Service) -> Connection:
        url = httpx.URL(service.url)
        reader, writer = await asyncio.open_connection(url.host, url.port)
        return cls(reader, writer, f"{url.host}:{url.port}", service.token)

    async def post(self, path: str) -> tuple[int, bytes]:
        """(status code, body) of `POST path`."""
        self.writer.write(f"POST {path} HTTP/1.1\r\n".encode() + self.head)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        found = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if found is None:
            raise SystemExit(f"an answer without Content-Length: {head[:300]!r}")
        return status, await self.reader.readexactly(int(found.group(1)))

    def close(self) -> None:
        self.writer.close()


async def scale_requests(service: Service, infra_id: str, per_client: int) -> Answers:
    """`CLIENTS` clients at once, each on a connection of its own (opened before the clock
    starts) sending `per_client` requests one after the other."""
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    accepted: Counter[str] = Counter()
    base = f"/infrastructures/{infra_id}"

    async def one_client(connection: Connection, number: int) -> None:
        rng = random.Random(number)
        for _ in range(per_client):
            kind = rng.choice(("scaleup", "scaledown"))
            path = f"{base}/scaleup/app/1" if kind == "scaleup" else f"{base}/scaledown/app"
            started = time.perf_counter()
            status, body = await connection.post(path)
            latencies.append((time.perf_counter() - started) * 1000)
            codes[status] += 1
            if status == 202:
                accepted[kind] += json.loads(body)["accepted"]

    connections = await asyncio.gather(*(Connection.open(service) for _ in range(CLIENTS)))
    try:
        cpu, bench_cpu = cpu_seconds(service.pid), time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(one_client(connection, number)
                               for number, connection in enumerate(connections)))
        wall = time.perf_counter() - started
        cpu, bench_cpu = cpu_seconds(service.pid) - cpu, time.process_time() - bench_cpu
    finally:
        for connection in connections:
            connection.close()
    return Answers(latencies, codes, accepted, wall, cpu, bench_cpu)


async def build_scaled(service: Service) -> str:
    async with service.async_client(1) as client:
        infra_id = await submit(client, SCALED)
        await wait_ready(client, [infra_id], at_once=1)
    return infra_id


def run_scale(folder: Path, cloud: SimCloudProcess, per_client: int) -> None:
    service = Service(folder, SCALE_INTERVAL)
    service.import_definitions(cloud)
    service.start()
    try:
        infra_id = asyncio.run(build_scaled(service))
        sampler = Sampler(service, cloud, infra_id)
        sampler.start()
        try:
            answers = asyncio.run(scale_requests(service, infra_id, per_client))
            answered = time.monotonic()
            while time.monotonic() < answered + SETTLE_TIMEOUT:
                since = sampler.settled_since()
                if since is not None and time.monotonic() - since >= SETTLED_FOR:
                    break
                time.sleep(0.1)
        finally:
            sampler.halt.set()
            sampler.join()
        report_scale(CLIENTS * per_client, answers, sampler, answered)
    finally:
        print(f"  service: {service.stop()}", flush=True)


def report_scale(total: int, answers: Answers, sampler: Sampler, answered: float) -> None:
    ordered = sorted(answers.latencies)
    p50, p90, p99 = (percentile(ordered, share) for share in (50, 90, 99))
    print(f"scale: {total} requests from {CLIENTS} clients at once (a connection each; "
          f"scaleup/app/1 or scaledown/app at random), node app min 1 max {MAX_INSTANCES}, "
          f"interval {SCALE_INTERVAL:g} s")
    print(f"  latency  p50 {p50:.1f} ms   p90 {p90:.1f} ms   p99 {p99:.1f} ms   "
          f"max {ordered[-1]:.1f} ms   target p99 < {TARGET_P99_MS:g} ms: "
          f"{verdict(p99 < TARGET_P99_MS)}")
    wall = answers.wall
    print(f"  answered in {wall:.2f} s ({total / wall:,.0f} requests/s); status codes "
          + ", ".join(f"{code}: {count}" for code, count in sorted(answers.codes.items())))
    print(f"  accepted {answers.accepted['scaleup']} scaleups, "
          f"{answers.accepted['scaledown']} scaledowns")
    print(f"  CPU meanwhile: the service {answers.service_cpu:.2f} s "
          f"({answers.service_cpu / total * 1000:.2f} ms a request), this benchmark's clients "
          f"{answers.bench_cpu:.2f} s, on {os.cpu_count()} cores")
    samples = [sample for _, sample in sampler.samples]
    if not samples:
        print(f"  !! no sample of the node was taken ({dict(sampler.failures)})")
        return
    largest = {"actual": max(sample.actual for sample in samples),
               "instance records": max(sample.records for sample in samples),
               "live on simcloud": max(sample.live for sample in samples)}
    steady = [sample.planned for sample in samples if sample.steady]
    if steady:
        largest["instances + pending creates - pending destroys"] = max(steady)
    print(f"  node count over {len(samples)} samples, largest "
          + ", ".join(f"{what} {count}" for what, count in largest.items())
          + f"   target never above {MAX_INSTANCES}: "
          f"{verdict(max(largest.values()) <= MAX_INSTANCES)}")
    if len(steady) < len(samples):
        print(f"  ({len(samples) - len(steady)} samples leave the pending requests out: they "
              "changed while the GET was answered)")
    if sampler.failures:
        print(f"  !! samples that failed, by status: {dict(sampler.failures)}")
    since = sampler.settled_since()
    last = samples[-1]
    if since is None:
        print(f"  !! not carried out {SETTLE_TIMEOUT:g} s after the last answer: {last}")
    else:
        print(f"  carried out {max(0.0, since - answered):.1f} s after the last answer: "
              f"{last.actual} instances, target {last.target}, nothing pending")


# --- idle -------------------------------------------------------------------------------

async def build_idle(service: Service, count: int) -> tuple[list[str], float, float]:
    """Submit `count` infrastructures, `SUBMITTERS` at once, and wait until all are ready:
    (their ids, seconds submitting, seconds until all ready)."""
    numbers = iter(range(count))
    ids: list[str] = []
    async with service.async_client(SUBMITTERS) as client:
        started = time.perf_counter()

        async def submitter() -> None:
            for number in numbers:
                ids.append(await submit(client, IDLE.format(number=number)))

        await asyncio.gather(*(submitter() for _ in range(SUBMITTERS)))
        submitting = time.perf_counter() - started
        await wait_ready(client, ids, at_once=SUBMITTERS)
        return ids, submitting, time.perf_counter() - started


def last_passes(client: httpx.Client, ids: Sequence[str]) -> dict[str, float | None]:
    passes = {}
    for infra_id in ids:
        answer = client.get(f"/infrastructures/{infra_id}/maintenance")
        answer.raise_for_status()
        passes[infra_id] = answer.json()["last_pass"]
    return passes


def run_idle(folder: Path, cloud: SimCloudProcess, count: int, interval: float,
             window: float) -> None:
    service = Service(folder, interval)
    service.import_definitions(cloud)
    service.start()
    try:
        cloud_pid = child_with(str(cloud.state_file))
        ids, submitting, building = asyncio.run(build_idle(service, count))
        print(f"idle: {count} infrastructures of one node, submitted by {SUBMITTERS} clients "
              f"in {submitting:.1f} s, all ready after {building:.1f} s; interval {interval:g} s",
              flush=True)
        sample = random.Random(0).sample(ids, min(PASS_SAMPLE, len(ids)))
        time.sleep(interval)                                      # the builds' passes end
        with service.client() as client:
            before = last_passes(client, sample)
            calls = cloud.stats()["calls"]
            rss = [memory_mib(service.pid)]
            cloud_rss = [memory_mib(cloud_pid)]
            cpu, cloud_cpu = cpu_seconds(service.pid), cpu_seconds(cloud_pid)
            started = time.monotonic()
            while (left := started + window - time.monotonic()) > 0:
                time.sleep(min(1.0, left))
                rss.append(memory_mib(service.pid))
                cloud_rss.append(memory_mib(cloud_pid))
            cpu, cloud_cpu = cpu_seconds(service.pid) - cpu, cpu_seconds(cloud_pid) - cloud_cpu
            elapsed = time.monotonic() - started
            ended = time.time()
            calls = cloud.stats()["calls"] - calls
            after = last_passes(client, sample)
        share = cpu / elapsed * 100
        print(f"  service CPU  {cpu:.2f} s in {elapsed:.0f} s = {share:.2f} % of one core "
              f"({cpu / elapsed * 60:.2f} s a minute)   target < {TARGET_CPU:g} %: "
              f"{verdict(share < TARGET_CPU)}")
        print(f"  service RSS  {rss[-1]:.1f} MiB at the end (from {rss[0]:.1f}, at most "
              f"{max(rss):.1f} in the window; {memory_mib(service.pid, 'VmHWM'):.1f} at its "
              f"peak since start)")
        print(f"  simcloud     CPU {cloud_cpu:.2f} s = {cloud_cpu / elapsed * 100:.2f} % of one "
              f"core, RSS {cloud_rss[-1]:.1f} MiB; {calls} API calls answered "
              f"({calls / elapsed:.1f} a second)")
        moved = [infra_id for infra_id in sample if after[infra_id] != before[infra_id]]
        ages = [ended - when for when in after.values() if when is not None]
        print(f"  passes       {len(moved)} of {len(sample)} sampled infrastructures had a "
              f"pass start in the window; their last began at most "
              f"{max(ages) if ages else math.nan:.1f} s before its end "
              f"(expected ~{window / interval:.0f} passes each)", flush=True)
    finally:
        print(f"  service: {service.stop()}", flush=True)


# --- main -------------------------------------------------------------------------------

def in_scratch(run: Callable[[Path, SimCloudProcess], None]) -> None:
    """`run` with a folder and a simcloud server of its own, both removed after."""
    folder = Path(tempfile.mkdtemp(prefix="occo-bench-rest-"))
    cloud = SimCloudProcess()
    try:
        cloud.start()
        run(folder, cloud)
    finally:
        cloud.close()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=("scale", "idle"),
                        help="one measurement (default: both)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a fast smoke run: {QUICK_REQUESTS} requests a client, "
                             f"{QUICK_INFRASTRUCTURES} idle infrastructures for "
                             f"{QUICK_WINDOW:g} s")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL,
                        help=f"idle: seconds between two passes (default {DEFAULT_INTERVAL:g})")
    args = parser.parse_args()
    print(machine(), flush=True)
    if args.mode in (None, "scale"):
        per_client = QUICK_REQUESTS if args.quick else REQUESTS
        in_scratch(lambda folder, cloud: run_scale(folder, cloud, per_client))
    if args.mode in (None, "idle"):
        count = QUICK_INFRASTRUCTURES if args.quick else INFRASTRUCTURES
        window = QUICK_WINDOW if args.quick else WINDOW
        in_scratch(lambda folder, cloud: run_idle(folder, cloud, count, args.interval, window))


if __name__ == "__main__":
    main()
