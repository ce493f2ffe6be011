#!/usr/bin/env python3
"""A long fuzz run of the loader, the checker and the compiler.

Run from the repository root with the compiler's environment (it has hypothesis):

    env/compiler/bin/python bench/fuzz.py [--seconds 300] [--seed N]

The same texts as compiler/tests/test_fuzz.py (compiler/tests/fuzzing.py),
tried in batches until the time is up, with a new seed for each batch. It
prints how many inputs were tried, how many reached each stage, and each
failure found (the smallest text hypothesis could shrink it to, and the
exception); the exit code is 1 when anything failed.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compiler"))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from tests.fuzzing import documents, mutated_documents, raw_texts, run_pipeline  # noqa: E402

BATCH = 200


def run_batch(strategy, batch_seed: int, counts: Counter) -> str | None:
    """One hypothesis run; the report of its failure, or None."""
    @seed(batch_seed)
    @settings(max_examples=BATCH, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(text: str) -> None:
        counts["inputs"] += 1
        run_pipeline(text)

    try:
        check()
    except Exception:                    # noqa: BLE001 - a failure is what we look for
        return traceback.format_exc(limit=-6)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=None, help="the first batch's seed")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counts: Counter = Counter()
    failures: list[str] = []
    started = time.monotonic()
    while time.monotonic() - started < args.seconds:
        for name, strategy in (("generated", documents), ("mutated", mutated_documents),
                               ("raw", raw_texts)):
            batch_seed = rng.randrange(2**32)
            report = run_batch(strategy, batch_seed, counts)
            counts[f"{name} batches"] += 1
            if report:
                failures.append(f"--- {name}, seed {batch_seed}\n{report}")
                print(failures[-1], flush=True)
    elapsed = time.monotonic() - started
    print(f"inputs tried: {counts['inputs']} in {elapsed:.0f} s "
          f"({counts['inputs'] / elapsed:.0f}/s); batches: {counts['generated batches']} "
          f"generated, {counts['mutated batches']} mutated, {counts['raw batches']} raw; "
          f"failures found: {len(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
