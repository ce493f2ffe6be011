"""What a health check found: one result per thing checked, and the node's report.

A report keeps the results of the checks that ran, in order; checking stops
at the first failure (as the original did), so the last result of a report
that is not ready is the one that failed, and says why.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """One thing checked: `check` is ping, port, url or mysqldb; `target` never holds a password."""

    check: str
    target: str
    passed: bool
    reason: str | None = None     # why it failed, or how a pass was reached where that matters
    method: str | None = None     # how it was checked, where there is a choice (ping)
    # it can never pass, whatever the node does (a value that is no port, a URL that is no
    # URL): the node fails at once instead of after the health check's timeout
    permanent: bool = False

    def __str__(self) -> str:
        text = f"{self.check} {self.target}: {'passed' if self.passed else 'failed'}"
        if self.method:
            text += f" ({self.method})"
        return f"{text}: {self.reason}" if self.reason else text

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "target": self.target, "passed": self.passed,
                "reason": self.reason, "method": self.method, "permanent": self.permanent}


@dataclass(frozen=True)
class HealthReport:
    """The outcome of one node's health check."""

    node_id: str
    address: str | None
    results: tuple[CheckResult, ...]

    @property
    def ready(self) -> bool:
        """Every check that ran passed (a node with nothing to check is ready)."""
        return all(result.passed for result in self.results)

    @property
    def failure(self) -> CheckResult | None:
        """The check that failed, if one did."""
        return next((result for result in self.results if not result.passed), None)

    @property
    def hopeless(self) -> bool:
        """The check that failed can never pass: waiting for the timeout is no use."""
        failure = self.failure
        return failure is not None and failure.permanent

    def __str__(self) -> str:
        failure = self.failure
        return "ready" if failure is None else f"pending: {failure}"

    def to_dict(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "address": self.address, "ready": self.ready,
                "results": [result.to_dict() for result in self.results]}
