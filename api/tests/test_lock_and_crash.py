"""One command at a time per infrastructure, a killed build, and Ctrl+C, on simcloud.

- A command that finds the infrastructure's lease held fails at once (exit 1)
  naming the holder, and changes nothing.
- A build killed with SIGKILL while its creates are in flight leaves records
  that the next pass recovers from: exactly the wanted instances, none twice,
  no orphan.
- Ctrl+C (SIGINT) cancels a build: exit 130, nothing left booting that the
  store does not record as ready, and the next pass converges.
"""
from __future__ import annotations

import json
import os
import signal
import socket

from occo.infobroker.store import LeaseOwner

from .support import (Gate, SimCloudCommandCase, by_node_name, cloud_instances,
                      last_line, table_rows, wait_until)

SHOP = """\
infra_name: shop
nodes:
  - {name: db, type: fast}
  - {name: app, type: slow, scaling: {min: 2, max: 4}}
dependencies:
  - [app, db]
"""
FAIL_FAST = 60.0        # a refused command must not wait for the lease (it lasts 600 s here)


class LeaseContentionTest(SimCloudCommandCase):

    def setUp(self) -> None:
        super().setUp()
        self.use_config()

    def test_a_command_refused_the_lease_fails_at_once_naming_the_holder(self) -> None:
        self.import_definitions(fast=self.cloud, slow=self.cloud)
        description = self.write("shop.yaml", SHOP)
        infra_id = self.build(description)
        before = by_node_name(cloud_instances(self.cloud, infra_id))

        store = self.open_store()
        holder = LeaseOwner(socket.gethostname(), os.getpid(), "occopus-build")
        lease = store.acquire_lease(infra_id, holder, ttl=600)
        self.addCleanup(store.release_lease, lease)
        locked = f"infrastructure {infra_id} is locked by occopus-build (pid {os.getpid()} on "
        for args in (("occopus-maintain", "-i", infra_id),
                     ("occopus-destroy", "-i", infra_id)):
            with self.subTest(args[0]):
                result = self.run_command(*args, code=1, timeout=FAIL_FAST)
                self.assertIn(f"{args[0]}: error: {locked}", result.stderr)
                self.assertIn("wait for that command to finish", result.stderr)
        # a report takes no lease, and a scaling request is only queued
        self.assertEqual(len(self.report(infra_id)), 3)
        self.run_command("occopus-scale", "-i", infra_id, "-n", "app", "-c", "1", code=0)
        self.assertEqual(by_node_name(cloud_instances(self.cloud, infra_id)), before)
        self.assertEqual(self.stored_ids(), [infra_id])

        store.release_lease(lease)
        passed = self.run_command("occopus-maintain", "-i", infra_id, code=0)
        self.assertIn("1 created, 3 unchanged", passed.stdout)

    def test_a_running_build_holds_the_lease_until_it_ends(self) -> None:
        gate = Gate(self)
        self.import_definitions(health={"slow": gate.health_check()},
                                fast=self.cloud, slow=self.cloud)
        build = self.start("occopus-build", self.write("shop.yaml", SHOP))
        store = self.open_store()
        [infra_id] = wait_until(self.stored_ids, "the build stored its infrastructure")
        wait_until(lambda: "app" in by_node_name(cloud_instances(self.cloud, infra_id)),
                   "the build is waiting for its app servers")
        self.assertIsNotNone(store.current_lease(infra_id))

        refused = self.run_command("occopus-maintain", "-i", infra_id, code=1, timeout=FAIL_FAST)
        self.assertIn(f"is locked by occopus-build (pid {build.pid} on ", refused.stderr)
        gate.open()
        self.assertEqual(build.wait(), 0, build.stderr)
        self.assertEqual(last_line(build.stdout), infra_id)
        self.assertIsNone(store.current_lease(infra_id))


