"""The engine: executes instructions against real backends, and recovers after a crash.

    engine = Engine(store, router, ResourceHandlers(settings), settings=settings,
                    auth_data=auth_data, progress=table)
    engine.recover(infra_id, fence=lease.token)          # at the start of every pass
    result = engine.execute(infra_id, plan.actions, static.nodes, fence=lease.token,
                            cancel=token)

The caller holds the infrastructure's lease and passes its fencing token:
every record write carries it, so a command whose lease was taken over
cannot overwrite its successor's records. One call at a time, from the
thread that owns `store` (its handlers and the router's store provider);
the engine's worker threads never touch the store. Each execution obeys the
cancellation token it is given (`occo.util.cancel`), so the engine holds no
cancelled state of its own.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from occo.configmanager.managers import Managers
from occo.infobroker.auth import CredentialSource
from occo.infobroker.broker import InfoRouter
from occo.infobroker.selection import DEFAULT_STRATEGY
from occo.infobroker.store.base import Store
from occo.resourcehandler.guard import ResourceHandlers
from occo.util.cancel import Cancellation
from occo.util.config import Settings
from occo.util.errors import OccoError
from occo.util.nodes import section_key

from ..health import HealthChecker
from ..instructions import CreateNodes, Instruction
from ..record import InstanceRecord
from ..resolution import NodeResolver
from .backends import describe_section
from .execution import Execution
from .operations import reapply_due
from .parts import Parts, Tuning
from .progress import NoProgress, Progress
from .recovery import Recovery
from .results import ExecutionResult, RecoveryReport
from .survey import InstanceStatus, Survey, decoded
from .walk import with_address_waits

log = logging.getLogger("occo.infraprocessor.engine")


class Engine:
    """Executes create and drop instructions in parallel, crash-safe through the store."""

    def __init__(self, store: Store, router: InfoRouter, handlers: ResourceHandlers, *,
                 settings: Settings | None = None, auth_data: CredentialSource | None = None,
                 checker: HealthChecker | None = None, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.time, progress: Progress | None = None,
                 tuning: Tuning | None = None, strategy: str = DEFAULT_STRATEGY) -> None:
        """`router` answers the templates' queries from `store`; `clock` gives epoch seconds
        (record times, failing periods); `strategy` chooses among a node's implementations."""
        self.parts = Parts(store, router, handlers, settings or Settings(), auth_data,
                           checker or HealthChecker(), rng or random.Random(), clock,
                           progress or NoProgress(), tuning or Tuning(), strategy)
        self._reapply: dict[str, float | None] = {}     # section key -> reapply_after

    def execute(self, infra_id: str, instructions: Sequence[Instruction],
                nodes: Mapping[str, Mapping[str, Any]], *, fence: int | None,
                cancel: Cancellation | None = None) -> ExecutionResult:
        """Carry out a plan's instructions; a result per node instance.

        `nodes` are the compiled node descriptions by name (the static
        description's `nodes`), which `CreateNodes` instances are resolved
        from. Node failures are results, not exceptions; a store write that
        is refused (`StaleFenceError`) stops the execution and is raised.
        Once `cancel` is cancelled, nothing new starts: instances in flight
        finish or are rolled back.
        """
        if not instructions:     # an idle pass's plan: nothing to start or write
            return ExecutionResult(infra_id, (), cancelled=cancel is not None and cancel.cancelled)
        execution = Execution(self.parts, infra_id, fence=fence, nodes=nodes)
        unsubscribe = (cancel or Cancellation()).on_cancel(execution.stop)
        try:
            return execution.run(instructions)
        finally:
            unsubscribe()

    def recover(self, infra_id: str, *, fence: int | None) -> RecoveryReport:
        """Match the infrastructure's records against what its clouds own (see `recovery`)."""
        return Recovery(self.parts, infra_id, fence=fence).run()

    def survey(self, infra_id: str, *, fence: int | None) -> list[InstanceStatus]:
        """The live state of every stored instance (see `survey`); writes back only with `fence`."""
        return Survey(self.parts, fence=fence).run(decoded(self.parts.store, infra_id))

    def address_waits(self, creates: Sequence[CreateNodes],
                      nodes: Mapping[str, Mapping[str, Any]]) -> list[CreateNodes]:
        """The creates, each also waiting for the nodes whose addresses its templates ask
        for by name (`with_address_waits`), read from the node types' implementations."""
        resolver = NodeResolver(self.parts.router, settings=self.parts.settings,
                                rng=self.parts.rng, strategy=self.parts.strategy)
        return with_address_waits(creates, {
            create.node_name: resolver.addresses_needed(nodes[create.node_name]["type"])
            & nodes.keys() for create in creates if create.node_name in nodes})

    def reapply_due(self, records: Sequence[InstanceRecord]) -> set[str]:
        """The node ids of the ready instances whose configuration a maintain pass is to
        apply again now (`ConfigureNode`), asking no cloud nor config manager's server."""
        now = self.parts.clock()
        return {record.node_id for record in records
                if reapply_due(record, self._reapply_after(record.node.config_management), now)}

    def _reapply_after(self, section: Mapping[str, Any]) -> float | None:
        """The section's manager's `reapply_after`, kept by the section's content (a pass
        decodes its records anew; their sections are few); None for a manager that does
        not configure nodes, or whose plugin cannot be loaded here (its nodes are left as
        they are: planning goes on)."""
        key = section_key(section)
        if key not in self._reapply:
            try:
                manager = Managers(None).manager(section)
            except OccoError as error:
                log.warning("cannot tell when to configure nodes of %s again: %s",
                            describe_section(section), error.message)
                return None
            self._reapply[key] = manager.reapply_after() if manager.configures else None
        return self._reapply[key]

    def survey_records(self, records: Sequence[InstanceRecord]) -> list[InstanceStatus]:
        """The live state of these instances, of one infrastructure or many, writing nothing
        back: each cloud is asked once for as many of a connection's instances as a call
        takes, whichever infrastructure they belong to."""
        return Survey(self.parts, fence=None).run(records)
