"""Commands racing on one store, as unittest mixins.

`ProcessRaces`: workers are forked, so they reach the store through the test's
own `make_store(user, prefix)`; each opens its own connection, as another
occopus command would, and reports back through a queue.

`InterleavedGrants`: for backends that decide a lease between a read and a
conditional write (Redis WATCH/MULTI, MongoDB compare-and-set), another command
is made to take the lease exactly in between.

`InterleavedQueueChanges`: likewise for a scaling queue changed by
compare-and-set; other commands write exactly between its read and its write.
"""
from __future__ import annotations

import multiprocessing
import unittest.mock
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from occo.infobroker.store import leases, pending
from occo.infobroker.store.backend import ATTEMPTS
from occo.infobroker.store.base import (Event, Lease, LeaseHeld, LeaseOwner, PendingScaling,
                                        ScalingQueueFull, StaleFenceError, Store, StoreError)

from .store_conformance import Mixin

CONTEXT = multiprocessing.get_context("fork")
WAIT = 60.0          # the longest any worker may take: a failure, not a timing assertion
ROUNDS = 5
WRITES = 200


def worker(number: int) -> LeaseOwner:
    return LeaseOwner("test-host", 1000 + number, f"worker-{number}")


class ProcessRaces(Mixin):
    store: Store

    if TYPE_CHECKING:  # what a backend's test class provides
        def make_store(self, user: str, prefix: str) -> Store: ...

    def in_processes(self, *jobs: Callable[[Store], Any]) -> list[Any]:
        """What each job returned, run at once in its own process on its own store."""
        results = CONTEXT.Queue()

        def run(number: int, job: Callable[[Store], Any]) -> None:
            try:
                with self.make_store("alice", "") as store:
                    results.put((number, job(store)))
            except BaseException as error:  # reported, so the test fails with it
                results.put((number, f"worker failed: {error!r}"))

        processes = [CONTEXT.Process(target=run, args=(number, job))
                     for number, job in enumerate(jobs)]
        for process in processes:
            process.start()
        try:
            outcomes = dict(results.get(timeout=WAIT) for _ in processes)
        finally:
            for process in processes:
                process.join(WAIT)
                if process.is_alive():
                    process.kill()
        return [outcomes[number] for number in range(len(jobs))]

    def test_two_processes_race_for_a_lease_and_exactly_one_wins(self) -> None:
        for round_ in range(ROUNDS):
            infra_id = f"race-{round_}"
            start = CONTEXT.Barrier(2)

            def contend(number: int) -> Callable[[Store], tuple[str, int, int]]:
                def job(store: Store) -> tuple[str, int, int]:
                    start.wait(WAIT)
                    try:
                        lease = store.acquire_lease(infra_id, worker(number), ttl=60)
                    except LeaseHeld as held:
                        return "held", held.holder.owner.pid, held.holder.token
                    return "won", lease.owner.pid, lease.token
                return job

            outcomes = self.in_processes(contend(0), contend(1))
            self.assertEqual(sorted(outcome[0] for outcome in outcomes), ["held", "won"], outcomes)
            won, = (outcome for outcome in outcomes if outcome[0] == "won")
            held, = (outcome for outcome in outcomes if outcome[0] == "held")
            self.assertEqual(held[1:], won[1:])
            current = self.store.current_lease(infra_id)
            self.assertEqual((current.owner.pid, current.token) if current else None, won[1:])

    def test_a_writer_whose_lease_was_taken_over_is_fenced_off(self) -> None:
        self.store.add_infrastructure("infra", {})
        holding, taken_over = CONTEXT.Event(), CONTEXT.Event()

        def slow_writer(store: Store) -> str:
            lease = store.acquire_lease("infra", worker(0), ttl=10, now=1000.0)
            holding.set()
            taken_over.wait(WAIT)
            try:
                store.put_instance("infra", "web", "late", {}, fence=lease.token)
            except StaleFenceError:
                return "fenced off"
            return "written"

        def successor(store: Store) -> str:
            holding.wait(WAIT)
            lease = store.acquire_lease("infra", worker(1), ttl=10, now=1010.0)
            taken_over.set()
            store.put_instance("infra", "web", "on-time", {}, fence=lease.token)
            return "took over"

        self.assertEqual(self.in_processes(slow_writer, successor), ["fenced off", "took over"])
        self.assertEqual(self.store.get_instances("infra"), {"web": {"on-time": {}}})

    def test_concurrent_instance_writes_from_two_processes_lose_nothing(self) -> None:
        self.store.add_infrastructure("infra", {})

        def writer(number: int) -> Callable[[Store], int]:
            def job(store: Store) -> int:
                for index in range(WRITES):
                    store.put_instance("infra", "web", f"{number}-{index}", {"index": index})
                    store.append_event(Event("infra", f"worker-{number}", float(index)))
                return WRITES
            return job

        self.assertEqual(self.in_processes(writer(0), writer(1)), [WRITES, WRITES])
        instances = self.store.get_instances("infra")["web"]
        self.assertEqual(instances, {f"{number}-{index}": {"index": index}
                                     for number in range(2) for index in range(WRITES)})
        events = self.store.events("infra")
        for number in range(2):
            self.assertEqual([event.timestamp for event in events
                              if event.name == f"worker-{number}"],
                             [float(index) for index in range(WRITES)])


    def test_of_two_processes_attaching_at_once_exactly_one_is_told_it_was_new(self) -> None:
        for round_ in range(ROUNDS):
            infra_id = f"attach-{round_}"
            self.store.add_infrastructure(infra_id, {})
            start = CONTEXT.Barrier(2)

            def attach(store: Store) -> bool:
                start.wait(WAIT)
                return store.attach(infra_id)

            self.assertEqual(sorted(self.in_processes(attach, attach)), [False, True])
        self.assertEqual(self.store.attached(), [f"attach-{round_}" for round_ in range(ROUNDS)])


