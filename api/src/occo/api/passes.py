"""Running an enactor pass from a command: Ctrl+C, progress, the result's table and exit code.

The first Ctrl+C cancels the command's token: nothing new starts, what is in flight
finishes or is rolled back, and the state left is consistent (exit 130). A
second Ctrl+C stops at once; the records written before any cloud call let
the next pass recover what was left half-done.
"""
from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from occo.enactor.outcome import PassResult
from occo.infraprocessor.engine import RecoveryReport
from occo.util.cancel import Cancellation

from .cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from .display import print_plan, print_rows


@contextmanager
def cancel_on_interrupt(prog: str) -> Iterator[Cancellation]:
    """`with cancel_on_interrupt(prog) as cancel:` the first SIGINT cancels `cancel`; the
    second interrupts as usual."""
    cancel = Cancellation()

    def interrupted(signum: int, frame: FrameType | None) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        print(f"{prog}: cancelling: starting nothing new, finishing or rolling back what is in "
              "flight (Ctrl+C again to stop at once; the next pass recovers)", file=sys.stderr)
        cancel.cancel()
    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


def run_pass(prog: str, action: Callable[[Cancellation], PassResult]) -> PassResult:
    """`action(cancel)` with Ctrl+C cancelling it."""
    with cancel_on_interrupt(prog) as cancel:
        return action(cancel)


def exit_code(result: PassResult) -> int:
    if result.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_ERROR


def recovery_summary(report: RecoveryReport | None) -> str:
    """What recovery did before the pass, in words; "" when it did nothing.

    Its work is not in the node table (an instance it cleaned up has no row),
    so without this line a pass that dropped what a crash left would say
    "nothing to do".
    """
    if report is None:
        return ""
    parts = [f"{len(report.adopted)} instance(s) made before an interruption adopted"
             if report.adopted else "",
             f"{len(report.removed)} instance(s) left half-done cleaned up"
             if report.removed else "",
             f"{len(report.orphans)} orphan(s) dropped" if report.orphans else ""]
    return ", ".join(part for part in parts if part)


def show(result: PassResult, *, as_json: bool, title: str) -> None:
    """The plan (dry run) or the node table, and what went wrong, on stdout; problems on stderr.

    What it shows was redacted when the result was made (`occo.enactor.outcome`).
    """
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        return
    if result.dry_run:
        print_plan(result.plan)
        return
    for message in result.plan.messages:
        print(message, file=sys.stderr)
    print_rows(result.rows, title=title)
    recovered = recovery_summary(result.recovery)
    if recovered:
        print(f"recovery: {recovered}")
    counts = result.counts()
    print(", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))
          or ("nothing more to do" if recovered else "nothing to do"))
    for problem in result.problems:
        print(f"problem: {problem}", file=sys.stderr)
