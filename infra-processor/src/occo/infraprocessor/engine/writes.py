"""The records and events of one execution, kept back and written together.

Each write is a transaction the owning thread waits for, and a level of 250
instances makes 750 of them on its way to ready: one at a time, they held
back the answers and polls of the instances the next node type waits for.
Kept back, the records of one moment go in one transaction. What a crash may
lose is safe to lose: an instance whose `created` record was lost is found by
its tags (`list_owned`) and adopted, one whose `ready` was lost is polled
again. What must not be lost is written at once (`flush`): an intent before
its create, `failed` before the roll-back, the records templates read before
they are rendered.
"""
from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from occo.infobroker.store.base import Event, Store
from occo.util.redact import redact

from ..record import InstanceRecord

log = logging.getLogger("occo.infraprocessor.engine")

SHARE = 50      # records, or events, written in one transaction while answers wait


class WriteBehind:
    """The store as one execution writes it; used from the owning thread only."""

    def __init__(self, store: Store, infra_id: str, fence: int | None,
                 clock: Callable[[], float]) -> None:
        self.store = store
        self.infra_id = infra_id
        self.fence = fence
        self.clock = clock
        self.pending: dict[str, InstanceRecord] = {}
        self.events: list[Event] = []

    @property
    def waiting(self) -> bool:
        """Records or events are kept back."""
        return bool(self.pending or self.events)

    def put(self, record: InstanceRecord) -> None:
        """Keep `record` to be written, replacing any kept for its node."""
        self.pending[record.node_id] = record

    def event(self, event: str, /, **data: Any) -> None:
        """Log an event, stamped now; it is written with the records (secrets and URL
        passwords in its data hidden: events are shown to whoever reads the log)."""
        self.events.append(Event(self.infra_id, event, self.clock(), redact(data)))

    def flush(self, node_ids: Sequence[str] | None = None) -> None:
        """Write the records kept back, or those of `node_ids`, in one transaction."""
        records = (list(self.pending.values()) if node_ids is None
                   else [self.pending[node_id] for node_id in node_ids if node_id in self.pending])
        if records:
            self.store.put_instances(self.infra_id,
                                     [(record.name, record.node_id, record.encoded())
                                      for record in records],
                                     fence=self.fence)
            for record in records:
                del self.pending[record.node_id]

    def records(self) -> dict[str, dict[str, dict]]:
        """Every stored record, by node name and id, once those kept back are written."""
        self.flush()
        return self.store.get_instances(self.infra_id)

    def remove(self, record: InstanceRecord, *, archive: bool = False) -> None:
        """Remove the record (archived first if `archive`: it failed); `nodedropped`."""
        self.pending.pop(record.node_id, None)
        if archive:
            self.store.archive_failed(self.infra_id, record.node_id, record.to_dict(),
                                      fence=self.fence)
        self.store.remove_instance(self.infra_id, record.name, record.node_id, fence=self.fence)
        self.event("nodedropped", node_id=record.node_id, name=record.name)

    def write_all(self) -> None:
        """Write the records and the events kept back."""
        self.flush()
        self.write_events()

    def write_share(self) -> None:
        """Write up to `SHARE` of the records kept back, or else of the events, in one
        transaction: what the owning thread writes while it waits for answers.

        Written whole, the records and events of a level of hundreds just seen
        ready kept the thread for tens of milliseconds (encoding them is most
        of it), and the answers of the polls that came meanwhile, which the
        next level waited for, waited that long to be looked at. A share at a
        time, the loop looks for them between shares.
        """
        if self.pending:
            self.flush(list(itertools.islice(self.pending, SHARE)))
        else:
            self.write_events(SHARE)

    def write_events(self, count: int | None = None) -> None:
        """Write the events kept back, or the first `count` of them, in one transaction."""
        events = self.events[:count]
        if events:
            self.store.append_events(events)
            del self.events[:len(events)]

    def save_what_is_left(self) -> None:
        """After an error: write what was kept back, as far as the store still takes it
        (events take no fence; a lost lease refuses the records)."""
        for what, write in (("events", self.write_events), ("records", self.flush)):
            try:
                write()
            except Exception as error:
                log.warning("the %s of infrastructure %s kept back could not be written: %s",
                            what, self.infra_id, error)
