#!/usr/bin/env python3
"""`./occo-dev vagrant up` on Vagrant's docker provider, cold and warm, and a provision with
nothing to change; prints figures, asserts nothing.

Run from the repository root, as root, with the dev environment's python:
    env/dev/bin/python bench/vagrant.py [--keep-cache]

Everything happens in a fresh copy of the working tree (tests/support.py), owned by an
ordinary user as a developer's checkout is, with a Docker engine of its own:
- cold: the engine has no occopus/debian and there is no cached root file system, so
  the image is built with debootstrap first (with --keep-cache, the checkout's cached
  one is imported instead), then the guest boots and provisions itself;
- warm: after `destroy`, `up` again with the image in the engine: what a developer's
  next `up` costs (the guest's environments are made again, since they went with it);
- provision with nothing to change.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "dev")]

from occodev.machines import share_image_cache  # noqa: E402
from tests.support import RepoCopy  # noqa: E402

OWNER = 1234


def timed(copy: RepoCopy, *args: str) -> float:
    started = time.monotonic()
    result = subprocess.run([str(copy.root / "occo-dev"), "vagrant", *args], cwd=copy.root,
                            env=copy.env(), capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"vagrant {' '.join(args)} failed (exit {result.returncode}):\n"
                 f"{result.stdout[-3000:]}{result.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-cache", action="store_true",
                        help="import the checkout's cached root file system instead of building")
    args = parser.parse_args()
    copy = RepoCopy(share_wheels=False)
    try:
        if args.keep_cache:
            share_image_cache(ROOT, copy.root)
        subprocess.run(["chown", "-R", f"{OWNER}:{OWNER}", str(copy.root)], check=True)
        cold = timed(copy, "up")
        provision = timed(copy, "provision")
        timed(copy, "destroy", "-f")
        warm = timed(copy, "up")
        how = "imported from the cache" if args.keep_cache else "built with debootstrap"
        print(f"vagrant up, cold (image {how}): {cold:.1f} s")
        print(f"vagrant up, warm (image in the engine): {warm:.1f} s")
        print(f"vagrant provision, nothing to change: {provision:.1f} s")
    finally:
        subprocess.run([str(copy.root / "occo-dev"), "vagrant", "destroy", "-f"], cwd=copy.root,
                       env=copy.env(), capture_output=True)
        copy.occo_dev("docker", "stop")
        copy.cleanup()


if __name__ == "__main__":
    main()
