"""`LocalHandler`: each node instance a process group on this machine, on its own address.

The handler keeps nothing in memory: the registry file and the node folders
say what exists and how it is doing, so a handler in another process (a later
`occopus-maintain` or `occopus-destroy`) sees the same nodes.
"""
from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from occo.util.nodes import NodeState, ResolvedNode

from ..base import (GONE, Capabilities, Connection, Instance, PermanentError, ResourceError,
                    ResourceHandler, ResourceStatus, TransientError, each)
from . import bootstrap, processes
from .cloudconfig import Plan, parse
from .layout import NodeFolder, Status
from .registry import Entry, Registry, address_range
from .schema import LOCAL

log = logging.getLogger("occo.resourcehandler.local")

DEFAULT_WORKDIR = "~/.occopus/local"
DEFAULT_RANGE = "127.0.1.0/24"
# what a node's commands inherit from Occopus's environment; the rest (cloud
# credentials, for one) stays out, as it would on a fresh VM
INHERITED = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR")


class LocalHandler(ResourceHandler):
    """Nodes as process groups under `workdir`, on addresses of `address_range`."""

    type_name = "local"
    schema = LOCAL
    # one registry read tells every node's state
    capabilities = Capabilities(states_per_call=256)
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = {
        "booting": NodeState.PENDING,    # the bootstrap is running
        "booted": NodeState.READY,       # it finished with exit code 0
        "failed": NodeState.FAILED,      # a step failed, or the bootstrap was killed
        "gone": NodeState.SHUTDOWN,      # dropped, or its folder removed
    }
    STOP_GRACE = 3.0                     # seconds between SIGTERM and SIGKILL

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        settings = connection.settings
        # absolute, so that processes started in other folders share it
        workdir = str(settings.get("workdir") or DEFAULT_WORKDIR)
        self.workdir = Path(workdir).expanduser().absolute()
        network = address_range(settings.get("address_range") or DEFAULT_RANGE)
        self.registry = Registry(self.workdir, network)

    @property
    def backend_key(self) -> str:
        return f"{self.type_name}:{self.workdir}"

    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        return each(nodes, self.create_node)

    def create_node(self, node: ResolvedNode) -> Instance:
        plan = parse(node.context)
        with _machine_errors(f"cannot create local node {node.node_id}"), \
                self.registry.locked() as registry:
            entry = registry.entries.get(node.node_id)
            if entry is not None:
                return self._instance(entry)
            entry = Entry(node.node_id, node.infra_id, node.name,
                          f"local-{secrets.token_hex(6)}", registry.free_address())
            registry.put(entry)          # recorded before anything is made, so nothing is lost
            try:
                entry = replace(entry, pgid=self._start(entry, node, plan))
            except BaseException:
                self._folder(entry).remove()
                registry.remove(entry.node_id)
                raise
            registry.put(entry)
        log.info("[%s] node %s (%s) of %s started on %s in %s", self.label, node.node_id, node.name,
                 node.infra_id, entry.address, self._folder(entry).path)
        return self._instance(entry)

    def drop_node(self, instance: Instance) -> None:
        with _machine_errors(f"cannot drop local node {instance.node_id}"):
            with self.registry.locked() as registry:     # waits for a create in progress
                entry = self._entry_of(instance, registry.entries)
            if entry is None:
                return
            if entry.pgid is not None:
                processes.stop_group(entry.pgid, entry.instance_id, self.STOP_GRACE)
            self._folder(entry).remove()
            with self.registry.locked() as registry:
                if self._entry_of(instance, registry.entries) is not None:
                    registry.remove(entry.node_id)
        log.info("[%s] node %s dropped; %s is free", self.label, instance.node_id, entry.address)

    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        """Each node's state and address; a failure's exit code, message and log tail are its
        `detail`."""
        with _machine_errors("cannot read the state of local nodes"):
            entries = self.registry.read()
            return [self._status(self._entry_of(instance, entries)) for instance in instances]

    def _status(self, entry: Entry | None) -> ResourceStatus:
        state, status = self._observe(entry)
        if entry is None or state == "gone":
            return GONE
        detail = _failure(status) if state == "failed" and status is not None else None
        return ResourceStatus(self.map_state(state), (entry.address,), entry.address, detail)

    def list_owned(self, infra_id: str) -> list[Instance]:
        with _machine_errors(f"cannot list the local nodes of {infra_id}"):
            return [self._instance(entry) for entry in self.registry.read().values()
                    if entry.infra_id == infra_id]

    # --- plumbing ---------------------------------------------------------
    def _folder(self, entry: Entry) -> NodeFolder:
        return NodeFolder(self.workdir / "nodes" / entry.instance_id)

    @staticmethod
    def _entry_of(instance: Instance, entries: Mapping[str, Entry]) -> Entry | None:
        """The registered entry of this very instance (not of one made for its node id since)."""
        entry = entries.get(instance.node_id)
        return entry if entry is not None and entry.instance_id == instance.instance_id else None

    def _observe(self, entry: Entry | None) -> tuple[str, Status | None]:
        """The node's raw state, with the bootstrap's status once there is one."""
        if entry is None:
            return "gone", None
        folder = self._folder(entry)
        if not folder.exists():
            return "gone", None
        status = folder.read_status()
        if status is None:
            # no pgid yet: its creator is starting it right now
            if entry.pgid is None or processes.is_running(entry.pgid, entry.instance_id):
                return "booting", None
            # read again: it may have written its status just before it ended
            status = folder.read_status() or Status(
                None, "the bootstrap stopped before it finished (was it killed?)",
                folder.log_tail())
        return ("booted" if status.succeeded else "failed"), status

    def _instance(self, entry: Entry) -> Instance:
        folder = self._folder(entry)
        return Instance(entry.infra_id, entry.node_id, entry.instance_id,
                        {"address": entry.address, "pgid": entry.pgid,
                         "node_dir": str(folder.path), "log": str(folder.log)})

    def _start(self, entry: Entry, node: ResolvedNode, plan: Plan) -> int:
        """Start the node's bootstrap at the head of a new session; its pid is the group id."""
        folder = self._folder(entry)
        folder.create(plan, _environment(entry, node, plan, folder))
        # -P: the node folder, its working folder, must not shadow Occopus's modules
        with open(folder.log, "ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-P", "-m", bootstrap.__name__, str(folder.path)], cwd=folder.path,
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True, env=os.environ | processes.mark(entry.instance_id))
        # reap it when it ends, so that no zombie keeps its group alive
        threading.Thread(target=process.wait, name=f"reap {entry.instance_id}", daemon=True).start()
        return process.pid