class InterleavedGrants(Mixin):
    store: Store

    if TYPE_CHECKING:  # what a backend's test class provides (StoreConformance does)
        def open_store(self, user: str = "alice", prefix: str = "") -> Store: ...

    def test_a_lease_granted_while_another_is_being_decided_wins(self) -> None:
        rival = self.open_store()
        decide = leases.grant
        rivals: list[Lease] = []

        def rival_grabs_it_first(*args: Any, **kwargs: Any) -> Lease:
            """The first decision: the rival takes the lease (deciding normally) just before."""
            grant.side_effect = decide
            rivals.append(rival.acquire_lease("infra", worker(1), ttl=60, now=0))
            return decide(*args, **kwargs)

        patch = unittest.mock.patch.object(leases, "grant", side_effect=rival_grabs_it_first)
        with patch as grant, self.assertRaises(LeaseHeld) as caught:
            self.store.acquire_lease("infra", worker(0), ttl=60, now=0)
        self.assertEqual(caught.exception.holder, rivals[0])
        self.assertEqual(self.store.current_lease("infra", now=1), rivals[0])


class InterleavedQueueChanges(Mixin):
    store: Store

    if TYPE_CHECKING:  # what a backend's test class provides (StoreConformance does)
        def open_store(self, user: str = "alice", prefix: str = "") -> Store: ...

    def queue_while(self, rival_writes: Callable[[int], None]) -> list[int]:
        """Queue one create while `rival_writes(attempt)` runs between each read of the queue
        and its write; the attempts made."""
        decide = pending.queued
        attempts: list[int] = []

        def rival_first(*args: Any, **kwargs: Any) -> PendingScaling:
            attempts.append(len(attempts))
            rival_writes(attempts[-1])
            return decide(*args, **kwargs)

        with unittest.mock.patch.object(pending, "queued", side_effect=rival_first):
            self.store.queue_scaling("infra", "web", "create", limit=10_000)
        return attempts

    def test_writes_that_leave_the_queue_alone_never_make_it_try_again(self) -> None:
        rival = self.open_store()
        self.store.add_infrastructure("infra", {})
        rival.add_infrastructure("other", {})

        def elsewhere(attempt: int) -> None:
            if attempt == 0:   # any more would be a retry, which this test is about
                rival.acquire_lease("other", worker(1), ttl=60, now=0)
                rival.add_infrastructure("another", {})
                rival.set_target_count("other", "web", 3)
                rival.put_instance("infra", "web", "w1", {})
                rival.set_target_count("infra", "db", 2)

        self.assertEqual(self.queue_while(elsewhere), [0])
        self.assertEqual(self.store.pending_scaling("infra", "web"), PendingScaling(create=1))

    def test_a_target_set_between_the_read_and_the_write_makes_it_read_again(self) -> None:
        rival = self.open_store()
        self.store.add_infrastructure("infra", {})
        self.store.set_target_count("infra", "web", 1)
        targets: list[int | None] = []
        real = pending.queued

        def decide(*args: Any, **kwargs: Any) -> PendingScaling:
            targets.append(args[-1])
            if len(targets) == 1:       # as a pass or scaleto sets it meanwhile
                rival.set_target_count("infra", "web", 4)
            return real(*args, **kwargs)

        with unittest.mock.patch.object(pending, "queued", side_effect=decide), \
                self.assertRaises(ScalingQueueFull) as caught:
            self.store.queue_scaling("infra", "web", "create",
                                     limit=lambda target, queued: 4 - (target or 0))
        self.assertEqual(targets, [1, 4])
        self.assertEqual(caught.exception.target, 4)
        self.assertEqual(self.store.pending_scaling("infra", "web"), PendingScaling())

    def test_a_queue_that_keeps_changing_is_given_up_with_a_store_error(self) -> None:
        rival = self.open_store()
        self.store.add_infrastructure("infra", {})
        self.store.queue_scaling("infra", "web", "create", count=1000, limit=10_000)

        def on_the_same_queue(attempt: int) -> None:
            if attempt < ATTEMPTS + 5:   # an endless retry would end, and fail this test
                rival.consume_scaling("infra", "web", PendingScaling(create=1))

        with self.assertRaises(StoreError) as caught:
            self.queue_while(on_the_same_queue)
        self.assertIn("kept changing", caught.exception.message)
        self.assertEqual(self.store.pending_scaling("infra", "web"),
                         PendingScaling(create=1000 - ATTEMPTS))
