"""The lease of a pass: refused while another command holds it, renewed while the pass runs,
and lost when another takes it over (the pass then stops and writes nothing more)."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

from occo.enactor.lease import HeldLease, Renewer
from occo.infobroker.store import LeaseHeld, LeaseOwner, StaleFenceError, StoreError
from occo.infobroker.store.sqlite import SqliteStore

from .enactor_world import (DEADLINE, OTHER, USER, Gate, SimCloudCase, World, compile_text,
                            definition, wait_until)

ME = LeaseOwner("here", 1, "test")
TTL = 0.5     # seconds: renewed every third of it
LONE = """\
infra_name: shop
user_id: tester
nodes:
  - {name: app, type: app_node}
"""


class HeldLeaseTest(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory(prefix="occo-lease-")
        self.addCleanup(scratch.cleanup)
        self.path = Path(scratch.name) / "state.db"
        self.store = self.connect()
        self.other = self.connect()
        self.infra_id = "infra-lease"
        self.store.add_infrastructure(self.infra_id, compile_text(LONE, self.infra_id).to_dict())
        self.opened = []
        self.lost = threading.Event()

    def connect(self):
        store = SqliteStore(self.path, USER)
        self.addCleanup(store.close)
        return store

    def open_store(self):
        store = SqliteStore(self.path, USER)
        self.opened.append(store)
        return store

    def held(self, ttl=TTL, open_store=None, infra_id=None):
        renewer = Renewer(open_store or self.open_store)
        self.addCleanup(renewer.close)
        return HeldLease(self.store, infra_id or self.infra_id, renewer=renewer, owner=ME,
                         ttl=ttl, on_lost=self.lost.set)

    def test_held_until_the_block_ends_then_released(self):
        with self.held(ttl=30.0) as lease:
            self.assertEqual(self.store.current_lease(self.infra_id).token, lease.token)
            with self.assertRaises(LeaseHeld) as refused:
                self.other.acquire_lease(self.infra_id, OTHER)
            self.assertIn("test (pid 1 on here)", str(refused.exception))
        self.assertIsNone(self.store.current_lease(self.infra_id))
        self.other.acquire_lease(self.infra_id, OTHER)
        self.assertFalse(self.lost.is_set())
        self.assertEqual(self.opened, [])   # ended before a renewal was due: no connection

    def test_renewed_while_held_beyond_its_ttl(self):
        with self.held() as lease:
            first = self.other.current_lease(self.infra_id)
            refusals = 0
            end = time.monotonic() + 4 * TTL
            while time.monotonic() < end:
                with self.assertRaises(LeaseHeld):
                    self.other.acquire_lease(self.infra_id, OTHER)
                refusals += 1
                time.sleep(TTL / 6)
            now = self.other.current_lease(self.infra_id)
            self.assertEqual(now.token, lease.token)          # renewed, never granted anew
            self.assertGreater(now.expires_at, first.expires_at + TTL)
            self.store.set_target_count(self.infra_id, "app", 1, fence=lease.token)
        self.assertGreater(refusals, 0)
        self.assertFalse(self.lost.is_set())
        self.assertIsNone(self.other.current_lease(self.infra_id))

    def test_taken_over_it_calls_on_lost_and_is_not_released(self):
        with self.held() as lease, self.assertLogs("occo.enactor", "ERROR"):
            taken = self.other.acquire_lease(self.infra_id, OTHER, now=time.time() + 3600)
            wait_until(self.lost.is_set, "the renewer notices")
            self.assertTrue(lease.lost.is_set())
            with self.assertRaises(StaleFenceError):
                self.store.set_target_count(self.infra_id, "app", 1, fence=lease.token)
        current = self.other.current_lease(self.infra_id, now=time.time() + 3600)
        self.assertEqual((current.owner, current.token), (OTHER, taken.token))

    def test_a_renewer_that_cannot_connect_gives_the_lease_up_for_lost(self):
        def cannot():
            raise StoreError("the store is unreachable")
        with self.assertLogs("occo.enactor", "ERROR"):
            with self.held(open_store=cannot) as lease:
                wait_until(self.lost.is_set, "the renewer gives up")
                self.assertTrue(lease.lost.is_set())

    def test_refused_while_another_holds_it(self):
        holder = self.other.acquire_lease(self.infra_id, OTHER)
        with self.assertRaises(LeaseHeld) as refused:
            with self.held():
                self.fail("entered a lease another owner holds")
        self.assertIn("occopus-build (pid 4242 on elsewhere)", str(refused.exception))
        self.assertEqual(refused.exception.holder, holder)
        self.assertEqual(self.opened, [])            # no renewer was started
        self.assertFalse(self.lost.is_set())
        self.assertEqual(self.store.current_lease(self.infra_id), holder)

    def test_a_lease_whose_holder_on_this_host_has_ended_is_taken_over_at_once(self):
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()                                  # a pid that no longer runs
        dead = LeaseOwner(socket.gethostname(), child.pid, "occopus-build")
        orphaned = self.other.acquire_lease(self.infra_id, dead, ttl=600.0)
        with self.held(ttl=30.0) as lease:
            current = self.store.current_lease(self.infra_id)
            self.assertEqual((current.owner, current.token), (ME, lease.token))
            self.assertGreater(lease.token, orphaned.token)
            self.assertLess(current.expires_at, time.time() + 31.0)   # runs from now
        with self.assertRaises(StaleFenceError):
            self.other.put_instance(self.infra_id, "app", "n1", {}, fence=orphaned.token)

    def test_a_live_holder_on_this_host_is_not_taken_over(self):
        alive = LeaseOwner(socket.gethostname(), os.getppid(), "occopus-maintain")
        holder = self.other.acquire_lease(self.infra_id, alive)
        with self.assertRaises(LeaseHeld):
            with self.held():
                self.fail("took over the lease of a running process")
        self.assertEqual(self.store.current_lease(self.infra_id), holder)

    def test_the_renewers_connection_is_closed_with_it(self):
        renewer = Renewer(self.open_store)
        with HeldLease(self.store, self.infra_id, renewer=renewer, owner=ME, ttl=TTL):
            wait_until(lambda: self.opened, "the renewer opened its connection")
        renewer.close()
        (connection,) = self.opened
        with self.assertRaises(Exception):
            connection.get_infrastructure(self.infra_id)

    def test_one_renewer_thread_keeps_every_lease_held_through_it(self):
        second = "infra-lease-2"
        self.store.add_infrastructure(second, compile_text(LONE, second).to_dict())
        renewer = Renewer(self.open_store)
        self.addCleanup(renewer.close)
        threads = threading.active_count()
        with HeldLease(self.store, self.infra_id, renewer=renewer, owner=ME, ttl=TTL), \
                HeldLease(self.store, second, renewer=renewer, owner=ME, ttl=TTL):
            first_ends = {infra_id: self.other.current_lease(infra_id).expires_at
                          for infra_id in (self.infra_id, second)}
            wait_until(lambda: all(self.other.current_lease(infra_id).expires_at > end
                                   for infra_id, end in first_ends.items()),
                       "both leases renewed")
            self.assertEqual(threading.active_count(), threads + 1)
        for _ in range(5):                      # later passes reuse the thread
            with HeldLease(self.store, self.infra_id, renewer=renewer, owner=ME, ttl=TTL):
                pass
        self.assertEqual(threading.active_count(), threads + 1)
        self.assertEqual(len(self.opened), 1)   # and its one connection


class PassLeaseTest(SimCloudCase):
    def gated_world(self):
        gate = Gate(self)
        world = World(self, self.cloud, LONE, definitions={
            "app_node": [definition(self.cloud, health_check=gate.health_check())]})
        return world, gate

    def in_thread(self, world, work):
        """Run `work(store)` in a thread with a connection of its own; `join()` re-raises."""
        failures = []

        def run():
            store = world.connect()
            try:
                work(store)
            except BaseException as error:      # reported by join()
                failures.append(error)
            finally:
                store.close()
        thread = threading.Thread(target=run, daemon=True)
        thread.start()

        def join():
            thread.join(DEADLINE)
            self.assertFalse(thread.is_alive(), "the helper thread hangs")
            if failures:
                raise failures[0]
        return join

    def booting(self, store, world):
        """Wait until the pass has made the app's instance and recorded its address: it then
        polls the held health check, writing nothing until it is ready or cancelled."""
        wait_until(lambda: any(data["phase"] == "created" and data["addresses"] for data in
                               store.get_instances(world.infra_id).get("app", {}).values()),
                   "the app is booting")

    def test_a_pass_is_refused_while_another_command_holds_the_lease(self):
        world = World(self, self.cloud)
        holder = world.connect()
        self.addCleanup(holder.close)
        holder.acquire_lease(world.infra_id, OTHER)
        before, calls = world.dump(), world.calls()
        enactor = world.enactor()
        for attempt in (lambda: enactor.make_a_pass(world.infra_id),
                        lambda: enactor.make_a_pass(world.infra_id,
                                                    description=world.compile(LONE)),
                        lambda: enactor.destroy(world.infra_id)):
            with self.assertRaises(LeaseHeld) as refused:
                attempt()
            self.assertIn("locked by occopus-build (pid 4242 on elsewhere)",
                          str(refused.exception))
        self.assertEqual(world.dump(), before)
        self.assertEqual(world.calls(), calls)

    def test_a_pass_longer_than_the_lease_keeps_it(self):
        world, gate = self.gated_world()
        seen = {"refused": 0, "granted": 0}

        def probe(store):
            try:
                self.booting(store, world)
                end = time.monotonic() + 4 * TTL
                while time.monotonic() < end:
                    try:
                        store.acquire_lease(world.infra_id, OTHER)
                        seen["granted"] += 1
                        return
                    except LeaseHeld:
                        seen["refused"] += 1
                    time.sleep(TTL / 6)
            finally:
                gate.open()
        join = self.in_thread(world, probe)
        result = world.enactor(lease_ttl=TTL).make_a_pass(world.infra_id)
        join()
        self.assertEqual(seen["granted"], 0, "another owner got the lease during the pass")
        self.assertGreater(seen["refused"], 0)
        self.assertTrue(result.ok, result)
        self.assertEqual([(row.node_name, row.outcome) for row in result.rows],
                         [("app", "created")])
        self.assertIn("infraready", world.event_names())
        self.assertIsNone(world.store.current_lease(world.infra_id))     # released

    def test_a_pass_that_loses_its_lease_stops_and_writes_nothing_more(self):
        world, gate = self.gated_world()
        taken = {}

        def take_over(store):
            self.booting(store, world)
            taken["lease"] = store.acquire_lease(world.infra_id, OTHER, ttl=30.0,
                                                 now=time.time() + 3600)
            taken["records"] = store.get_instances(world.infra_id)
            taken["targets"] = store.get_target_count(world.infra_id, "app")
        join = self.in_thread(world, take_over)
        enactor = world.enactor(lease_ttl=TTL)
        with self.assertLogs("occo", "WARNING") as logs:
            try:
                result = enactor.make_a_pass(world.infra_id)
            except StaleFenceError:
                pass
            else:
                self.assertTrue(result.cancelled, result)
                self.assertFalse(result.ok)
        join()
        self.assertTrue(any("lost the lease" in line for line in logs.output), logs.output)
        self.assertEqual(world.store.get_instances(world.infra_id), taken["records"])
        self.assertEqual(world.store.get_target_count(world.infra_id, "app"), taken["targets"])
        self.assertNotIn("infraready", world.event_names())
        current = world.store.current_lease(world.infra_id, now=time.time() + 3600)
        self.assertEqual(current.token, taken["lease"].token)    # the loser released nothing

        # the new owner's pass finds what was left half-done and finishes it
        # (once the instance runs: a pass that has nothing to create leaves a booting one be)
        gate.open()
        (node_id,) = taken["records"]["app"]
        wait_until(lambda: world.running(node_id), "simcloud runs the app")
        result = world.enactor(owner=OTHER).make_a_pass(world.infra_id)
        self.assertTrue(result.ok, result)
        (record,) = world.records("app").values()
        self.assertEqual(record["phase"], "ready", result.rows)
        self.assertEqual(world.live_ids(), [record["node_id"]])

        # and the enactor that lost the lease is not cancelled for good: its next pass runs
        # (as the next pass of `occopus-maintain -c` does)
        again = enactor.make_a_pass(world.infra_id)
        self.assertTrue(again.ok, again)
        self.assertEqual([row.outcome for row in again.rows], ["unchanged"])
