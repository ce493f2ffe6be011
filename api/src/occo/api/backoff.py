"""`maintain -c`: backing off from a node whose creates keep failing.

Without it every pass creates the node again, fails, and rolls it back: the
cloud is asked to no end and the output repeats the same failure. After a
pass whose creates of a node all failed, the node is held back for a number
of passes that doubles with each such pass in a row (0, 1, 3, 7, ... passes,
so a try after 1, 2, 4, 8, ... intervals), at most about ten minutes' worth;
a pass that creates one resets it. What waits for the node is held with it.

The count lives in the running command: restarting `maintain -c` tries at
once, which is what someone who restarts it after a fix wants.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from occo.enactor.outcome import PassResult
from occo.infraprocessor.instructions import CreateNodes

MOST_WAITED = 600.0     # seconds: the longest a node is held back


@dataclass
class CreateBackoff:
    """Per node name: failed create passes in a row, and the passes still to hold it for."""

    interval: float                          # seconds between passes
    failures: dict[str, int] = field(default_factory=dict)
    skips_left: dict[str, int] = field(default_factory=dict)
    held_for: dict[str, int] = field(default_factory=dict)   # the passes of the current hold

    def hold(self) -> dict[str, str]:
        """The nodes the coming pass leaves out, with why; call once a pass."""
        held = {}
        for name, left in list(self.skips_left.items()):
            if left <= 0:            # the hold is over: this pass tries the node again
                del self.skips_left[name]
                del self.held_for[name]
                continue
            self.skips_left[name] = left - 1
            held[name] = (f"its creates failed in {self.failures[name]} passes in a row: held "
                          f"back for {self.held_for[name]} pass(es)")
        return held

    def record(self, result: PassResult) -> None:
        """Learn from a pass what was tried: a node created resets, one whose creates all
        failed is held back for longer."""
        tried = {action.node_name for action in result.plan.actions
                 if isinstance(action, CreateNodes)}
        for name in tried:
            outcomes = {row.outcome for row in result.rows if row.node_name == name}
            if "created" in outcomes:
                self.failures.pop(name, None)
                self.skips_left.pop(name, None)
                self.held_for.pop(name, None)
            elif "failed" in outcomes:
                failures = self.failures[name] = self.failures.get(name, 0) + 1
                most = max(1, int(MOST_WAITED / self.interval))
                self.skips_left[name] = self.held_for[name] = min(most, 2 ** (failures - 1) - 1)