class CrashAndInterruptTest(SimCloudCommandCase):

    def setUp(self) -> None:
        super().setUp()
        self.use_config()

    def assert_converged(self, infra_id: str, wanted: dict[str, int], *clouds) -> None:
        """Exactly the wanted instances live in the clouds, each once, each with a record
        of a ready instance, and no other instance anywhere (the clouds are the test's)."""
        live = [item for cloud in clouds for item in cloud_instances(cloud, infra_id)]
        found = by_node_name(live)
        self.assertEqual({name: len(ids) for name, ids in found.items()}, wanted)
        node_ids = [item["tags"]["occopus-node-id"] for item in live]
        self.assertEqual(len(node_ids), len(set(node_ids)), "a node has two instances")
        records = {node_id: record for by_id in self.records(infra_id).values()
                   for node_id, record in by_id.items()}
        self.assertEqual(set(records), set(node_ids))
        for item in live:
            record = records[item["tags"]["occopus-node-id"]]
            self.assertEqual(record["phase"], "ready")
            self.assertEqual(record["instance"]["instance_id"], item["id"])
        in_use = sum(cloud.stats()["instances"][state] for cloud in clouds
                     for state in ("pending", "running"))
        self.assertEqual(in_use, sum(wanted.values()), "an orphan is left in a cloud")

    def test_a_build_killed_while_creating_is_recovered_by_the_next_pass(self) -> None:
        # every create is made, then answered 500 (a "ghost"): the build retries it with the
        # same client token, and is killed while those retries are in flight, so the cloud
        # has instances that the store knows only as intents
        cloud = self.another_cloud(latency=0.8)     # every call: time for the test to act
        cloud.set_faults(boot_time=1.0, ghost_rate=1.0)
        self.import_definitions(fast=cloud, slow=cloud)
        build = self.start("occopus-build", self.write("shop.yaml", SHOP))
        wait_until(lambda: cloud.stats()["ghosts"] >= 3, "the app servers' creates were made")
        cloud.fail_next(503, 10_000)         # and their retries are kept in flight
        build.process.send_signal(signal.SIGKILL)
        self.assertEqual(build.wait(), -signal.SIGKILL)
        [infra_id] = self.stored_ids()
        cloud.set_faults(ghost_rate=0.0)
        cloud.fail_next(503, 0)
        phases = sorted(record["phase"] for by_id in self.records(infra_id).values()
                        for record in by_id.values())
        self.assertIn("intent", phases)

        # the dead build's lease is still live in the store, but its holder is gone: the
        # next pass takes it over at once instead of waiting for it to expire
        store = self.open_store()
        self.assertIsNotNone(store.current_lease(infra_id))
        passed = self.run_command("occopus-maintain", "-i", infra_id, "--json", code=0)
        document = json.loads(passed.stdout)
        self.assertTrue(document["ok"])
        adopted = set(document["recovery"]["adopted"])
        self.assertTrue(adopted, "recovery found the instances made for intents")
        self.assertEqual(document["recovery"]["orphans"], [])
        self.assert_converged(infra_id, {"db": 1, "app": 2}, cloud)
        # the instances made before the crash are the ones kept
        kept = {node["node_id"] for node in document["nodes"]}
        self.assertTrue(adopted <= kept)

    def build_until_both_apps_boot(self, fast, slow):
        """A build of the shop, once both app servers boot on `slow` (for 300 s)."""
        slow.set_faults(boot_time=300.0)
        self.import_definitions(fast=fast, slow=slow)
        build = self.start("occopus-build", self.write("shop.yaml", SHOP))
        wait_until(lambda: len([line for line in build.stderr.splitlines()
                                if " app " in line and "booting" in line]) >= 2,
                   lambda: f"both app servers boot; stderr so far:\n{build.stderr}")
        return build

    def test_ctrl_c_cancels_a_build_and_the_next_pass_converges(self) -> None:
        fast, slow = self.another_cloud(), self.another_cloud()
        build = self.build_until_both_apps_boot(fast, slow)
        build.process.send_signal(signal.SIGINT)
        self.assertEqual(build.wait(), 130, build.stderr)
        self.assertIn("occopus-build: cancelling", build.stderr)
        self.assert_clean(build.stderr, "occopus-build")
        infra_id = last_line(build.stdout)
        self.assertEqual(self.stored_ids(), [infra_id])
        rows = table_rows(build.stdout)
        self.assertEqual(sorted((row["node"], row["outcome"]) for row in rows),
                         [("app", "cancelled"), ("app", "cancelled"), ("db", "created")])
        # nothing is left booting: what lives in the clouds is what the store has as ready
        self.assertEqual(cloud_instances(slow, infra_id), [])
        self.assertEqual(slow.stats()["instances"]["pending"], 0)
        self.assert_converged(infra_id, {"db": 1}, fast, slow)

        slow.set_faults(boot_time=self.BOOT_TIME)
        passed = self.run_command("occopus-maintain", "-i", infra_id, code=0)
        self.assertEqual(sorted((row["node"], row["outcome"]) for row in table_rows(passed.stdout)),
                         [("app", "created"), ("app", "created"), ("db", "unchanged")])
        self.assert_converged(infra_id, {"db": 1, "app": 2}, fast, slow)

    def test_a_second_ctrl_c_stops_at_once_and_the_next_pass_recovers(self) -> None:
        # the slow cloud takes a while to answer: the rollbacks of the first Ctrl+C are
        # still in flight when the second comes
        fast, slow = self.another_cloud(), self.another_cloud(latency=1.5)
        build = self.build_until_both_apps_boot(fast, slow)
        build.process.send_signal(signal.SIGINT)
        wait_until(lambda: "cancelling" in build.stderr, "the build says it is cancelling")
        # the cancel has taken effect once both app servers are marked failed, to roll back
        store = self.open_store()
        wait_until(lambda: app_phases(store) == ["failed", "failed"],
                   lambda: f"both app servers are rolled back; they are {app_phases(store)}")
        build.process.send_signal(signal.SIGINT)
        self.assertEqual(build.wait(), 130, build.stderr)
        self.assertIn("occopus-build: interrupted", build.stderr)
        self.assert_clean(build.stderr, "occopus-build")
        [infra_id] = self.stored_ids()
        self.assertIsNone(self.open_store().current_lease(infra_id), "the lease is released")

        slow.set_faults(latency=0.0, boot_time=self.BOOT_TIME)
        passed = self.run_command("occopus-maintain", "-i", infra_id, code=0)
        self.assertEqual(sorted((row["node"], row["outcome"]) for row in table_rows(passed.stdout)
                                if row["outcome"] != "dropped"),
                         [("app", "created"), ("app", "created"), ("db", "unchanged")])
        self.assert_converged(infra_id, {"db": 1, "app": 2}, fast, slow)


def app_phases(store) -> list[str]:
    """The phases of the app servers' records in `store`."""
    return sorted(record["phase"] for infra_id in store.list_infrastructures()
                  for record in store.get_instances(infra_id).get("app", {}).values())
