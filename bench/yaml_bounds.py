#!/usr/bin/env python3
"""Time and peak memory of refusing hostile YAML: alias bombs, deep nesting, huge files.

Run from the repository root with any component environment (util is enough):

    env/util/bin/python bench/yaml_bounds.py

Each input is loaded in a fresh process with the default bounds
(`occo.util.limits.LoadLimits`); the script prints how long the refusal took,
the process's peak resident memory and the first line of the error. Figures
are printed, never asserted.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def laughs(levels: int) -> str:
    lines = ["infra_name: bomb", "variables:", "  l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"  l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]" for n in range(1, levels)]
    return "\n".join(lines) + "\nnodes: []\n"


def inputs(folder: Path) -> dict[str, Path]:
    files = {
        "billion laughs (9 levels)": laughs(9),
        "alias bomb (30 levels)": laughs(30),
        "nesting 1,000,000 deep": "a: " + "[" * 1_000_000 + "\n",
        "flat list, 15 MiB": "a: [" + "1, " * (5 * 1024 * 1024) + "1]\n",
        "import of /dev/zero through a link": "a: !text_import {url: file://zero}\n",
    }
    paths = {}
    for index, (name, text) in enumerate(files.items()):
        paths[name] = folder / f"input{index}.yaml"
        paths[name].write_text(text)
    (folder / "zero").symlink_to("/dev/zero")
    return paths


def measure(path: str) -> None:
    """In a fresh process: load the file, print the figures as JSON."""
    from occo.util.errors import OccoError
    from occo.util.limits import LoadLimits
    from occo.util.yamlload import load_file

    started = time.perf_counter()
    try:
        load_file(path, limits=LoadLimits(import_paths=(Path("/dev"),)))
        outcome = "loaded"
    except OccoError as error:
        outcome = str(error).splitlines()[0].split(": ", 1)[-1]
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "outcome": outcome}))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, path in inputs(Path(folder)).items():
            result = subprocess.run([sys.executable, __file__, "--measure", str(path)],
                                    capture_output=True, text=True, check=True)
            figures = json.loads(result.stdout)
            print(f"{name:38} {figures['seconds']:7.3f} s {figures['peak_mb']:8.1f} MB  "
                  f"{figures['outcome'][:90]}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        measure(sys.argv[2])
    else:
        main()
