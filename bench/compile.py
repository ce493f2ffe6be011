#!/usr/bin/env python3
"""Validation and compile time, and peak memory, of a large description; store throughput.

Run from the repository root with a component environment that has the
compiler (created by `./occo-dev test` or `./occo-dev reset-env api`):

    env/api/bin/python bench/compile.py

It writes a description of 10,000 nodes and 20,000 dependencies (YAML aliases,
as users write them), then loads, checks and compiles it in a fresh process,
reporting wall time and that process's peak resident memory. Then it runs
bench/store.py with the info-broker environment for the store backends.
Figures are printed, never asserted.
"""
from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODES, EDGES = 10_000, 20_000
TARGETS = {"seconds": 2.0, "peak_mb": 300.0}


def write_description(path: Path, nodes: int, edges: int, seed: int = 7) -> None:
    """A random acyclic description: each edge goes from a node to an earlier one."""
    rng = random.Random(seed)
    lines = ["infra_name: bench", "user_id: bench", "variables: {region: eu, size: small}", "nodes:"]
    for i in range(nodes):
        lines.append(f"  - &n{i} {{name: n{i}, type: t{i % 20}, scaling: {{min: 1, max: 3}}, "
                     f"variables: {{index: {i}}}}}")
    lines.append("dependencies:")
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < edges:
        dependent = rng.randrange(1, nodes)
        pairs.add((dependent, rng.randrange(dependent)))
    lines.extend(f"  - [*n{a}, *n{b}]" for a, b in sorted(pairs))
    path.write_text("\n".join(lines) + "\n")


def measure(path: str) -> None:
    """In a fresh process: load, check and compile; print figures as JSON."""
    from occo.compiler import compile_description
    from occo.util.yamlload import load_file

    started = time.perf_counter()
    data = load_file(path)
    loaded = time.perf_counter()
    static = compile_description(data)
    done = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"load": loaded - started, "check_and_compile": done - loaded,
                      "seconds": done - started, "peak_mb": peak_mb,
                      "levels": len(static.levels), "edges": len(static.dependencies)}))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.yaml"
        write_description(path, NODES, EDGES)
        size_mb = path.stat().st_size / 1e6
        result = subprocess.run([sys.executable, __file__, "--measure", str(path)],
                                capture_output=True, text=True, check=True)
    figures = json.loads(result.stdout)
    print(f"description: {NODES:,} nodes, {figures['edges']:,} dependencies, "
          f"{figures['levels']} levels, {size_mb:.1f} MB of YAML")
    print(f"  load (safe YAML with positions)   {figures['load']:6.2f} s")
    print(f"  check and compile                 {figures['check_and_compile']:6.2f} s")
    for key, unit in (("seconds", "s"), ("peak_mb", "MB")):
        verdict = "met" if figures[key] < TARGETS[key] else "MISSED"
        label = "total" if key == "seconds" else "peak resident memory"
        print(f"  {label:<33} {figures[key]:6.1f} {unit}   target < {TARGETS[key]:.0f} {unit}: {verdict}")
    store_python = ROOT / "env" / "info-broker" / "bin" / "python"
    if store_python.exists():
        print("state store throughput:", flush=True)
        subprocess.run([str(store_python), str(ROOT / "bench" / "store.py")], check=False)
    else:
        print("state store: skipped; create env/info-broker with ./occo-dev reset-env info-broker")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2])
    else:
        main()
