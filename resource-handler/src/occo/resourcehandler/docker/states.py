"""A container as the engine lists it (`GET /containers/json`), as a `ResourceStatus`.

One listing tells the state, the exit code (in its status text, "Exited (1)
3 seconds ago") and the addresses of many containers, so no container is
inspected on its own.

A container whose main process has ended is not coming back by itself, and
its state says how it ended: with exit code 0 the node finished of its own
accord, SHUTDOWN; with any other code (a crash, a command that was not
found, 137 for a kill) or as `dead` it failed, FAILED, its status text the
detail. Either way the engine replaces it.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from occo.util.nodes import NodeState

from ..base import ResourceStatus
from .errors import one_line

ENDED_WELL = "exited-0"     # the cloud state STATE_MAP knows an exit code of 0 by
STATE_MAP: Mapping[str, NodeState] = {
    "created": NodeState.PENDING,        # made, not started (yet)
    "restarting": NodeState.PENDING,
    "running": NodeState.READY,
    "paused": NodeState.TEMP_FAILED,     # someone paused it; unpausing brings it back
    ENDED_WELL: NodeState.SHUTDOWN,      # its main process ended with exit code 0
    "exited": NodeState.FAILED,          # ... with another exit code
    "dead": NodeState.FAILED,            # the engine could not stop or remove it
    "removing": NodeState.SHUTDOWN,
}
EXIT_CODE = re.compile(r"^Exited \((-?\d+)\)")


def cloud_state(container: Mapping[str, Any]) -> str:
    """The engine's state of a listed container, `exited-0` told apart from other exits."""
    state = str(container.get("State", ""))
    if state == "exited":
        code = EXIT_CODE.match(str(container.get("Status", "")))
        if code and int(code.group(1)) == 0:
            return ENDED_WELL
    return state


def addresses(container: Mapping[str, Any]) -> tuple[str, ...]:
    """The container's addresses on its networks (the bridge's first)."""
    networks = (container.get("NetworkSettings") or {}).get("Networks") or {}
    found = [str(network.get("IPAddress")) for network in networks.values()
             if isinstance(network, Mapping) and network.get("IPAddress")]
    return tuple(dict.fromkeys(found))


def status_of(container: Mapping[str, Any], state: NodeState) -> ResourceStatus:
    """`state` (mapped from `cloud_state`) with the container's addresses and, unless it is
    running, what the engine says of it."""
    found = addresses(container)
    detail = None if state is NodeState.READY else one_line(container.get("Status") or "") or None
    return ResourceStatus(state, found, found[0] if found else None, detail)
