#!/usr/bin/env python3
"""occo-dev deploy to 1, 10 and 20 servers at once, and the roll-back of a failed update;
prints figures, asserts nothing.

Run from the repository root, as root, with the dev environment's python:
    env/dev/bin/python bench/deploy.py [--sizes 1,10,20] [--jobs 20]

Everything happens in a fresh copy of the working tree (tests/support.py): it is packaged,
published to its private index and given a Docker engine with occopus/debian (from the
checkout's cache when the tool tests built it). Its green test run is recorded as
`./occo-dev test` would. For each size, that many fresh machines (containers reached over
SSH) are started, then the copy's occo-api is deployed to all of them at once: the wall time
of the whole command, and the slowest host's. Every machine is new, without a pip cache,
so each figure is a cold install over the forwarded index. Then the same deploy again,
which has nothing to change. Last, on the largest size's machines: api is bumped to a release whose
service exits at start, and deployed with --force; each host builds and checks it, switches,
sees the service fail, and rolls back. That deploy's wall time is the time to roll back a
failed update.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "dev")]

from occodev.machines import Machines, share_image_cache, ssh_config  # noqa: E402
from occodev.repo import Repo  # noqa: E402
from occodev.tested import record  # noqa: E402
from tests.support import BROKEN_SERVICE, RepoCopy, free_port  # noqa: E402

HOST_SECONDS = re.compile(r"\(([\d.]+) s\)")


def occo_dev(copy: RepoCopy, *args: str) -> subprocess.CompletedProcess:
    result = copy.occo_dev(*args)
    if result.returncode != 0 and args[0] != "deploy":
        sys.exit(f"occo-dev {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


def prepare(copy: RepoCopy) -> None:
    share_image_cache(ROOT, copy.root)
    for args in (["package", "--all"], ["index", "serve", "--port", str(free_port())],
                 ["upload", "--all"], ["docker", "start"], ["docker", "image"]):
        print(f"  occo-dev {' '.join(args)}", flush=True)
        occo_dev(copy, *args)
    record(Repo.load(copy.root))


def login(folder: Path) -> tuple[Path, str]:
    """A key and an ssh configuration that logs in with it: (the configuration, its public
    key)."""
    key = folder / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    config = folder / "ssh_config"
    config.write_text(ssh_config(key))
    return config, key.with_suffix(".pub").read_text()


def deploy(copy: RepoCopy, config: Path, hosts: list[str], jobs: int,
           *extra: str) -> tuple[float, float, str]:
    started = time.perf_counter()
    result = occo_dev(copy, "deploy", "--ssh-config", str(config), "--jobs", str(jobs),
                      *extra, *hosts)
    wall = time.perf_counter() - started
    slowest = max((float(s) for s in HOST_SECONDS.findall(result.stdout)), default=0.0)
    return wall, slowest, result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,20")
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/deploy.py needs root (a Docker engine, debootstrap)")
    sizes = [int(size) for size in args.sizes.split(",")]
    copy = RepoCopy()
    machines: list[str] = []
    try:
        print("preparing a copy of the working tree:", flush=True)
        prepare(copy)
        engine = Machines(copy.root)
        with tempfile.TemporaryDirectory() as scratch:
            config, public = login(Path(scratch))
            addresses: list[str] = []
            for size in sizes:
                for container in machines:
                    engine.remove(container)
                with ThreadPoolExecutor(8) as pool:
                    made = list(pool.map(lambda _: engine.start(public), range(size)))
                machines = [machine.container for machine in made]
                addresses = [machine.address for machine in made]
                wall, slowest, summary = deploy(copy, config, addresses, args.jobs)
                print(f"deploy to {size:>2} fresh machine(s): {wall:6.1f} s wall, slowest host "
                      f"{slowest:5.1f} s ({summary})", flush=True)
            wall, _, summary = deploy(copy, config, addresses, args.jobs)
            print(f"deploy again, nothing to change, {len(addresses)} machine(s): {wall:6.1f} s "
                  f"({summary})", flush=True)
            service = copy.root / BROKEN_SERVICE[0]
            text = service.read_text()
            service.write_text(text.replace(*BROKEN_SERVICE[1:]))
            for step in (["bump", "api", "patch"], ["package", "api"], ["upload", "api"]):
                occo_dev(copy, *step)
            service.write_text(text)
            wall, slowest, summary = deploy(copy, config, addresses, args.jobs, "--force")
            print(f"a failed update rolled back on {len(addresses)} machine(s): {wall:6.1f} s "
                  f"wall, slowest host {slowest:5.1f} s ({summary})", flush=True)
    finally:
        for container in machines:
            Machines(copy.root).remove(container)
        copy.occo_dev("docker", "stop")
        copy.cleanup()


if __name__ == "__main__":
    main()
