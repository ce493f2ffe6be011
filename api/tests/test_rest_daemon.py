"""The REST service's maintainer, for real: its threads, passes on simcloud, a SQLite store
in the test's folder, and processes sharing a Redis store.

- in-process (`MaintainerTest`): an attached infrastructure is built and kept, a
  wake brings a pass, a restarted maintainer takes up the attached set, detach and
  destroy cancel the pass of their infrastructure alone, `stop` ends the passes and
  leaves no lease, a pass refused for the lease or one that raises is logged and the
  worker goes on; the workers share their clean passes (recovery is skipped whichever
  made the last); a destroy is carried out by the member that maintains the
  infrastructure, whichever was asked, and one cut short by `stop` by the next start;
- `ScheduleTest`: the schedule's bookkeeping alone, on a clock of the test's;
- processes (`SharingTest`): three members on the Redis service at 127.0.0.1:6379
  (skipped when none answers, failed in CI) share the attached infrastructures, each
  passed by one member; the survivors of a SIGKILL take its infrastructures once its
  announcement expired; SIGTERM withdraws them and leaves no lease.

Each in-process test has its own HOME (the infralist) and store; each sharing test
its own Redis key prefix, whose keys are removed at the end.
"""
from __future__ import annotations

import getpass
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
import uuid
from typing import Any
from unittest import mock

import redis
import yaml

from occo.api.infralist import Infralist
from occo.api.rest.daemon import (InfrastructureBeingDestroyed, Maintainer, MaintainerStopped,
                                  MaintenanceStatus)
from occo.api.rest.daemon.membership import owner
from occo.api.rest.daemon.schedule import Schedule
from occo.api.session import connect
from occo.compiler import compile_description
from occo.enactor.enactor import RECOVER_EVERY, Enactor
from occo.infobroker.store import InfrastructureNotFound, LeaseOwner, Store
from occo.infobroker.store.redis import INFRASTRUCTURE_KEYS, NAMESPACE_KEYS
from occo.infraprocessor.engine import Engine
from occo.util.cancel import Cancellation
from occo.util.config import Settings, load_settings

from .support import DEADLINE, Gate, SimCloudCommandCase, by_node_name, cloud_instances, wait_until

REDIS_URL = "redis://127.0.0.1:6379/0"
UNKNOWN = MaintenanceStatus(attached=False, here=False, running=False, last_pass=None,
                            last_ok=None, destroying=False)
LOGGER = "occo.api.rest"

SHOP = """\
infra_name: shop
nodes:
  - {name: db, type: plain}
  - {name: app, type: plain, scaling: {min: 2, max: 5}}
dependencies:
  - [app, db]
"""


def one_node(name: str, node_type: str) -> str:
    return f"infra_name: {name}\nnodes:\n  - {{name: {name}, type: {node_type}}}\n"