def _environment(entry: Entry, node: ResolvedNode, plan: Plan,
                 folder: NodeFolder) -> dict[str, str]:
    """The node's variables: a few of Occopus's, the cloud-config's `environment`, then its own."""
    inherited = {key: value for key, value in os.environ.items()
                 if key in INHERITED or key.startswith("LC_")}
    return {"PATH": os.defpath, **inherited, **plan.environment,
            "OCCOPUS_NODE_ADDRESS": entry.address,
            "OCCOPUS_NODE_ID": node.node_id,
            "OCCOPUS_NODE_NAME": node.name,
            "OCCOPUS_INFRA_ID": node.infra_id,
            "OCCOPUS_INFRA_NAME": node.infra_name,
            "OCCOPUS_NODE_DIR": str(folder.path),
            "OCCOPUS_NODE_ROOT": str(folder.root),
            **processes.mark(entry.instance_id)}


def _failure(status: Status) -> str:
    """A failed bootstrap on one line: what went wrong, and the last lines of its log."""
    lines = [line.strip() for line in status.log_tail.splitlines() if line.strip()][-3:]
    return status.message + (f" (log: {' | '.join(lines)})" if lines else "")


@contextmanager
def _machine_errors(action: str) -> Iterator[None]:
    """This machine's failures as the contract's: permissions are permanent, the rest may pass."""
    try:
        yield
    except PermissionError as error:
        raise PermanentError(f"{action}: {error}",
                             hint="check the permissions of the workdir and of the node's "
                                  "processes") from None
    except OSError as error:
        raise TransientError(f"{action}: {error}", hint="the machine may be short of "
                             "disk space, memory or processes") from None
