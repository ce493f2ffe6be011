"""Recovery after a crash: an infrastructure's records against what its clouds own.

A crash leaves no other mark, so the enactor runs this under the lease at
the start of every pass. For every backend the records name, the cloud lists
what it owns for the infrastructure (`list_owned`), and:

- a resource whose node id has a record is adopted: the record gets the
  instance and its addresses (an intent becomes `created`, its create made
  again first, which finishes one a crash cut short: a container made but
  never started; whether it gets ready is the pass's business);
- a second resource for one node id (a plugin that is not idempotent) is dropped;
- a record in phase `failed` has its resource dropped, then is archived and removed;
- a record in phase `dropping` has its resource dropped again (the drop the
  crash cut short may still be carried out, or may not), then is removed;
- an intent record whose resource never appeared is removed (the crash came
  before the create, or the create failed), and its config manager told;
- a resource that no record owns is an orphan, and is dropped;
- a record without an instance whose cloud cannot be reached at all (its
  plugin will not build: a placeholder endpoint, say) is removed: nothing
  was ever made through it.

A create sent just before a crash may still be carried out after it, so an
intent younger than `Tuning.settle` seconds whose resource is not listed
yet is waited for (once, up to the youngest's age of `settle`) before the
clouds are listed: otherwise its record would be removed and the resource,
landing a moment later, left for the pass after to find as an orphan. Only
a crash leaves such intents (a failed create is rolled back by its own
execution), so only the pass after a crash waits.

Records of `created` or `ready` instances whose resource is gone are left as
they are: their state reads SHUTDOWN and the enactor replaces them. A backend
that cannot be listed is left alone and named in the report's problems.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any

from occo.resourcehandler.base import Instance, ResourceStatus, TransientError
from occo.resourcehandler.guard import HandlerUnavailable
from occo.util.errors import OccoError

from .backends import describe_section
from .dispatcher import Dispatcher
from .parts import Parts
from ..record import InstanceRecord, Phase, decode_all, stored_documents
from .results import RecoveryReport, describe


@dataclass(frozen=True)
class _Step:
    """A cloud call made by a worker, then what the owning thread records of its answer."""

    what: str
    call: Callable[[], Any]
    then: Callable[[Any], None]


class Recovery:
    """One `Engine.recover` call."""

    def __init__(self, parts: Parts, infra_id: str, *, fence: int | None) -> None:
        self.store = parts.store
        self.clock = parts.clock
        self.settle = parts.tuning.settle
        self.infra_id = infra_id
        self.fence = fence
        self.dispatcher = Dispatcher(parts.tuning.max_workers)
        self.operations = parts.operations(threading.Event())
        self.adopted: list[str] = []
        self.removed: list[str] = []
        self.orphans: list[str] = []
        self.problems: list[str] = []
        self.never_reached: list[InstanceRecord] = []    # whose cloud cannot be reached

    def run(self) -> RecoveryReport:
        records = list(self._records())
        self._let_creates_land(records)
        groups = list(self._by_connection(records).values())
        try:
            listings = self.dispatcher.map(
                lambda group: self.operations.owned(group[0].resource, self.infra_id), groups)
            steps = [step for group, listing in zip(groups, listings)
                     for step in self._steps(group, listing)]
            steps += [self._forget(record) for record in self.never_reached]
            for step, future in zip(steps, self.dispatcher.map(lambda s: s.call(), steps)):
                self._record(step, future)
        finally:
            self.dispatcher.close()
        return RecoveryReport(self.infra_id, tuple(self.adopted), tuple(self.removed),
                              tuple(self.orphans), tuple(self.problems))

    def _by_connection(self, records: Sequence[InstanceRecord]) -> dict[Any, list[InstanceRecord]]:
        """The records by the connection their resource reaches: each is listed once. A record
        whose handler cannot be built is a problem of its own, unless nothing was ever made
        through it (`_never_reached`)."""
        connections: dict[Any, list[InstanceRecord]] = {}
        for record in records:
            try:
                cloud = self.operations.backends.cloud(record.resource)
            except HandlerUnavailable as error:
                if record.instance is None and record.phase is not Phase.READY:
                    self.never_reached.append(record)
                else:
                    self.problems.append(f"cannot reach {describe_section(record.resource)} "
                                         f"of node {record.node_id}: {describe(error)}")
                continue
            connections.setdefault(cloud, []).append(record)
        return connections

    def _forget(self, record: InstanceRecord) -> _Step:
        """A record of a node whose cloud was never reached: its config manager is told, and
        the record removed (archived if it failed)."""
        return _Step(f"cleaning up node {record.node_id}",
                     partial(self.operations.teardown, record, []), partial(self._remove, record))

    def _let_creates_land(self, records: Sequence[InstanceRecord]) -> None:
        unconfirmed = [record.created_at for record in records
                       if record.phase is Phase.INTENT and record.instance is None]
        if unconfirmed:
            wait = min(self.settle, max(unconfirmed) + self.settle - self.clock())
            if wait > 0:
                time.sleep(wait)

    def _steps(self, records: Sequence[InstanceRecord],
               listing: Future[list[Instance]]) -> Iterator[_Step]:
        resource = records[0].resource
        try:
            owned = listing.result()
        except OccoError as error:
            self.problems.append(f"cannot list the resources of {describe_section(resource)}: "
                                 f"{describe(error)}")
            return
        found: dict[str, list[Instance]] = {}
        for instance in owned:
            found.setdefault(instance.node_id, []).append(instance)
        for record in records:
            instances = found.pop(record.node_id, [])
            if record.phase in (Phase.FAILED, Phase.DROPPING) or (
                    record.phase is Phase.INTENT and not instances):
                yield _Step(f"cleaning up node {record.node_id}",
                            partial(self.operations.teardown, record, instances),
                            partial(self._remove, record))
                continue
            if not instances:
                continue
            known = record.instance.instance_id if record.instance is not None else None
            keep = next((i for i in instances if i.instance_id == known), instances[0])
            yield from (self._orphan(resource, extra) for extra in instances if extra is not keep)
            if record.phase is Phase.INTENT:
                yield _Step(f"finishing the create of node {record.node_id}",
                            partial(self._finish_create, resource, record, keep),
                            partial(self._adopt, record))
            elif keep.instance_id != known:
                yield _Step(f"adopting node {record.node_id}",
                            partial(self._locate, resource, keep),
                            partial(self._adopt, record))
        yield from (self._orphan(resource, instance)
                    for instances in found.values() for instance in instances)

    def _orphan(self, resource: dict[str, Any], instance: Instance) -> _Step:
        return _Step(f"dropping orphan {instance.instance_id} of {describe_section(resource)}",
                     partial(self.operations.drop, resource, instance),
                     lambda _: self.orphans.append(instance.instance_id))

    def _locate(self, resource: dict[str, Any],
                instance: Instance) -> tuple[Instance, ResourceStatus | None]:
        """The instance and what the cloud tells of it; None if it cannot say now."""
        try:
            return instance, self.operations.status(resource, instance)
        except TransientError:
            return instance, None

    def _finish_create(self, resource: dict[str, Any], record: InstanceRecord,
                       found: Instance) -> tuple[Instance, ResourceStatus | None]:
        """An intent whose resource is `found`: its create is made again, since the crash may
        have cut it short half-way (a container made, never started). Creates are idempotent
        for a node id, and finish what an earlier attempt began."""
        self.operations.create_again(record.node)
        return self._locate(resource, found)

    def _adopt(self, record: InstanceRecord,
               found: tuple[Instance, ResourceStatus | None]) -> None:
        instance, located = found
        phase = Phase.CREATED if record.phase is Phase.INTENT else record.phase
        record = record.replace(phase=phase, instance=instance,
                                addresses=located and located.addresses or record.addresses,
                                private_ip=located and located.private_ip or record.private_ip)
        self.store.put_instance(self.infra_id, record.name, record.node_id, record.to_dict(),
                                fence=self.fence)
        self.adopted.append(record.node_id)

    def _remove(self, record: InstanceRecord, _: None) -> None:
        if record.phase is Phase.FAILED:
            self.store.archive_failed(self.infra_id, record.node_id, record.to_dict(),
                                      fence=self.fence)
        self.store.remove_instance(self.infra_id, record.name, record.node_id, fence=self.fence)
        self.removed.append(record.node_id)

    def _record(self, step: _Step, future: Future[Any]) -> None:
        try:
            answer = future.result()
        except OccoError as error:
            self.problems.append(f"{step.what}: {describe(error)}")
            return
        step.then(answer)

    def _records(self) -> list[InstanceRecord]:
        return decode_all(stored_documents(self.store.get_instances(self.infra_id)),
                          lambda error: self.problems.append(str(error)))

