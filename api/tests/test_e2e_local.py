"""The main job end to end: examples/three-tier on the `local` backend, with real processes.

The example's files are used as they are, but for one line added to each
node definition: an `address_range` of 127.0.1.0/24 where nothing listens
on the example's ports, so that a three-tier example someone left running
on the default addresses (127.0.1.1 and up) can never answer for this test.
"""
from __future__ import annotations

import ipaddress
import json
import re
import shutil
import urllib.request
import uuid

from .support import (EXAMPLE, CommandCase, free_address_range, kill_local_nodes, last_line,
                      local_processes, port_open, table_rows)

PORTS = {"db": 8001, "app": 8080, "front": 8000}
DEFAULT_RANGE = ipaddress.ip_network("127.0.1.0/24")
SERVED = re.compile(r"Hello from Occopus: served by (?P<node>\S+), data from (?P<db>\S+)")


class ThreeTierOnLocalProcessesTest(CommandCase):

    def setUp(self) -> None:
        super().setUp()
        # runs after every other cleanup of the test: whatever destroy left is killed
        self.addCleanup(kill_local_nodes, self.home)
        self.network = free_address_range(PORTS.values())
        self.example = self.work / "three-tier"
        shutil.copytree(EXAMPLE, self.example)
        definitions = self.example / "nodes" / "node_definitions.yaml"
        text = definitions.read_text()
        patched = text.replace("      type: local\n",
                               f"      type: local\n      address_range: {self.network}\n")
        self.assertEqual(patched.count("address_range"), 3, "the example's format changed")
        definitions.write_text(patched)

    def fetch(self, address: str, port: int) -> str:
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # never a proxy
        with direct.open(f"http://{address}:{port}/", timeout=10) as answer:
            return answer.read().decode()

    def assert_served_by(self, front: str, apps: set[str], db_address: str) -> None:
        """Two requests to the round-robin front reach both app servers, each of which read
        its greeting from the db it found with getip('db')."""
        served = set()
        for _ in range(2):
            found = SERVED.fullmatch(self.fetch(front, PORTS["front"]).strip())
            self.assertIsNotNone(found)
            self.assertEqual(found["db"], f"{db_address}:{PORTS['db']}")
            served.add(found["node"])
        self.assertEqual(served, apps)

    def test_import_build_report_scale_and_destroy_the_example(self) -> None:
        imported = self.run_command("occopus-import",
                                    self.example / "nodes" / "node_definitions.yaml", code=0)
        self.assertEqual(imported.stdout.strip(),
                         "Successfully imported nodes: app_server, balancer, kv_database")

        # --- build: the id last, a table of four ready instances on their own addresses
        built = self.run_command("occopus-build", self.example / "infra.yaml", code=0)
        infra_id = last_line(built.stdout)
        self.addCleanup(self.destroy_if_stored, infra_id)
        self.assertEqual(str(uuid.UUID(infra_id)), infra_id)
        self.assertIn(f"infrastructure {infra_id}", built.stdout)
        self.assertIn("4 created", built.stdout)
        rows = table_rows(built.stdout)
        self.assertEqual(sorted(row["node"] for row in rows), ["app", "app", "db", "front"])
        for row in rows:
            self.assertEqual((row["outcome"], row["state"]), ("created", "ready"), row)
            [address] = row["addresses"]
            self.assertIn(ipaddress.ip_address(address), self.network)
            self.assertIn(ipaddress.ip_address(address), DEFAULT_RANGE)
            self.assertTrue(port_open(address, PORTS[row["node"]]), row)
        self.assertEqual(len({row["addresses"][0] for row in rows}), 4, "addresses are shared")
        address = {row["node_id"]: row["addresses"][0] for row in rows}
        apps = {row["node_id"] for row in rows if row["node"] == "app"}
        [db] = [row["node_id"] for row in rows if row["node"] == "db"]
        [front] = [row["node_id"] for row in rows if row["node"] == "front"]
        self.assertEqual(self.infralist_ids(), [infra_id])
        listing = self.run_command("occopus-maintain", "-l", code=0)
        self.assertEqual(listing.stdout.split(), ["List", "of", "active", "infrastructure:",
                                                  infra_id])

        # --- the front, over HTTP, served by the app servers that read the db's address
        self.assert_served_by(address[front], apps, address[db])

        # --- maintain -r: every instance, live; -o writes its addresses; -f filters by name
        every = self.work / "every.txt"
        reported = self.run_command("occopus-maintain", "-i", infra_id, "-r", "-o", every,
                                    code=0)
        self.assertEqual({(row["node_id"], row["state"], tuple(row["addresses"]))
                          for row in table_rows(reported.stdout)},
                         {(node_id, "ready", (address[node_id],)) for node_id in address})
        self.assertEqual(sorted(every.read_text().splitlines()), sorted(address.values()))
        only_apps = self.work / "apps.txt"
        filtered = self.run_command("occopus-maintain", "-i", infra_id, "-r", "-f", "app",
                                    "-o", only_apps, code=0)
        self.assertEqual({row["node_id"] for row in table_rows(filtered.stdout)}, apps)
        self.assertEqual(sorted(only_apps.read_text().splitlines()),
                         sorted(address[node_id] for node_id in apps))
        self.assertIn(f"Saved the addresses of 2 instance(s) to '{only_apps}'", filtered.stderr)

        # --- scale up by one: queued, then made by the next pass
        scaled = self.run_command("occopus-scale", "-i", infra_id, "-n", "app", "-c", "1",
                                  code=0)
        self.assertIn("Scaling up node 'app' with 1 instance(s)", scaled.stdout)
        passed = self.run_command("occopus-maintain", "-i", infra_id, code=0)
        self.assertIn("1 created, 4 unchanged", passed.stdout)
        rows = table_rows(passed.stdout)
        app_rows = {row["node_id"]: row for row in rows if row["node"] == "app"}
        self.assertEqual(len(app_rows), 3)
        self.assertTrue(apps < set(app_rows))
        [new_app] = set(app_rows) - apps
        self.assertEqual(app_rows[new_app]["outcome"], "created")
        for row in rows:
            self.assertEqual(row["state"], "ready", row)
        [new_address] = app_rows[new_app]["addresses"]
        self.assertIn(ipaddress.ip_address(new_address), self.network)
        self.assertNotIn(new_address, address.values())
        self.assertTrue(port_open(new_address, PORTS["app"]))
        address[new_app] = new_address

        # --- scale down by address: that very instance goes (not the youngest)
        victim = sorted(apps)[0]
        self.run_command("occopus-scale", "-i", infra_id, "-n", "app", "-f", address[victim],
                         code=0)
        passed = self.run_command("occopus-maintain", "-i", infra_id, code=0)
        rows = table_rows(passed.stdout)
        self.assertEqual({row["node_id"]: row["outcome"] for row in rows if row["node"] == "app"},
                         {**{node_id: "unchanged" for node_id in apps | {new_app}},
                          victim: "dropped"})
        self.assertFalse([pid for pid, environment in local_processes(self.home).items()
                          if environment.get("OCCOPUS_NODE_ID") == victim])
        self.assertFalse(port_open(address[victim], PORTS["app"]))
        del address[victim]

        # --- destroy: every process gone, every port closed, the id forgotten
        nodes = {row["node_id"]: row["node"] for row in rows}
        groups = {environment["OCCOPUS_INSTANCE_ID"]
                  for environment in local_processes(self.home, infra_id).values()}
        self.assertEqual(len(groups), 4, "a process group per instance")
        destroyed = self.run_command("occopus-destroy", "-i", infra_id, code=0)
        self.assertEqual([row["outcome"] for row in table_rows(destroyed.stdout)],
                         ["dropped"] * 4)
        self.assertEqual(local_processes(self.home), {})
        for node_id, node_address in address.items():
            self.assertFalse(port_open(node_address, PORTS[nodes[node_id]]), node_address)
        registry = json.loads((self.home / ".occopus" / "local" / "registry.json").read_text())
        self.assertEqual(registry["nodes"], {})
        self.assertEqual(list((self.home / ".occopus" / "local" / "nodes").iterdir()), [])
        self.assertNotIn(infra_id, self.infralist_ids())
        listing = self.run_command("occopus-maintain", "-l", code=0)
        self.assertEqual(listing.stdout.strip(), "No active infrastructure!")
        gone = self.run_command("occopus-maintain", "-i", infra_id, code=1)
        self.assertIn(infra_id, gone.stderr)
