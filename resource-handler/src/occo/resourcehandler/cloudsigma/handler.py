"""`CloudSigmaHandler`: nodes as servers on CloudSigma, each booted from a clone of a library
drive (API 2.0 over HTTPS, `client`).

A create clones the library drive (named for the node), waits until the
clone is `unmounted`, makes the server with the section's description, the
drive and its tags (`launch`), starts it, and waits until it is no longer
`stopped` (sending the start again once if it stays so). A server whose start
is refused for good is deleted with its clone; a clone that failed is deleted,
and the retry clones again. Creates are idempotent by node
id: holding a lock per node (concurrent creates of a node in this process
wait for each other), it first looks for a server tagged with the node, and
starts it if a crash left it stopped; else for the node's drive, cloned by an
attempt that got no further. So a create retried after a crash or a lost
answer finishes what the first attempt began, and makes nothing twice.

A drop stops the server, waits until it is stopped (CloudSigma deletes only
stopped servers), and deletes it with its boot drive (`recurse=all_drives`
when the boot drive is its only one; else the server, then the boot drive,
so that drives the description attached are kept). A server refused for
good has its clone deleted.

A clone that a crash left without its server is the node's too: `list_owned`
answers it as an instance `drive:<uuid>`, which recovery adopts (finishing
the node's create) or drops. Such an instance stands for the server booting
from that clone once there is one (its meta names the clone), else for the
clone alone (pending; dropped by deleting it).

States and addresses of any number of servers come from one listing
(`GET /servers/detail/`), which `list_owned` reads too. Errors are
classified in `errors`.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from occo.util.nodes import NodeState, ResolvedNode
from occo.util.redact import secret_values

from ..base import (GONE, INFRA_TAG, Capabilities, Connection, Instance, PermanentError,
                    ResourceError, ResourceHandler, ResourceStatus, TransientError, each,
                    raised_as_contract)
from ..httpanswers import RETRY_HINT
from ..locks import KeyedLocks
from . import client as cloudsigma_client
from .errors import LIBDRIVE_HINT, CloudSigmaError, classify
from .launch import (CLONE_PREFIX, addresses_of, all_drives, attached_drives, clone_of,
                     description_of, drive_name, node_of_drive, owner_tags, server_definition)
from .schema import CLOUDSIGMA

log = logging.getLogger("occo.resourcehandler.cloudsigma")

# creates of one node wait for each other, whichever handler of this process makes them
_NODE_LOCKS = KeyedLocks()
READY_DRIVE = "unmounted"
# a drive in one of these states will never become usable
FAILED_DRIVE = frozenset({"unavailable", "failed"})
STOPPED = "stopped"


class CloudSigmaHandler(ResourceHandler):
    """Servers of one CloudSigma location, reached with one account (email and password)."""

    type_name = "cloudsigma"
    schema = CLOUDSIGMA
    # every state comes from one listing of the account's servers
    capabilities = Capabilities(creates_per_call=1, states_per_call=500)
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = {
        "starting": NodeState.PENDING,
        "paused": NodeState.PENDING,
        "running": NodeState.READY,
        "stopping": NodeState.SHUTDOWN,
        "stopped": NodeState.SHUTDOWN,
        "unavailable": NodeState.TEMP_FAILED,
        "unknown": NodeState.TEMP_FAILED,
    }
    CLONE_TIMEOUT: ClassVar[float] = 600.0     # a clone copies the whole image
    STOP_TIMEOUT: ClassVar[float] = 300.0
    START_TIMEOUT: ClassVar[float] = 60.0      # until a started server leaves `stopped`
    POLL_INTERVAL: ClassVar[float] = 2.0       # the longest pause between two looks

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._client = cloudsigma_client.CloudSigmaClient(connection)
        # every credential value, hidden wherever the cloud might echo it
        self._secrets = secret_values(connection.credentials, masked=True)
        self._lock_scope = str(connection.settings.get("endpoint"))

    def close(self) -> None:
        self._client.close()

    # --- create -------------------------------------------------------------
    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        return each(nodes, self._create)

    def _create(self, node: ResolvedNode) -> Instance:
        where = self.where(node)
        description = description_of(node, where)
        with _NODE_LOCKS.holding(f"{self._lock_scope}|{node.infra_id}|{node.node_id}"):
            server = self._server_of(node)
            if server is not None:
                log.debug("%s: found server %s, made before", where, server["uuid"])
                if server.get("status") == STOPPED:        # made, but a crash came before start
                    self._start(node, str(server["uuid"]))
                return self._instance(node, server)
            drive_id = self._boot_drive(node)
            try:
                with self._cloud_errors("create server", node):
                    server = self._client.create_server(
                        server_definition(node, description, drive_id))
            except PermanentError:
                self._forget_drive(node, drive_id)      # refused for good: keep no clone
                raise
            log.info("%s: made server %s", where, server.get("uuid"))
            try:
                self._start(node, str(server["uuid"]))
            except PermanentError:
                self._forget_server(server)     # refused for good: keep no stopped server
                raise
            return self._instance(node, server)

    def _instance(self, node: ResolvedNode, server: Mapping[str, Any]) -> Instance:
        return Instance(node.infra_id, node.node_id, str(server["uuid"]))

    def _server_of(self, node: ResolvedNode) -> dict[str, Any] | None:
        """The server tagged with this node, if there is one."""
        with self._cloud_errors("list servers", node):
            return next((server for server in self._client.servers()
                         if owner_tags(server) == (node.infra_id, node.node_id)), None)

    def _boot_drive(self, node: ResolvedNode) -> str:
        """The uuid of the node's boot drive once it is ready to attach: cloned now, or by an
        attempt that got no further."""
        name = drive_name(node)
        with self._cloud_errors("list drives", node):
            drive = next((drive for drive in self._client.drives() if drive.get("name") == name),
                         None)
        if drive is None:
            libdrive_id = str(node.resource["libdrive_id"]).strip()
            with self._cloud_errors(f"clone library drive {libdrive_id}", node,
                                    missing_hint=LIBDRIVE_HINT):
                drive = self._client.clone_libdrive(libdrive_id, name)
            log.info("%s: cloning %s into drive %s", self.where(node), libdrive_id,
                     drive.get("uuid"))
        drive_id = str(drive["uuid"])
        ready = self._wait(lambda: self._drive_status(node, drive_id),
                           lambda status: status == READY_DRIVE or status in FAILED_DRIVE,
                           self.CLONE_TIMEOUT)
        if ready in FAILED_DRIVE:          # found by name, it would be re-used for ever
            self._forget_drive(node, drive_id)
            raise TransientError(f"{self.where(node)}: the clone {drive_id} of the library "
                                 f"drive is {ready}; it is deleted, and the retry clones again",
                                 hint=RETRY_HINT)
        if ready != READY_DRIVE:
            raise TransientError(f"{self.where(node)}: the clone {drive_id} of the library "
                                 f"drive is {ready or 'not ready'} after "
                                 f"{self.CLONE_TIMEOUT:g} s", hint=RETRY_HINT)
        return drive_id

    def _forget_drive(self, node: ResolvedNode, drive_id: str) -> None:
        """Delete the node's boot drive, which no server will use; what fails is logged."""
        try:
            with self._cloud_errors(f"delete drive {drive_id}", node):
                self._client.delete_drive(drive_id)
        except ResourceError as error:
            log.warning("%s; the drive %s is left to delete by hand", error.message, drive_id)

    def _drive_status(self, node: ResolvedNode, drive_id: str) -> str:
        with self._cloud_errors(f"read drive {drive_id}", node):
            return str(self._client.drive(drive_id).get("status") or "")

    def _forget_server(self, server: Mapping[str, Any]) -> None:
        """Delete a stopped server just made, with its clone; what fails is logged."""
        try:
            self._drop_server(str(server["uuid"]), server)
        except ResourceError as error:
            log.warning("%s; the server %s is left to delete by hand", error.message,
                        server["uuid"])

    def _start(self, node: ResolvedNode, server_id: str) -> None:
        """Start a server and wait until it is no longer stopped: the start is asynchronous,
        and a server still `stopped` reads as shut down, which the engine takes for a failed
        boot. A start that left it stopped half-way through `START_TIMEOUT` is sent again."""
        with self._cloud_errors(f"start server {server_id}", node):
            self._client.action(server_id, "start")
        half = self.START_TIMEOUT / 2
        started = lambda status: status != STOPPED      # noqa: E731 (None: gone)
        status = self._wait(lambda: self._server_status(server_id), started, half)
        if status == STOPPED:
            log.info("%s: server %s is still stopped; starting it again", self.where(node),
                     server_id)
            with self._cloud_errors(f"start server {server_id}", node):
                try:
                    self._client.action(server_id, "start")
                except CloudSigmaError as error:
                    if error.status not in (403, 409):  # it started meanwhile
                        raise
            status = self._wait(lambda: self._server_status(server_id), started, half)
        if status is None:
            raise TransientError(f"{self.where(node)}: server {server_id} vanished while it "
                                 "started", hint=RETRY_HINT)
        if status == STOPPED:
            raise TransientError(f"{self.where(node)}: server {server_id} is still stopped "
                                 f"{self.START_TIMEOUT:g} s after it was started twice",
                                 hint=RETRY_HINT)

    # --- drop ---------------------------------------------------------------
    def drop_node(self, instance: Instance) -> None:
        drive_id = clone_of(instance)
        if drive_id is not None:
            self._drop_clone(drive_id)
            return
        self._drop_server(instance.instance_id, self._server(instance.instance_id))

    def _drop_clone(self, drive_id: str) -> None:
        """Drop the server booting from a node's clone if one was made since, else the clone."""
        with self._cloud_errors("list servers"):
            server = next((server for server in self._client.servers()
                           if attached_drives(server)[0] == drive_id), None)
        if server is not None:
            self._drop_server(str(server["uuid"]), server)
            return
        with self._cloud_errors(f"delete drive {drive_id}"):
            try:
                status = str(self._client.drive(drive_id).get("status") or "")
                if status != READY_DRIVE:       # CloudSigma deletes no drive it is cloning
                    raise TransientError(f"[{self.label}] drive {drive_id} is {status}; it is "
                                         "deleted once its clone is done", hint=RETRY_HINT,
                                         retry_after=self.POLL_INTERVAL)
                self._client.delete_drive(drive_id)
            except CloudSigmaError as error:
                if error.status != 404:
                    raise
        log.info("[%s] deleted drive %s, cloned for a server never made", self.label, drive_id)

    def _drop_server(self, server_id: str, server: Mapping[str, Any] | None) -> None:
        status = None if server is None else str(server.get("status") or "")
        if status is None:
            log.debug("[%s] server %s is gone already", self.label, server_id)
            return
        if status not in (STOPPED, "stopping"):
            with self._cloud_errors(f"stop server {server_id}"):
                self._client.action(server_id, "stop")
        status = self._wait(lambda: self._server_status(server_id),
                            lambda status: status in (None, STOPPED), self.STOP_TIMEOUT)
        if status is None:
            return
        if status != STOPPED:
            raise TransientError(f"[{self.label}] server {server_id} is still {status} "
                                 f"{self.STOP_TIMEOUT:g} s after it was asked to stop",
                                 hint=RETRY_HINT)
        assert server is not None
        boot, others = attached_drives(server)
        with self._cloud_errors(f"delete server {server_id}"):
            try:
                # the boot drive alone: deleted with the server, in one call
                self._client.delete_server(server_id, with_drives=not others)
            except CloudSigmaError as error:
                if error.status != 404:
                    raise
        if others and boot is not None:     # the description's own drives are kept
            with self._cloud_errors(f"delete drive {boot}"):
                try:
                    self._client.delete_drive(boot)
                except CloudSigmaError as error:
                    if error.status != 404:
                        raise
        log.info("[%s] deleted server %s and its boot drive", self.label, server_id)

    def _server(self, server_id: str) -> dict[str, Any] | None:
        """A server as the API shows it; None when it does not exist."""
        with self._cloud_errors(f"read server {server_id}"):
            try:
                return self._client.server(server_id)
            except CloudSigmaError as error:
                if error.status == 404:
                    return None
                raise

    def _server_status(self, server_id: str) -> str | None:
        """A server's status; None when it does not exist."""
        server = self._server(server_id)
        return None if server is None else str(server.get("status") or "")

    # --- states -------------------------------------------------------------
    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        if not instances:
            return []
        with self._cloud_errors("list servers"):
            servers = list(self._client.servers())
        by_id = {str(server.get("uuid")): server for server in servers}
        by_boot = {boot: server for server in servers
                   if (boot := attached_drives(server)[0]) is not None}
        drives: dict[str, Mapping[str, Any]] | None = None
        answers = []
        for instance in instances:
            drive_id = clone_of(instance)
            server = by_id.get(instance.instance_id) if drive_id is None else by_boot.get(drive_id)
            if server is not None:
                answers.append(self._status(server))
                continue
            if drive_id is not None:    # a clone without its server yet: asked only then
                if drives is None:
                    with self._cloud_errors("list drives"):
                        drives = {str(drive.get("uuid")): drive for drive in self._client.drives()}
                if drive_id in drives:
                    answers.append(ResourceStatus(NodeState.PENDING, detail=f"drive {drive_id} "
                                                  "is cloned; its server is not made yet"))
                    continue
            answers.append(GONE)
        return answers

    def _status(self, server: Mapping[str, Any]) -> ResourceStatus:
        status = str(server.get("status") or "")
        state = self.map_state(status)
        return ResourceStatus(state, addresses_of(server) if state is NodeState.READY else (),
                              None, None if state is NodeState.READY else f"server {status}")

    def list_owned(self, infra_id: str) -> list[Instance]:
        """The servers tagged with the infrastructure; and the boot drives cloned for its
        nodes that no server uses (a create cut short between the clone and the server), as
        instances `drive:<uuid>`: recovery then finishes the node's create, or drops them."""
        with self._cloud_errors("list servers"):
            servers = list(self._client.servers())
        with self._cloud_errors("list drives"):
            drives = list(self._client.drives())
        owned = []
        for server in servers:
            infra, node_id = owner_tags(server)
            if infra != infra_id:
                continue
            if node_id is None:      # tagged by hand, not made by Occopus: not ours to drop
                log.warning("[%s] server %s has the meta %s=%s but no node id; left alone",
                            self.label, server.get("uuid"), INFRA_TAG, infra_id)
                continue
            owned.append(Instance(infra_id, node_id, str(server["uuid"])))
        used = {drive for server in servers for drive in all_drives(server)}
        for drive in drives:
            node_id = node_of_drive(str(drive.get("name") or ""), infra_id)
            if node_id is not None and drive.get("uuid") and str(drive["uuid"]) not in used:
                owned.append(Instance(infra_id, node_id, CLONE_PREFIX + str(drive["uuid"])))
        return owned

    # --- waiting and errors -------------------------------------------------
    def _wait(self, look: Callable[[], Any], done: Callable[[Any], bool],
              timeout: float) -> Any:
        """`look()` again, pausing longer each time up to `POLL_INTERVAL`, until `done` says
        so of what it answered or `timeout` has passed; its last answer."""
        deadline = time.monotonic() + timeout
        pause = min(0.05, self.POLL_INTERVAL)
        while True:
            seen = look()
            if done(seen) or time.monotonic() + pause > deadline:
                return seen
            time.sleep(pause)
            pause = min(pause * 2, self.POLL_INTERVAL)

    def _cloud_errors(self, operation: str, node: ResolvedNode | None = None, *,
                      missing_hint: str | None = None) -> AbstractContextManager[None]:
        """Raise what the API and httpx raise as a `TransientError` or `PermanentError`; let
        bugs through."""
        return raised_as_contract(lambda error: classify(
            error, where=self.where(node), operation=operation, secrets=self._secrets,
            missing_hint=missing_hint))
