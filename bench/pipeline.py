#!/usr/bin/env python3
"""Times the build-and-publish pipeline; prints figures, asserts nothing.

Run from the repository root with the dev environment's python:
    env/dev/bin/python bench/pipeline.py

Each figure comes from a fresh copy of the working tree (see tests/support.py)
with an empty third-party wheel cache; pip's own download cache stays warm, as
on a developer's machine. The reference is the original Occopus way: per
component, one after another, a throwaway virtualenv and `pip wheel .` into the
wheelhouse (the siblings found through --find-links, since they are not on any
public index).
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "dev")]

from occodev.graph import build_graph  # noqa: E402
from occodev.repo import Repo  # noqa: E402
from tests.support import RepoCopy, fresh_venv, free_port, isolated_pip_env  # noqa: E402

TARGETS = {"no-op package --all": 3.0, "fresh install from the local index": 20.0}


def timed(label: str, action, results: dict[str, float]) -> None:
    started = time.perf_counter()
    action()
    results[label] = time.perf_counter() - started
    print(f"  {label:<42} {results[label]:7.2f} s", flush=True)


def occo_dev(copy: RepoCopy, *args: str) -> None:
    result = copy.occo_dev(*args)
    if result.returncode != 0:
        sys.exit(f"occo-dev {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def original_way(copy: RepoCopy) -> None:
    repo = Repo.load(copy.root)
    houses = []
    for name in build_graph(repo).order:
        component = repo.components[name]
        house = component.path / "wheelhouse-original"
        with tempfile.TemporaryDirectory() as scratch:
            venv = fresh_venv(Path(scratch))
            links = [arg for h in houses for arg in ("--find-links", str(h))]
            subprocess.run([str(venv / "bin" / "pip"), "wheel", "--quiet", "-w", str(house),
                            *links, str(component.path)], check=True, env=copy.env(),
                           capture_output=True)
        houses.append(house)


def main() -> None:
    results: dict[str, float] = {}
    copy = RepoCopy(share_wheels=False)
    try:
        print("occo-dev pipeline, 8 components:")
        timed("cold package --all (warm pip cache)", lambda: occo_dev(copy, "package", "--all"), results)
        timed("no-op package --all", lambda: occo_dev(copy, "package", "--all"), results)
        (copy.root / "api/src/occo/api/_bench_change.py").write_text("CHANGED = True\n")
        timed("rebuild after a change in one leaf (api)", lambda: occo_dev(copy, "package", "--all"), results)
        occo_dev(copy, "index", "serve", "--port", str(free_port()))
        timed("upload of everything", lambda: occo_dev(copy, "upload", "--all"), results)
        url = copy.occo_dev("index", "status").stdout.split(" at ")[1].split()[0]

        def install() -> None:
            with tempfile.TemporaryDirectory() as scratch:
                venv = fresh_venv(Path(scratch))
                subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--index-url",
                                f"{url}simple/", "occo-api"], env=isolated_pip_env(), check=True)
        timed("fresh install from the local index", install, results)
        print("reference, the original way:")
        timed("venv + pip wheel per component, serially", lambda: original_way(copy), results)
    finally:
        copy.cleanup()
    print("targets:")
    for label, limit in TARGETS.items():
        verdict = "met" if results[label] < limit else "MISSED"
        print(f"  {label:<42} < {limit:5.1f} s  {verdict}")
    cold, original = results["cold package --all (warm pip cache)"], results[
        "venv + pip wheel per component, serially"]
    print(f"  {'cold build faster than the original way':<42} {original / cold:5.1f}x  "
          f"{'met' if cold < original else 'MISSED'}")


if __name__ == "__main__":
    main()
