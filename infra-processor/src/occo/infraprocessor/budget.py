"""What one rendering of a template has made and done, bounded in all.

Each checked operation is bounded on its own (`bounds.MAX_VALUE`), but a loop
repeats it: 100,000 rounds that each append a 1,000-character string make
100 M characters, and two nested loops of `range(100000)` run 10^10 rounds
while making nothing. A `Budget` counts, for one rendering, the characters
every checked operation makes (`MAX_MADE`) and the loop rounds and calls it
runs (`MAX_STEPS`), and refuses the operation that would pass either.

A budget belongs to the rendering's Jinja context (its eval context, which
the contexts of blocks share), made when the rendering starts: renderings in
other threads have their own, and nothing outlives the rendering.
"""
from __future__ import annotations

from jinja2.runtime import Context

from .bounds import HINT, MAX_MADE, MAX_STEPS, TemplateTooLarge, refuse

_ATTRIBUTE = "occo_budget"


class Budget:
    """The characters made and the steps (loop rounds, calls, items gone through) so far."""

    __slots__ = ("made", "steps")

    def __init__(self) -> None:
        self.made = 0
        self.steps = 0

    def make(self, size: int, what: str) -> None:
        """Count a value of `size` characters that `what` is about to make; refuse it if
        it is too large on its own or brings the rendering past `MAX_MADE`."""
        if not size:
            return
        refuse(size, what)
        self.made += size
        if self.made > MAX_MADE:
            raise TemplateTooLarge(
                f"{what} would bring what the template has made to {self.made:,} characters, "
                f"more than the {MAX_MADE:,} a template may make in one rendering", hint=HINT)

    def step(self, count: int = 1) -> None:
        """Count `count` loop rounds or calls; refuse them past `MAX_STEPS`."""
        self.steps += count
        if self.steps > MAX_STEPS:
            raise TemplateTooLarge(
                f"the template would run more than the {MAX_STEPS:,} loop rounds and calls "
                "a template may run in one rendering",
                hint="loop over fewer items: a template makes text for a node, not a computation")


def start(context: Context) -> Budget:
    """A new budget for the rendering `context` starts."""
    budget = Budget()
    setattr(context.eval_ctx, _ATTRIBUTE, budget)
    return budget


def of(context: Context) -> Budget:
    """The budget of the rendering `context` belongs to."""
    budget = getattr(context.eval_ctx, _ATTRIBUTE, None)
    return budget if budget is not None else start(context)
