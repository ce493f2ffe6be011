"""`maintain -c`'s output: the whole node table after the first pass, then only what changed.

A pass every ten seconds that prints every instance again buries the one
line that matters. Each later pass prints the rows that changed since the
last pass (a new instance, outcome, state, addresses or reason: the same
failure again is no change), messages and problems the last pass did not
say, and a short line when there is nothing new.
"""
from __future__ import annotations

import sys
from typing import Any

from occo.enactor.outcome import UNCHANGED, NodeRow, PassResult

from .display import print_rows
from .passes import recovery_summary, show

CREATED = "created"


class ChangesPrinter:
    """Shows each pass of one infrastructure, against what the one before showed."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str | None], tuple[Any, ...]] | None = None
        self._problems: set[str] = set()
        self._messages: set[str] = set()

    def show(self, result: PassResult, *, title: str) -> None:
        previous, self._rows = self._rows, {_key(row): _seen(row) for row in result.rows}
        previous_messages, self._messages = self._messages, set(result.plan.messages)
        new_problems = [problem for problem in result.problems if problem not in self._problems]
        self._problems = set(result.problems)
        if previous is None:
            show(result, as_json=False, title=title)
            return
        for message in result.plan.messages:
            if message not in previous_messages:
                print(message, file=sys.stderr)
        changed = [row for row in result.rows if previous.get(_key(row)) != _seen(row)]
        recovered = recovery_summary(result.recovery)
        if changed:
            print_rows(changed, title=f"{title}: what changed")
        if recovered:
            print(f"recovery: {recovered}")
        if not changed and not recovered:
            print(f"{title}: no change ({len(result.rows)} instance(s))")
        for problem in new_problems:
            print(f"problem: {problem}", file=sys.stderr)


def _key(row: NodeRow) -> tuple[str, str | None]:
    return row.node_name, row.node_id


def _seen(row: NodeRow) -> tuple[Any, ...]:
    """What is new if it differs from the last pass: a failure said again in the same words
    is not; an instance created then unchanged in the same state is not either."""
    outcome = "" if row.outcome in (UNCHANGED, CREATED) else row.outcome
    return outcome, row.state, row.addresses, row.reason
