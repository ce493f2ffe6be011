"""Choosing one implementation of a node type: the hybrid-cloud feature.

A node type may have several implementations (say one on EC2 and one on
Nova). A node's `filter` keeps those whose `resource` section has all of the
filter's keys with equal values; a strategy picks one of the rest:

- `random`: any of them, equally likely (the original's only strategy);
- `first`: the first in the node-definition file's order (reproducible).
"""
from __future__ import annotations

import copy
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from occo.util.errors import OccoError
from occo.util.merge import is_subdict
from occo.util.redact import redact
from occo.util.schema import did_you_mean

# picks one of the fitting implementations, given by their indices
Strategy = Callable[[Sequence[int], random.Random], int]

STRATEGIES: dict[str, Strategy] = {
    "random": lambda candidates, rng: rng.choice(candidates),
    "first": lambda candidates, rng: candidates[0],
}
DEFAULT_STRATEGY = "random"


class NoMatchingNodeDefinition(OccoError):
    """No implementation of a node type fits the node's filter."""


class UnknownStrategy(OccoError):
    """A selection strategy name that does not exist."""


def matching(implementations: Sequence[dict], filter: Mapping[str, Any] | None) -> list[dict]:
    """The implementations whose `resource` section has every key=value of `filter`."""
    return [implementations[index] for index in _fitting(implementations, filter)]


def select_implementation(node_type: str, implementations: Sequence[dict],
                          filter: Mapping[str, Any] | None = None,
                          strategy: str = DEFAULT_STRATEGY,
                          rng: random.Random | None = None) -> dict:
    """A copy of the implementation `strategy` picks among those fitting `filter`."""
    return copy.deepcopy(implementations[choose_implementation(node_type, implementations,
                                                               filter, strategy, rng)])


def choose_implementation(node_type: str, implementations: Sequence[dict],
                          filter: Mapping[str, Any] | None = None,
                          strategy: str = DEFAULT_STRATEGY,
                          rng: random.Random | None = None) -> int:
    """The index in `implementations` of the one `strategy` picks among those fitting `filter`.

    For a caller that only reads the implementation, or has already made what
    it makes of it: it copies nothing.
    """
    return pick(fitting(node_type, implementations, filter), strategy, rng)


def fitting(node_type: str, implementations: Sequence[dict],
            filter: Mapping[str, Any] | None = None) -> list[int]:
    """The indices of the implementations fitting `filter`; `NoMatchingNodeDefinition` when
    none does. The same for every node of a description: a caller resolving many keeps it."""
    candidates = _fitting(implementations, filter)
    if not candidates:
        raise NoMatchingNodeDefinition(
            f"no implementation of node type '{node_type}' fits the filter {redact(dict(filter or {}))}",
            hint=_offered(implementations, filter or {}))
    return candidates


def pick(candidates: Sequence[int], strategy: str = DEFAULT_STRATEGY,
         rng: random.Random | None = None) -> int:
    """The index `strategy` picks among `candidates` (as `fitting` gives them)."""
    try:
        choose = STRATEGIES[strategy]
    except KeyError:
        raise UnknownStrategy(f"unknown selection strategy {strategy!r}",
                              hint=did_you_mean(strategy, STRATEGIES)
                              or f"use one of: {', '.join(STRATEGIES)}") from None
    return choose(candidates, rng or random.Random())


def _fitting(implementations: Sequence[dict], filter: Mapping[str, Any] | None) -> list[int]:
    """The indices of the implementations whose `resource` section has every key=value of
    `filter`."""
    wanted = dict(filter or {})
    return [index for index, implementation in enumerate(implementations)
            if is_subdict(wanted, implementation.get("resource"))]


def _offered(implementations: Sequence[dict], filter: Mapping[str, Any]) -> str:
    """What the implementations have under the filter's keys, to show the user what would fit."""
    if not implementations:
        return "the node type has no implementations; import its node definitions again"
    offered: dict[str, list[Any]] = {}
    for implementation in implementations:
        resource = implementation.get("resource") or {}
        for key in filter:
            values = offered.setdefault(key, [])
            value = resource.get(key, "(none)")
            if value not in values:
                values.append(value)
    shown = "; ".join(f"{key}: {', '.join(map(str, values))}"
                      for key, values in redact(offered).items())
    return f"its {len(implementations)} implementation(s) have {shown}"