class Records(logging.Handler):
    """The messages of the maintainer's logger, kept for the test to read."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int = logging.DEBUG) -> list[str]:
        return [record.getMessage() for record in list(self.records) if record.levelno >= level]


class MaintainerCase(SimCloudCommandCase):
    """A config file of the test's (`configure`), the store it names, and infrastructures
    added to it (not built: the maintainer builds them)."""

    def setUp(self) -> None:
        super().setUp()
        patcher = mock.patch.dict(os.environ, {"HOME": str(self.home)})
        patcher.start()
        self.addCleanup(patcher.stop)

    def configure(self, store: str, *, interval: float, workers: int) -> Settings:
        self.cfg = self.write("occopus_config.yaml",
                              f"{store}rest:\n  interval: {interval}\n  workers: {workers}\n")
        return load_settings(self.cfg)

    def store_of(self, settings: Settings) -> Store:
        store = connect(settings)
        self.addCleanup(store.close)
        return store

    def add(self, store: Store, text: str) -> str:
        """An infrastructure stored (and listed) as `occopus-build` stores it, not built."""
        static = compile_description(yaml.safe_load(text))
        store.add_infrastructure(static.infra_id, static.to_dict())
        Infralist().add(static.infra_id)
        return static.infra_id

    def ready(self, store: Store, infra_id: str) -> bool:
        return any(event.name == "infraready" for event in store.events(infra_id))

    def nodes_in_cloud(self, infra_id: str) -> dict[str, int]:
        return {name: len(ids)
                for name, ids in by_node_name(cloud_instances(self.cloud, infra_id)).items()}


class MaintainerTest(MaintainerCase):

    def setUp(self) -> None:
        super().setUp()
        self.logs = Records()
        logger = logging.getLogger(LOGGER)
        logger.addHandler(self.logs)
        self.addCleanup(logger.removeHandler, self.logs)
        previous = logger.level, logger.propagate
        logger.setLevel(logging.DEBUG)
        logger.propagate = False         # kept here, not printed among the test results
        self.addCleanup(lambda: (logger.setLevel(previous[0]),
                                 setattr(logger, "propagate", previous[1])))

    def maintainer(self, interval: float = 0.2, workers: int = 2) -> tuple[Maintainer, Store]:
        settings = self.configure("store:\n  backend: sqlite\n  path: state/state.db\n",
                                  interval=interval, workers=workers)
        maintainer = Maintainer(settings)
        self.addCleanup(maintainer.stop)
        return maintainer, self.store_of(settings)

    def assert_no_maintainer_thread(self) -> None:
        self.assertEqual([thread.name for thread in threading.enumerate()
                          if thread.name.startswith("occo-maintainer")], [])

    def test_an_attached_infrastructure_is_built_and_kept_ready(self) -> None:
        maintainer, store = self.maintainer()
        self.import_definitions(plain=self.cloud)
        infra_id = self.add(store, SHOP)
        maintainer.start()
        self.assertEqual(maintainer.status(infra_id),
                         UNKNOWN)
        self.assertTrue(maintainer.attach(infra_id))
        self.assertFalse(maintainer.attach(infra_id))
        self.assertEqual(store.attached(), [infra_id])
        wait_until(lambda: self.ready(store, infra_id), "the maintainer built the infrastructure")
        self.assertEqual(self.nodes_in_cloud(infra_id), {"db": 1, "app": 2})
        # it goes on passing: the passes after the build find nothing to do
        first = wait_until(lambda: maintainer.status(infra_id).last_pass, "a pass ended")
        wait_until(lambda: maintainer.status(infra_id).last_pass > first, "another pass")
        status = maintainer.status(infra_id)
        self.assertEqual((status.attached, status.here, status.last_ok, status.destroying),
                         (True, True, True, False))
        self.assertIn(f"maintainer {maintainer.member}: pass of {infra_id}: nothing to do",
                      self.logs.messages())
        self.assertEqual(self.nodes_in_cloud(infra_id), {"db": 1, "app": 2})
        with self.assertRaises(InfrastructureNotFound):
            maintainer.attach("no-such-infrastructure")
        # destroyed between two passes: gone from the store, the infralist and the cloud
        maintainer.destroy(infra_id)
        wait_until(lambda: infra_id not in store.list_infrastructures(), "it was destroyed")
        self.assertEqual(cloud_instances(self.cloud, infra_id), [])
        self.assertEqual(Infralist().ids(), [])
        self.assertEqual(maintainer.status(infra_id),
                         UNKNOWN)
        self.assertEqual(self.logs.messages(logging.WARNING), [])

    def test_a_wake_brings_a_pass_before_the_interval(self) -> None:
        maintainer, store = self.maintainer(interval=600)
        self.import_definitions(plain=self.cloud)
        infra_id = self.add(store, SHOP)
        maintainer.start()
        maintainer.attach(infra_id)          # the first pass comes at once
        wait_until(lambda: self.ready(store, infra_id), "the maintainer built the infrastructure")
        wait_until(lambda: maintainer.status(infra_id).last_ok, "the build pass ended")
        store.queue_scaling(infra_id, "app", "create", count=2, limit=5)
        maintainer.wake(infra_id)
        wait_until(lambda: self.nodes_in_cloud(infra_id) == {"db": 1, "app": 4},
                   lambda: f"the scale-up was done: {self.nodes_in_cloud(infra_id)}")
        maintainer.wake("not-attached")      # nothing to do, no error

    def test_a_restarted_maintainer_takes_up_the_attached_infrastructures(self) -> None:
        first, store = self.maintainer()
        self.import_definitions(plain=self.cloud)
        infra_id = self.add(store, SHOP)
        first.start()
        first.attach(infra_id)
        wait_until(lambda: self.ready(store, infra_id), "the maintainer built the infrastructure")
        first.stop()
        self.assertEqual(store.members(), [])
        self.assertIsNone(store.current_lease(infra_id))
        # asked while no maintainer runs: the next one does it, with no attach
        store.queue_scaling(infra_id, "app", "create", count=1, limit=5)
        second = Maintainer(first.settings)
        self.addCleanup(second.stop)
        second.start()
        self.assertEqual(store.members(), [second.member])
        status = second.status(infra_id)
        self.assertEqual((status.attached, status.here), (True, True))
        wait_until(lambda: self.nodes_in_cloud(infra_id) == {"db": 1, "app": 3},
                   lambda: f"the restarted maintainer scaled up: {self.nodes_in_cloud(infra_id)}")

    def test_detach_and_destroy_cancel_the_pass_of_their_infrastructure_alone(self) -> None:
        gates = {name: Gate(self) for name in ("kept", "detached", "destroyed")}
        maintainer, store = self.maintainer(workers=3)
        self.import_definitions(health={name: gate.health_check() for name, gate in gates.items()},
                                **{name: self.cloud for name in gates})
        ids = {name: self.add(store, one_node(name, name)) for name in gates}
        maintainer.start()
        for infra_id in ids.values():
            maintainer.attach(infra_id)
        # every pass waits for its node's health check: all three are in flight
        booting = {name: wait_until(lambda: cloud_instances(self.cloud, infra_id),
                                    f"{name}'s node booted")
                   for name, infra_id in ids.items()}
        for infra_id in ids.values():
            self.assertTrue(maintainer.status(infra_id).running)

        self.assertTrue(maintainer.detach(ids["detached"]))
        self.assertFalse(maintainer.detach(ids["detached"]))
        maintainer.destroy(ids["destroyed"])
        self.assertTrue(maintainer.status(ids["destroyed"]).destroying)
        # the destroyed one is gone from the store, the infralist and the cloud
        wait_until(lambda: ids["destroyed"] not in store.list_infrastructures(),
                   "the infrastructure was destroyed")
        self.assertEqual(cloud_instances(self.cloud, ids["destroyed"]), [])
        self.assertNotIn(ids["destroyed"], Infralist().ids())
        wait_until(lambda: not maintainer.status(ids["destroyed"]).destroying,
                   "the destroy ended")
        # the detached one's pass rolled back what it booted; it is kept, not maintained
        wait_until(lambda: not cloud_instances(self.cloud, ids["detached"]),
                   "the detached infrastructure's pass rolled back its node")
        wait_until(lambda: not maintainer.status(ids["detached"]).running,
                   "the detached infrastructure's pass ended")
        self.assertIn(ids["detached"], store.list_infrastructures())
        self.assertEqual(store.attached(), [ids["kept"]])
        self.assertEqual(maintainer.status(ids["detached"]).attached, False)
        self.assertEqual(self.logs.messages(logging.ERROR), [])
        # the kept one's first pass was never cancelled: it still runs, then builds its node
        kept = maintainer.status(ids["kept"])
        self.assertEqual((kept.running, kept.last_pass), (True, None))
        # due again and again while it runs (interval 0.2 s), it was never started twice
        self.assertEqual(self.logs.messages().count(
            f"maintainer {maintainer.member}: pass of {ids['kept']}"), 1)
        gates["kept"].open()
        wait_until(lambda: self.ready(store, ids["kept"]), "the kept infrastructure is ready")
        self.assertEqual([item["id"] for item in cloud_instances(self.cloud, ids["kept"])],
                         [item["id"] for item in booting["kept"]])
        self.assertTrue(wait_until(lambda: maintainer.status(ids["kept"]).last_ok,
                                   "the kept infrastructure's pass ended well"))
        self.assertFalse(any("pass of " + ids["kept"] + " cancelled" in message
                             for message in self.logs.messages()))
        with self.assertRaises(InfrastructureNotFound):
            maintainer.destroy("no-such-infrastructure")

    def test_what_another_process_attaches_or_detaches_is_followed(self) -> None:
        gate = Gate(self)
        maintainer, store = self.maintainer()
        self.import_definitions(health={"held": gate.health_check()}, held=self.cloud)
        infra_id = self.add(store, one_node("held", "held"))
        maintainer.start()
        store.attach(infra_id)                  # as another process of the service does
        wait_until(lambda: cloud_instances(self.cloud, infra_id), "its pass booted the node")
        self.assertTrue(maintainer.status(infra_id).running)
        store.detach(infra_id)
        wait_until(lambda: not maintainer.status(infra_id).running, "its pass was cancelled")
        self.assertEqual(cloud_instances(self.cloud, infra_id), [])
        self.assertFalse(maintainer.status(infra_id).attached)
        # withdrawn by someone else (a store flushed): it announces itself again
        store.withdraw(maintainer.member)
        wait_until(lambda: store.members() == [maintainer.member], "it announced itself again")

    def test_stop_cancels_the_passes_in_flight_and_leaves_no_lease(self) -> None:
        gate = Gate(self)
        maintainer, store = self.maintainer()
        self.import_definitions(health={"held": gate.health_check()}, held=self.cloud)
        infra_id = self.add(store, one_node("held", "held"))
        maintainer.start()
        maintainer.attach(infra_id)
        wait_until(lambda: cloud_instances(self.cloud, infra_id), "the node booted")
        self.assertIsNotNone(store.current_lease(infra_id))
        self.assertEqual(store.members(), [maintainer.member])
        maintainer.stop()
        self.assert_no_maintainer_thread()
        self.assertIsNone(store.current_lease(infra_id))
        self.assertEqual(store.members(), [])
        self.assertEqual(cloud_instances(self.cloud, infra_id), [])     # rolled back
        self.assertEqual(store.attached(), [infra_id])       # for the next start to take up
        self.assertFalse(maintainer.status(infra_id).here)
        with self.assertRaises(MaintainerStopped):
            maintainer.attach(infra_id)
        maintainer.stop()                                       # twice is harmless

    def test_a_pass_refused_the_lease_is_skipped_quietly_and_tried_again(self) -> None:
        maintainer, store = self.maintainer(workers=1)
        self.import_definitions(plain=self.cloud)
        infra_id = self.add(store, one_node("db", "plain"))
        lease = store.acquire_lease(infra_id, LeaseOwner("elsewhere.example", 1, "other"), 60)
        maintainer.start()
        maintainer.attach(infra_id)
        wait_until(lambda: sum(f"pass of {infra_id} skipped" in message
                               for message in self.logs.messages(logging.INFO)) >= 2,
                   "two passes were skipped")
        self.assertEqual(self.logs.messages(logging.WARNING), [])
        self.assertEqual(cloud_instances(self.cloud, infra_id), [])
        store.release_lease(lease)
        wait_until(lambda: self.ready(store, infra_id), "the infrastructure was built")

    def test_a_node_whose_creates_keep_failing_is_tried_less_and_less_often(self) -> None:
        refusing = self.another_cloud()
        maintainer, store = self.maintainer(workers=1)
        self.import_definitions(picky=refusing)
        infra_id = self.add(store, one_node("queue", "picky"))
        refusing.fail_next(400, 100_000)            # a permanent error, every time
        maintainer.start()
        maintainer.attach(infra_id)

        def said(what: str) -> list[str]:
            return [message for message in self.logs.messages()
                    if message.startswith(f"maintainer {maintainer.member}: {what}")]
        # passes 1, 2 try (2 failures: held 1 pass), 3 holds, 4 tries (3 failures: held 3)...
        wait_until(lambda: len(said(f"the pass of {infra_id} holds back")) >= 4,
                   "the node was held back in four passes")
        holds = said(f"the pass of {infra_id} holds back")
        self.assertIn("queue (its creates failed in 2 passes in a row: held back for 1 pass(es))",
                      holds[0])
        self.assertIn("queue (its creates failed in 3 passes in a row: held back for 3 pass(es))",
                      holds[3])
        # the passes that tried to create it (the others fail too: every call is refused,
        # the drops of what the failed creates may have left as well)
        tried = [message for message in said(f"pass of {infra_id} failed")
                 if "cannot create it" in message]
        self.assertIn(len(tried), (3, 4))            # the 8th pass may have tried already
        self.assertIn("answered 400", tried[0])

    def test_a_pass_that_raises_is_logged_and_the_worker_goes_on(self) -> None:
        maintainer, store = self.maintainer(workers=1)
        self.import_definitions(plain=self.cloud)
        infra_id = self.add(store, one_node("db", "plain"))
        real = Enactor.make_a_pass
        calls = []

        def first_raises(enactor: Enactor, *args: Any, **options: Any) -> Any:
            calls.append(args)
            if len(calls) == 1:
                raise RuntimeError("a bug in the pass")
            return real(enactor, *args, **options)
        with mock.patch.object(Enactor, "make_a_pass", first_raises):
            maintainer.start()
            maintainer.attach(infra_id)
            wait_until(lambda: self.ready(store, infra_id), "the next pass built it")
        [failure] = [record for record in self.logs.records if record.levelno >= logging.ERROR]
        self.assertEqual(failure.getMessage(),
                         f"maintainer {maintainer.member}: pass of {infra_id} failed")
        self.assertIsNotNone(failure.exc_info)
        self.assertEqual(maintainer.status(infra_id).last_ok, True)

    def test_checks_that_raise_name_every_infrastructure_and_each_gets_a_full_pass(self):
        maintainer, store = self.maintainer(interval=0.05, workers=1)
        self.import_definitions(plain=self.cloud)
        ids = [self.add(store, one_node("db", "plain")) for _ in range(2)]
        real = Enactor.quiet
        batches: list[list[str]] = []

        def first_raises(enactor: Enactor, infra_ids: Any) -> set[str]:
            batches.append(list(infra_ids))
            if len(batches) == 1:
                raise RuntimeError("a bug in the check")
            return real(enactor, infra_ids)
        with mock.patch.object(Enactor, "quiet", first_raises):
            maintainer.start()
            for infra_id in ids:
                maintainer.attach(infra_id)
            wait_until(lambda: len(batches) >= 3, "checks after the one that raised")
            maintainer.stop()
        records = list(self.logs.records)
        [failure] = [record for record in records if record.levelno >= logging.ERROR]
        self.assertIn(f"checks of {len(batches[0])} infrastructure(s) (", failure.getMessage())
        self.assertIn("each gets a full pass", failure.getMessage())
        after = [record.getMessage() for record in records[records.index(failure):]]
        for infra_id in batches[0]:
            self.assertIn(infra_id, failure.getMessage())
            self.assertIn(f"maintainer {maintainer.member}: pass of {infra_id}", after)

    def passes(self, maintainer: Maintainer, infra_id: str) -> list[logging.LogRecord]:
        """The log records of the passes (and checks) of `infra_id` that `maintainer`
        started."""
        said = {f"maintainer {maintainer.member}: {job} of {infra_id}"
                for job in ("pass", "check")}
        return [record for record in list(self.logs.records) if record.getMessage() in said]

    def test_recovery_is_skipped_whichever_worker_made_the_last_pass(self) -> None:
        maintainer, store = self.maintainer(interval=0.05, workers=3)
        self.import_definitions(plain=self.cloud)
        infra_id = self.add(store, one_node("db", "plain"))
        real = Engine.recover
        recoveries = []

        def counted(engine: Engine, *args: Any, **options: Any) -> Any:
            recoveries.append(args)
            return real(engine, *args, **options)
        with mock.patch.object(Engine, "recover", counted):
            maintainer.start()
            maintainer.attach(infra_id)
            wait_until(lambda: len(self.passes(maintainer, infra_id)) >= 3 * RECOVER_EVERY,
                       "thirty passes")
            maintainer.stop()
        passes = self.passes(maintainer, infra_id)
        # the passes went to the workers by turns, yet recovery ran about one pass in
        # RECOVER_EVERY (each worker alone would have recovered at every pass)
        self.assertGreater(len({record.threadName for record in passes}), 1)
        self.assertGreaterEqual(len(recoveries), 1)
        self.assertLessEqual(len(recoveries), len(passes) // RECOVER_EVERY + 2,
                             f"{len(recoveries)} recoveries in {len(passes)} passes")
        self.assertEqual(self.logs.messages(logging.WARNING), [])

    def test_a_destroy_is_carried_out_by_the_member_that_maintains_it(self) -> None:
        first, store = self.maintainer()
        self.import_definitions(plain=self.cloud)
        infra_id = self.add(store, SHOP)
        names = ["member-a", "member-b"]
        owning = owner(infra_id, names)
        [asked_name] = [name for name in names if name != owning]
        asked = Maintainer(first.settings, member=asked_name)
        maintains = Maintainer(first.settings, member=owning)
        for maintainer in (asked, maintains):
            self.addCleanup(maintainer.stop)
            maintainer.start()
        knows = f"the members are {', '.join(names)}"
        wait_until(lambda: all(f"maintainer {name}: {knows}" in self.logs.messages()
                               for name in names), "each member knows the other")
        store.attach(infra_id)
        wait_until(lambda: self.ready(store, infra_id), "its member built it")
        self.assertEqual(self.passes(asked, infra_id), [])

        asked.destroy(infra_id)
        status = asked.status(infra_id)
        self.assertEqual((status.destroying, status.attached, status.here, status.running),
                         (True, False, False, False))
        wait_until(lambda: infra_id not in store.list_infrastructures(),
                   "the member that maintains it destroyed it")
        self.assertEqual(cloud_instances(self.cloud, infra_id), [])
        self.assertEqual((store.destroying(), store.attached(), Infralist().ids()), ([], [], []))
        messages = self.logs.messages()
        self.assertIn(f"maintainer {owning}: destroyed {infra_id}", messages)
        self.assertNotIn(f"maintainer {asked_name}: destroy of {infra_id}", messages)
        wait_until(lambda: asked.status(infra_id) == UNKNOWN,
                   "the asked member saw it go at its next reading")
        self.assertEqual(self.logs.messages(logging.WARNING), [])

    def test_a_destroy_cut_short_by_stop_is_finished_by_the_next_start(self) -> None:
        first, store = self.maintainer()
        self.import_definitions(plain=self.cloud)
        infra_id = self.add(store, SHOP)
        first.start()
        first.attach(infra_id)
        wait_until(lambda: self.ready(store, infra_id), "the maintainer built it")
        real, began = Enactor.destroy, threading.Event()

        def held(enactor: Enactor, infra_id: str, *, cancel: Cancellation,
                 **options: Any) -> Any:
            began.set()
            cancel.wait(DEADLINE)          # until `stop` cancels it
            return real(enactor, infra_id, cancel=cancel, **options)
        with mock.patch.object(Enactor, "destroy", held):
            first.destroy(infra_id)
            wait_until(began.is_set, "the destroy began")
            first.stop()
        cancelled = f"maintainer {first.member}: destroy of {infra_id} cancelled"
        self.assertTrue(any(message.startswith(cancelled) for message in self.logs.messages()),
                        self.logs.messages(logging.INFO))
        # still there, still marked, and no lease left
        self.assertEqual(store.destroying(), [infra_id])
        self.assertIn(infra_id, store.list_infrastructures())
        self.assertEqual(self.nodes_in_cloud(infra_id), {"db": 1, "app": 2})
        self.assertIsNone(store.current_lease(infra_id))

        second = Maintainer(first.settings)
        self.addCleanup(second.stop)
        with self.assertRaises(InfrastructureBeingDestroyed):
            second.attach(infra_id)
        self.assertEqual(store.attached(), [])
        second.start()
        self.assertTrue(second.status(infra_id).destroying)
        wait_until(lambda: infra_id not in store.list_infrastructures(),
                   "the next start destroyed it")
        self.assertEqual(cloud_instances(self.cloud, infra_id), [])
        self.assertEqual((store.destroying(), Infralist().ids()), ([], []))
        wait_until(lambda: second.status(infra_id) == UNKNOWN, "the destroy ended")


class ScheduleTest(unittest.TestCase):
    """The bookkeeping of the due jobs, with no thread and the test's clock."""

    def setUp(self) -> None:
        self.schedule = Schedule(10.0)
        self.schedule.reassign(lambda infra_id: infra_id != "theirs", 0.0)

    def begin(self) -> tuple[Any, str]:
        begun = self.schedule.begin(Cancellation())
        assert begun is not None
        return begun

    def test_a_pass_is_queued_when_due_and_never_twice(self) -> None:
        state = self.schedule.track("a")
        self.schedule.set_attached(state, True, 0.0)
        self.schedule.dispatch_due(0.0)
        self.assertEqual(self.begin(), (state, "pass"))
        self.schedule.dispatch_due(100.0)           # due again while it runs: not queued
        self.assertFalse(self.schedule.has_jobs)
        self.schedule.ended(state, 1.0, passed=(1234.5, True), next_pass=10.0)
        self.assertEqual((state.last_pass, state.last_ok), (1234.5, True))
        self.assertEqual(self.schedule.next_due(), 10.0)
        self.schedule.dispatch_due(9.9)
        self.assertFalse(self.schedule.has_jobs)
        self.schedule.dispatch_due(10.0)
        self.assertEqual(self.begin(), (state, "check"))     # the last pass went well

    def test_checks_queued_together_are_begun_together_and_one_finding_work_passes_next(
            self) -> None:
        states = [self.schedule.track(name) for name in ("a", "b", "c", "d")]
        for state in states:
            self.schedule.set_attached(state, True, 0.0)
        self.schedule.dispatch_due(0.0)
        for _ in states:                      # the first passes are full ones
            state, job = self.begin()
            self.assertEqual(job, "pass")
            self.schedule.ended(state, 1.0, passed=(1.0, state.infra_id != "c"),
                                next_pass=10.0)
        self.schedule.dispatch_due(10.0)
        a, b, c, d = states
        self.assertEqual(self.begin(), (a, "check"))
        # c's last pass failed: its pass is a full one, and the batch stops before it
        self.assertEqual(self.schedule.begin_checks(10), [b])
        self.assertEqual((a.job, b.job, c.job), ("check", "check", None))
        self.schedule.pass_in_full(b)                  # b's check found work
        self.assertEqual(self.begin(), (b, "pass"))
        self.assertEqual(self.begin(), (c, "pass"))
        self.assertEqual(self.begin(), (d, "check"))
        self.assertEqual(self.schedule.begin_checks(10), [])

    def test_a_pass_woken_while_it_is_checked_is_a_full_one_next(self) -> None:
        state = self.schedule.track("a")
        self.schedule.set_attached(state, True, 0.0)
        self.schedule.dispatch_due(0.0)
        self.begin()
        self.schedule.ended(state, 1.0, passed=(1.0, True), next_pass=10.0)
        self.schedule.dispatch_due(10.0)
        self.assertEqual(self.begin(), (state, "check"))
        self.schedule.hurry("a", 10.5)
        self.schedule.ended(state, 11.0, passed=(10.0, True), next_pass=20.0)
        self.schedule.dispatch_due(11.0)              # woken: due at once
        self.assertEqual(self.begin(), (state, "pass"))

    def test_a_destroy_cancels_the_pass_follows_it_and_is_retried_less_and_less_often(self):
        state = self.schedule.track("a")
        self.schedule.set_attached(state, True, 0.0)
        self.schedule.dispatch_due(0.0)
        self.begin()
        token = self.schedule.set_destroying(state)
        self.assertIs(token, state.token)            # the pass to cancel
        self.schedule.set_attached(state, False, 1.0)
        self.schedule.ended(state, 2.0, passed=(5.0, False))
        self.assertEqual(self.begin(), (state, "destroy"))
        self.schedule.ended(state, 3.0, retry=True)
        self.assertEqual(self.schedule.next_due(), 13.0)
        self.schedule.dispatch_due(13.0)
        self.begin()
        self.schedule.ended(state, 14.0, retry=True)
        self.assertEqual(self.schedule.next_due(), 34.0)
        self.schedule.dispatch_due(34.0)
        self.begin()
        self.schedule.ended(state, 35.0, gone=True)
        self.assertIsNone(self.schedule.get("a"))
        self.assertEqual((self.schedule.attached, self.schedule.destroying), (set(), set()))
        self.assertTrue(self.schedule.gone_since("a", 35.0))
        self.schedule.forget_gone_before(35.5)
        self.assertFalse(self.schedule.gone_since("a", 35.0))

    def test_what_another_member_maintains_is_tracked_but_never_run(self) -> None:
        state = self.schedule.track("theirs")
        self.schedule.set_attached(state, True, 0.0)
        self.assertIsNone(self.schedule.set_destroying(state))
        self.schedule.dispatch_due(100.0)
        self.assertFalse(self.schedule.has_jobs)
        self.assertIs(self.schedule.get("theirs"), state)
        # the members change: it is this member's now, and its destroy is due at once
        self.schedule.reassign(lambda infra_id: True, 200.0)
        self.schedule.dispatch_due(200.0)
        self.assertEqual(self.begin(), (state, "destroy"))

    def test_nothing_is_wanted_once_stopping(self) -> None:
        state = self.schedule.track("a")
        self.schedule.set_attached(state, True, 0.0)
        self.schedule.stop()
        self.schedule.dispatch_due(0.0)
        self.assertIsNone(self.schedule.begin(Cancellation()))


