"""Waiting for Azure's long-running operations, within a bound.

Resource Manager answers a create or a delete before it is done and says
where to look; the SDK's poller looks there. A handler that needs the result
(a network interface before its VM, a VM gone before its interface) waits,
but never longer than it was told: an operation still running then is a
`TransientError`, and the engine tries again later (the next attempt finds
what this one made, by name).
"""
from __future__ import annotations

from typing import TypeVar

from azure.core.polling import LROPoller

from ..base import TransientError
from ..httpanswers import RETRY_HINT

Result = TypeVar("Result")
CREATE_WAIT = 300.0             # seconds a create waits for a part it needs next
DELETE_WAIT = 600.0             # seconds a drop waits for a delete


def finished(poller: LROPoller[Result], seconds: float, what: str) -> Result:
    """The operation's result once it is done; `TransientError` naming `what` (e.g.
    "[cloud] deleting VM x") if it is not done within `seconds`. Its failure is raised as the
    SDK raises it, for the handler to classify."""
    poller.wait(timeout=seconds)
    if not poller.done():
        raise TransientError(f"{what}: not done after {seconds:g} s", hint=RETRY_HINT)
    return poller.result()      # done: its result at once, or its failure
