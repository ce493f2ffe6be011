"""What the local handler's tests share: a workdir and an address range of their own.

No tests here. Each test case gets a temporary workdir and a random range
127.0.x.0/24 (x in 2..250), so parallel runs do not take each other's
addresses; whatever a test leaves running is stopped when it ends.
"""
from __future__ import annotations

import os
import random
import shutil
import socket
import tempfile
import time
import unittest
from collections.abc import Callable
from pathlib import Path
from typing import Any

from occo.util.nodes import NodeState, ResolvedNode

from occo.resourcehandler.base import Instance
from occo.resourcehandler.local import processes
from occo.resourcehandler.local.plugin import LocalHandler
from .support import create_one, state_of

DEADLINE = 20.0   # seconds any awaited change may take on a slow machine
POLL = 0.05


def random_range(prefix: int = 24) -> str:
    """A loopback range (a /24 or smaller) that another test run is unlikely to use too."""
    block = 2 ** (32 - prefix)
    return f"127.0.{random.randint(2, 250)}.{random.randrange(0, 256, block)}/{prefix}"


def wait_until(condition: Callable[[], Any], what: str | Callable[[], str],
               deadline: float = DEADLINE) -> Any:
    """Poll `condition()` until true and return its value; fail with `what` at the deadline."""
    end = time.monotonic() + deadline
    while not (value := condition()):
        if time.monotonic() > end:
            what = what() if callable(what) else what
            raise AssertionError(f"timed out after {deadline:g} s waiting until {what}")
        time.sleep(POLL)
    return value


def group_exists(pgid: int) -> bool:
    """Whether any process, zombies included, is still in the group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def accepts(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=1).close()
    except OSError:
        return False
    return True


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


class LocalCase(unittest.TestCase):
    """A temporary workdir and address range; `new_handler()` and `node()` use them."""

    ADDRESS_PREFIX = 24

    def setUp(self) -> None:
        super().setUp()
        self.workdir = Path(tempfile.mkdtemp(prefix="occo-local-test-"))
        self.addCleanup(shutil.rmtree, self.workdir, ignore_errors=True)
        self.addCleanup(self.kill_leftovers)
        self.address_range = random_range(self.ADDRESS_PREFIX)
        self.resource = {"type": "local", "name": "this machine", "workdir": str(self.workdir),
                         "address_range": self.address_range}

    def new_handler(self) -> LocalHandler:
        return LocalHandler.for_section(self.resource)

    def node(self, node_id: str, context: str | None = None, infra_id: str = "infra-1",
             name: str = "web") -> ResolvedNode:
        return ResolvedNode(infra_id, f"{infra_id}-name", "tester", node_id, name,
                            self.resource, context=context)

    def start_node(self, node_id: str, context: str | None = None,
                   **details: str) -> tuple[LocalHandler, Instance]:
        """A new handler, and the node it created."""
        handler = self.new_handler()
        return handler, create_one(handler, self.node(node_id, context, **details))

    def assertGroupEnds(self, instance: Instance) -> None:
        wait_until(lambda: not group_exists(instance.data["pgid"]),
                   f"no process of {instance.node_id}'s group is left")

    def wait_for(self, handler: LocalHandler, instance: Instance, state: NodeState) -> None:
        wait_until(lambda: state_of(handler, instance) == state,
                   lambda: f"{instance.node_id} is {state} (it is {state_of(handler, instance)}: "
                           f"{instance.data})")

    def kill_leftovers(self) -> None:
        """Stop every group a test left registered, so that a failed test leaves nothing running."""
        for entry in self.new_handler().registry.read().values():
            if entry.pgid is not None:
                processes.stop_group(entry.pgid, entry.instance_id, grace=0)