# --- processes sharing a Redis store -----------------------------------------------------

MEMBER = """\
import logging, signal, sys, threading
from occo.api.rest.daemon import Maintainer
from occo.util.config import load_settings

logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                    format="%(created).3f %(message)s")
logging.getLogger("occo.api.rest").setLevel(logging.DEBUG)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
maintainer = Maintainer(load_settings(sys.argv[1]), member=sys.argv[2],
                        member_ttl=float(sys.argv[3]))
maintainer.start()
print("started", flush=True)
stop.wait()
maintainer.stop()
"""
PASS = re.compile(r"^(\d+\.\d+) maintainer (\S+): pass of (\S+)$")
MEMBERS = re.compile(r"^(\d+\.\d+) maintainer (\S+): the members are (.*)$")
TTL = 2.0        # seconds a member's announcement lives


class Member:
    """A process running a Maintainer on the test's store; its log in a file."""

    def __init__(self, case: SharingTest, name: str) -> None:
        self.name = name
        self.log = case.scratch / f"{name}.err"
        self.out = case.scratch / f"{name}.out"
        with self.log.open("wb") as err, self.out.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", MEMBER, str(case.cfg), name, str(TTL)],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=case.env, cwd=case.work)
        case.addCleanup(self.kill)

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def passes_since_it_saw(self, members: list[str]) -> list[tuple[float, str]]:
        """(time, infrastructure) of each pass it started once it knew `members` were the
        live ones (and until it saw others)."""
        found, knows = [], False
        wanted = ", ".join(sorted(members))
        for line in self.lines():
            if seen := MEMBERS.match(line):
                knows = seen.group(3) == wanted
            elif (started := PASS.match(line)) and knows:
                found.append((float(started.group(1)), started.group(3)))
        return found

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class SharingTest(MaintainerCase):

    def setUp(self) -> None:
        super().setUp()
        client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        self.addCleanup(client.close)
        try:
            client.ping()
        except redis.RedisError:
            reason = f"no Redis service answers at {REDIS_URL}"
            if os.environ.get("CI") == "true":
                raise AssertionError(reason) from None
            self.skipTest(reason)
        prefix = f"occo-test-{uuid.uuid4().hex[:12]}:"
        self.addCleanup(self.delete_keys, client, f"{prefix}{getpass.getuser()}@")
        self.settings = self.configure(f"store:\n  backend: redis\n  url: {REDIS_URL}\n"
                                       f"  prefix: '{prefix}'\n", interval=0.2, workers=2)
        self.store = self.store_of(self.settings)

    @staticmethod
    def delete_keys(client: redis.Redis, namespace: str) -> None:
        """Every key of the namespace, found through its index set: no scan."""
        for infra_id in client.smembers(f"{namespace}infrastructures"):
            client.delete(*(f"{namespace}{infra_id}:{name}" for name in INFRASTRUCTURE_KEYS))
        client.delete(*(namespace + name for name in NAMESPACE_KEYS))

    def passers(self, members: list[Member], alive: list[str]) -> dict[str, set[str]]:
        """Infrastructure -> the members that passed it since they knew `alive`."""
        found: dict[str, set[str]] = {}
        for member in members:
            for _, infra_id in member.passes_since_it_saw(alive):
                found.setdefault(infra_id, set()).add(member.name)
        return found

    def test_members_share_the_infrastructures_and_take_over_a_dead_ones(self) -> None:
        self.import_definitions(plain=self.cloud)
        ids = [self.add(self.store, one_node(f"n{number}", "plain")) for number in range(8)]
        for infra_id in ids:
            self.store.attach(infra_id)
        names = ["m0", "m1", "m2"]
        members = [Member(self, name) for name in names]
        wait_until(lambda: all(member.out.read_text().strip() == "started"
                               for member in members),
                   lambda: "every member started:\n" + "\n".join(
                       "\n".join(member.lines()[-5:]) for member in members))
        self.assertEqual(self.store.members(), names)

        # once all three know each other, each infrastructure is passed by its owner alone
        wait_until(lambda: all(len({name for _, name in member.passes_since_it_saw(names)})
                               == sum(owner(infra_id, names) == member.name for infra_id in ids)
                               for member in members),
                   "each member passed each of its infrastructures")
        passers = self.passers(members, names)
        self.assertEqual(passers, {infra_id: {owner(infra_id, names)} for infra_id in ids})
        wait_until(lambda: all(self.ready(self.store, infra_id) for infra_id in ids),
                   "every infrastructure was built")

        # SIGKILL the member with the most: its announcement expires, the others take its own
        victim = max(members, key=lambda member: sum(owner(infra_id, names) == member.name
                                                     for infra_id in ids))
        orphans = [infra_id for infra_id in ids if owner(infra_id, names) == victim.name]
        victim.process.send_signal(signal.SIGKILL)
        killed_at = time.time()
        victim.process.wait()
        survivors = [member for member in members if member is not victim]
        alive = sorted(member.name for member in survivors)

        def taken() -> dict[str, float]:
            first: dict[str, float] = {}
            for member in survivors:
                for moment, infra_id in member.passes_since_it_saw(alive):
                    if infra_id in orphans and moment > killed_at:
                        first[infra_id] = min(moment, first.get(infra_id, moment))
            return first if set(first) == set(orphans) else {}
        # taken once its announcement expired (when is up to the survivors' clocks and
        # readings: DEADLINE is the only bound)
        wait_until(taken, "the survivors took the dead member's infrastructures")
        self.assertNotIn(victim.name, self.store.members())
        wait_until(lambda: set(self.passers(survivors, alive)) == set(ids),
                   "the survivors passed every infrastructure")
        self.assertEqual(self.passers(survivors, alive),
                         {infra_id: {owner(infra_id, alive)} for infra_id in ids})
        self.assertEqual(self.store.members(), alive)

        # SIGTERM: each survivor stops its passes, withdraws and exits 0, leaving no lease
        for member in survivors:
            member.process.send_signal(signal.SIGTERM)
        for member in survivors:
            self.assertEqual(member.process.wait(DEADLINE), 0, "\n".join(member.lines()[-20:]))
            self.assertNotIn("Traceback", member.log.read_text())
        self.assertEqual(self.store.members(), [])
        self.assertEqual({infra_id: self.store.current_lease(infra_id) for infra_id in ids},
                         dict.fromkeys(ids))
