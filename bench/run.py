#!/usr/bin/env python3
"""occopus-run of a trivial command on 1, 50 and 100 SSH hosts: wall time, and its ratio to one
host's.

Run from the repository root, as root, with the api environment (created by
`./occo-dev reset-env api`):

    env/api/bin/python bench/run.py [--sizes 1,50,100] [--repeat 3]

The hosts are the checkout's test hosts (`./occo-dev hosts up N`: network
namespaces with Debian's sshd, left up afterwards as the tests leave them;
`./occo-dev hosts down` removes them). For each size an infrastructure of one
node with that many instances is built on a simcloud server of the
benchmark's own, then its instance records are given the hosts' addresses, as
if its cloud had made them. Each size is run `--repeat` times after a first
run that records the hosts' keys (trust-first-use); the figure is the best and
the median wall time of the whole command as a user starts it (a new process:
interpreter, settings, store, one SSH connection per host, `true` on each),
with the target: under 3 s for 100 hosts. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from occo.infobroker.store import open_store
from occo.resourcehandler.simcloud.process import SimCloudProcess
from occo.util.ssh.testing import test_hosts

TARGET = 3.0            # seconds for 100 hosts
SCRIPTS = Path(sys.executable).parent


def command(name: str, *args: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([str(SCRIPTS / name), *args], env=env, cwd=cwd, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{name} {' '.join(args)} exited {done.returncode}:\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,50,100", help="host counts (default 1,50,100)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs a size (default 3)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"machine: {os.cpu_count()} cores, load average "
          f"{', '.join(f'{load:.2f}' for load in os.getloadavg())}", flush=True)
    started = time.perf_counter()
    hosts = test_hosts(max(sizes))
    print(f"{len(hosts.targets)} test hosts up in {time.perf_counter() - started:.1f} s",
          flush=True)
    folder = Path(tempfile.mkdtemp(prefix="occo-bench-run-"))
    cloud = SimCloudProcess().start()
    try:
        home = folder / "home"
        (home / ".occopus").mkdir(parents=True)
        key = folder / "id"
        key.write_text(hosts.login.private_key)
        key.chmod(0o600)
        (home / ".occopus" / "auth_data.yaml").write_text(
            f"ssh:\n  - type: simcloud\n    auth_data: {{user: {hosts.login.user}, "
            f"private_key_file: '{key}'}}\n")
        config = folder / "occopus_config.yaml"
        config.write_text("store: {backend: sqlite, path: state.db}\n"
                          "ssh: {host_keys: trust-first-use, parallel: 100}\n")
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("OCCOPUS_")} | {"HOME": str(home)}
        nodes = folder / "nodes.yaml"
        nodes.write_text(f"'node_def:plain':\n  - resource: {{type: simcloud, endpoint: "
                         f"'{cloud.url}', image: debian-12}}\n    health_check: {{ping: false}}\n")
        command("occopus-import", "--cfg", str(config), str(nodes), env=env, cwd=folder)
        store = open_store({"backend": "sqlite", "path": str(folder / "state.db")},
                           os.environ.get("USER") or "root")
        one = None
        for size in sizes:
            description = folder / f"size{size}.yaml"
            description.write_text(f"infra_name: bench-run-{size}\nnodes:\n  - {{name: n, type: "
                                   f"plain, scaling: {{min: {size}, max: {size}}}}}\n")
            infra_id = command("occopus-build", "--cfg", str(config), str(description),
                               env=env, cwd=folder).strip().splitlines()[-1]
            for (node_id, doc), target in zip(sorted(store.get_instances(infra_id)["n"].items()),
                                              hosts.targets):
                store.put_instance(infra_id, "n", node_id, {**doc, "addresses": [target.address]})
            run = ["--cfg", str(config), "-i", infra_id, "--", "true"]
            first = time.perf_counter()
            command("occopus-run", *run, env=env, cwd=folder)
            first = time.perf_counter() - first
            walls = []
            for _ in range(args.repeat):
                begun = time.perf_counter()
                command("occopus-run", *run, env=env, cwd=folder)
                walls.append(time.perf_counter() - begun)
            best, median = min(walls), statistics.median(walls)
            one = one or best
            verdict = ""
            if size == 100:
                verdict = f"   target < {TARGET:g} s: {'PASS' if median < TARGET else 'MISS'}"
            print(f"  {size:4d} host(s): best {best:.2f} s, median {median:.2f} s "
                  f"({best / one:.1f}x one host's); first run, recording the keys, "
                  f"{first:.2f} s{verdict}", flush=True)
        store.close()
    finally:
        cloud.close()
        shutil.rmtree(folder, ignore_errors=True)
    print("the test hosts stay up: ./occo-dev hosts down removes them")


if __name__ == "__main__":
    main()
