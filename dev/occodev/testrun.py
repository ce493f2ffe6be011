"""Running test suites with nose2 and adding up their counts.

nose2 prints unittest's own summary and exits 0 when no test ran, so each run
writes a junit-xml report and the counts are read from it. The closing line is
`N passed, N failed, N skipped`; zero tests in all is an error. Each suite's line
also gives its wall time and its slowest tests, read from the same report, so a
CI log says where the time goes.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from .errors import DevError


@dataclass(frozen=True)
class Suite:
    """A folder of tests, run as the package `tests` from `top` with `python`."""

    name: str
    python: Path
    top: Path

    @property
    def start(self) -> Path:
        return self.top / "tests"


@dataclass(frozen=True)
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.passed + other.passed, self.failed + other.failed,
                      self.skipped + other.skipped)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped

    def line(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def counts_from_junit(path: Path) -> Counts:
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = failed = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", suite.get("skips", 0)))
    return Counts(tests - failed - skipped, failed, skipped)


def slowest_from_junit(path: Path, count: int) -> list[tuple[float, str]]:
    """The `count` longest test cases of a report, as (seconds, class.name), longest first."""
    cases = ElementTree.parse(path).getroot().iter("testcase")
    timed = [(float(case.get("time", 0)), f"{case.get('classname')}.{case.get('name')}")
             for case in cases]
    return sorted(timed, reverse=True)[:count]


def run_suite(suite: Suite, verbose: bool = False, output: int | None = None) -> Counts:
    """Run one suite, its output streaming to `output` (the terminal); return its counts."""
    if not suite.start.is_dir():
        raise DevError(f"{suite.name}: no tests folder at {suite.start}")
    say = (lambda text: None) if output is not None else (lambda text: print(text, flush=True))
    say(f"== {suite.name}")
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "junit.xml"
        cmd = [str(suite.python), "-m", "nose2", "--start-dir", str(suite.start),
               "--top-level-directory", str(suite.top),
               "--plugin", "nose2.plugins.junitxml", "--junit-xml",
               "--junit-xml-path", str(report)]
        if verbose:
            cmd.append("--verbose")
        started = time.monotonic()
        result = subprocess.run(cmd, cwd=suite.top, stdin=subprocess.DEVNULL,
                                stdout=output, stderr=output)
        seconds = time.monotonic() - started
        if not report.is_file():
            print(f"{suite.name}: nose2 exited {result.returncode} without a report", file=sys.stderr)
            return Counts(failed=1)
        counts = counts_from_junit(report)
        slowest = slowest_from_junit(report, 5)
    if result.returncode != 0 and counts.failed == 0:
        counts = counts + Counts(failed=1)  # the runner itself failed
    say(f"{suite.name}: {counts.line()} in {seconds:.0f} s; slowest: "
        + ", ".join(f"{name} {took:.0f} s" for took, name in slowest))
    return counts


def run_suites(suites: list[Suite], verbose: bool = False) -> Counts:
    total = Counts()
    for suite in suites:
        total = total + run_suite(suite, verbose)
    return total
