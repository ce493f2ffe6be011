"""The functions node templates call: `getip`, `getipall`, `getprivip`, `find_node_id`,
`cut`, `cmd` and `ibget`, with the names of Occopus 1.10 and its bugs fixed.

The node functions read the instance records the engine stores (`node.find`),
decoded (`InstanceRecord`): their node ids, addresses (the preferred first)
and private IP addresses. A record this version cannot read is passed over. Instances are taken in node-id order, so "the first instance"
is the same one every time. An instance the cloud has not given an address
yet is passed over; a node with no instance, or with none addressed yet, is an
error naming the node (the node it depends on may not have been created).
"""
from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from occo.infobroker.broker import InfoRouter
from occo.util.errors import OccoError

from ..record import InstanceRecord, decode_all

log = logging.getLogger("occo.infraprocessor.resolution")

COMMAND_TIMEOUT = 60.0   # seconds a cmd() may run before it counts as failed


class NodeLookupError(OccoError):
    """A template asks for a node that has no instance, or no address, yet."""


class CommandError(OccoError):
    """`cmd()` is disabled, or its command failed."""


class NodeLookup:
    """The node functions, for the templates of one infrastructure."""

    def __init__(self, router: InfoRouter, infra_id: str) -> None:
        self.router = router
        self.infra_id = infra_id

    def instances(self, name: str) -> list[InstanceRecord]:
        """The stored instances of node `name`, in node-id order; an error if there are none."""
        found = _decoded(self.router.get("node.find", infra_id=self.infra_id, name=name))
        if not found:
            raise NodeLookupError(f"node '{name}' has no instance in infrastructure "
                                  f"{self.infra_id}",
                                  hint="check the node name, and that the nodes this one uses "
                                       "are listed as its dependencies so they are built first")
        return sorted(found, key=lambda instance: instance.node_id)

    def getip(self, name: str) -> str:
        """The first address of the first instance of node `name` that has one."""
        return self._first(name, "address", _first_address)

    def getipall(self, name: str) -> list[str]:
        """The first address of every instance of node `name` that has one."""
        return self._every(name, "address", _first_address)

    def getprivip(self, name: str) -> str:
        """The private IP address of the first instance of node `name` that has one."""
        return self._first(name, "private IP address", lambda instance: instance.private_ip)

    def find_node_id(self, name: str, allnodes: bool = False) -> str | list[str]:
        """The node id of the first instance of node `name`, or with `allnodes` every id."""
        ids = [instance.node_id for instance in self.instances(name)]
        return ids if allnodes else ids[0]

    def _first(self, name: str, what: str,
               value: Callable[[InstanceRecord], str | None]) -> str:
        found = self._every(name, what, value)
        if len(found) > 1:
            log.debug("node '%s' has %d instances; using the %s of the first: %s",
                      name, len(found), what, found[0])
        return found[0]

    def _every(self, name: str, what: str,
               value: Callable[[InstanceRecord], str | None]) -> list[str]:
        instances = self.instances(name)
        found = [item for item in map(value, instances) if item]
        if not found:
            raise NodeLookupError(
                f"node '{name}' has no {what} yet (instances: "
                f"{', '.join(instance.node_id for instance in instances)})",
                hint="the node must be created before the nodes that use its address: make "
                     "it a dependency of this node")
        return found


def _first_address(instance: InstanceRecord) -> str | None:
    return instance.addresses[0] if instance.addresses else None


def _decoded(stored: Sequence[dict]) -> list[InstanceRecord]:
    return decode_all(stored, lambda error: log.warning(
        "a template passes over a record it cannot read: %s", error.message))


def cut(text: str, start: int, end: int) -> str:
    """`text[start:end]`: for names such as "{{name}}-{{cut(node_id,0,8)}}"."""
    return text[start:end]


def run_command(command: str, *, enabled: bool, timeout: float = COMMAND_TIMEOUT) -> str:
    """The output of `command`, run on the Occopus host without a shell, as text.

    One trailing newline is dropped, as a shell's `$(...)` does, so that the
    output fits inside a line of the template.
    """
    if not enabled:
        raise CommandError(f"cmd({command!r}) is disabled: templates may not run commands "
                           "on the Occopus host",
                           hint="set 'cmd_enabled: true' in occopus_config.yaml to allow it")
    argv = shlex.split(command)
    if not argv:
        raise CommandError("cmd() was given an empty command")
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise CommandError(f"cmd({command!r}) did not finish within {timeout:g} seconds") from None
    except OSError as error:
        raise CommandError(f"cmd({command!r}) cannot be run: {error.strerror or error}",
                           hint="the command runs on the Occopus host, not on the node") from None
    if result.returncode != 0:
        said = result.stderr.strip().splitlines()
        raise CommandError(f"cmd({command!r}) failed with exit status {result.returncode}"
                           + (f": {said[-1]}" if said else ""))
    return result.stdout.removesuffix("\n")


def template_functions(router: InfoRouter, infra_id: str, *,
                       cmd_enabled: bool) -> dict[str, Callable[..., Any]]:
    """Every function a node template may call, by name."""
    nodes = NodeLookup(router, infra_id)

    def cmd(command: str) -> str:
        return run_command(command, enabled=cmd_enabled)

    def ibget(key: str, *args: Any, **kwargs: Any) -> Any:
        return router.get(key, *args, **kwargs)

    return {"getip": nodes.getip, "getipall": nodes.getipall, "getprivip": nodes.getprivip,
            "find_node_id": nodes.find_node_id, "cut": cut, "cmd": cmd, "ibget": ibget}
