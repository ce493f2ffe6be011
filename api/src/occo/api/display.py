"""What the commands show: live progress while a pass runs, then tables of nodes.

Progress goes to stderr, so that stdout keeps what scripts read (the
infrastructure id as the last line of `occopus-build`, or one JSON document
with `--json`). On a terminal it is a table redrawn in place, one row per
node instance with its step and elapsed time; otherwise (a pipe, a log file,
CI) it is one plain line per step change, which stays readable in a log.
"""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from occo.enactor.outcome import NodeRow
from occo.enactor.plan import Plan
from occo.infraprocessor.engine import Step

WAITING = "(waiting)"


def short(node_id: str | None) -> str:
    return node_id[:8] if node_id else "-"


class ProgressDisplay:
    """The engine's `Progress`: `with ProgressDisplay() as progress:` around a pass."""

    def __init__(self, stream: IO[str] | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._rows: dict[tuple[str, str], tuple[Step, float, float]] = {}
        self._lock = threading.Lock()
        self._began = time.monotonic()
        self._live: Live | None = None

    def on_node(self, node_name: str, node_id: str | None, step: Step, elapsed: float) -> None:
        key = (node_name, node_id or WAITING)
        with self._lock:
            if node_id is not None:
                self._rows.pop((node_name, WAITING), None)
            self._rows[key] = (step, elapsed, time.monotonic())
        if not self.live:
            print(f"[{time.monotonic() - self._began:7.1f}s] {node_name:<16} {short(node_id):<8} "
                  f"{step} ({elapsed:.1f}s)", file=self.stream, flush=True)

    def _table(self) -> Table:
        table = Table(title="progress", title_justify="left", expand=False)
        for column in ("node", "id", "step", "time"):
            table.add_column(column)
        now = time.monotonic()
        with self._lock:
            rows = sorted(self._rows.items())
        for (name, node_id), (step, elapsed, seen) in rows:
            running = step in (Step.WAITING, Step.CREATING, Step.BOOTING, Step.DROPPING)
            table.add_row(name, short(None if node_id == WAITING else node_id), str(step),
                          f"{elapsed + (now - seen if running else 0):.1f}s")
        return table

    def __enter__(self) -> ProgressDisplay:
        if self.live:
            self._live = Live(get_renderable=self._table, console=Console(file=self.stream),
                              refresh_per_second=4, transient=True)
            self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def print_rows(rows: Sequence[NodeRow], *, title: str, stream: IO[str] | None = None) -> None:
    """The node table: one row per instance with its outcome, state and addresses."""
    table = Table(title=title, title_justify="left")
    for column in ("node", "node id", "outcome", "state", "addresses", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:     # as Text: a cloud's words ("[endpoint] ... '[ami-1]'") are no markup
        table.add_row(*map(Text, (row.node_name, row.node_id or "-", row.outcome,
                                  row.state or "-", " ".join(row.addresses) or "-",
                                  row.reason or "")))
    _console(stream).print(table)


def print_plan(plan: Plan, *, stream: IO[str] | None = None) -> None:
    lines = [f"plan for infrastructure {plan.infra_id}:"]
    lines += [f"  {line}" for line in plan.describe()]
    lines += [f"  note: {message}" for message in plan.messages]
    _console(stream).print("\n".join(lines), markup=False, highlight=False)


def _console(stream: IO[str] | None) -> Console:
    # wide enough for a node id and some addresses when stdout is a pipe
    target = stream or sys.stdout
    return Console(file=target, width=None if target.isatty() else 160)
