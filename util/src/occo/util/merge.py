"""Deep merging of variables, as the original did for infrastructure and node levels."""
from __future__ import annotations

import copy
from typing import Any


def deep_merge(base: dict, override: dict) -> dict:
    """A new dict: `base` with `override` merged in, recursively; `override` wins.

    Neither argument is modified, and the result shares no mutable value with them.
    """
    result = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def is_subdict(small: dict, big: Any) -> bool:
    """True when every key of `small` is in `big` with an equal value (the filter rule)."""
    return isinstance(big, dict) and all(key in big and big[key] == value
                                         for key, value in small.items())
