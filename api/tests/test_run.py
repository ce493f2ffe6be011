"""occopus-run on real SSH hosts: an infrastructure built on simcloud whose instances' records
are then given the addresses of the checkout's test hosts (network namespaces with sshd)."""
from __future__ import annotations

import json
import stat

from occo.util.ssh.testing import test_hosts

from .support import SimCloudCommandCase

DESCRIPTION = """\
infra_name: fleet
nodes:
  - {name: app, type: app, scaling: {min: 3, max: 3}}
  - {name: db, type: db}
"""
TRUSTING = "store: {backend: sqlite, path: state/state.db}\nssh: {host_keys: trust-first-use}\n"


class RunTest(SimCloudCommandCase):
    def setUp(self) -> None:
        super().setUp()
        self.hosts = test_hosts(4)
        self.key = self.write("id_test", self.hosts.login.private_key)
        self.use_auth_data(f"ssh:\n  - type: simcloud\n    auth_data: {{user: root, "
                           f"private_key_file: '{self.key}'}}\n")
        self.use_config()
        self.cfg.write_text(TRUSTING)
        self.import_definitions(app=self.cloud, db=self.cloud)
        self.infra_id, _ = self.build_ready(self.write("fleet.yaml", DESCRIPTION))
        self.addresses = self.readdress()

    def readdress(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Each instance's record given a test host's address (or `extra`'s, by node name):
        {node id: the host's name}."""
        store = self.open_store()
        names = {}
        hosts = iter(self.hosts.targets)
        for name, by_id in sorted(self.records(self.infra_id).items()):
            for node_id, doc in sorted(by_id.items()):
                host = next(hosts)
                address = (extra or {}).get(name, host.address)
                doc = {**doc, "data": {**doc["data"], "addresses": [address]}} \
                    if "data" in doc else {**doc, "addresses": [address]}
                store.put_instance(self.infra_id, name, node_id, doc)
                names[node_id] = host.name
        return names

    def run_on(self, *args: str, code: int | None = None):
        return self.run_command("occopus-run", "-i", self.infra_id, *args, code=code)

    def test_a_command_runs_on_every_instance_each_line_prefixed(self) -> None:
        ran = self.run_on("--", "hostname", code=0)
        lines = ran.stdout.splitlines()
        self.assertEqual(lines[-1], "4 of 4 instance(s) exited 0")
        seen = sorted(line.split("] ")[1] for line in lines[:-1])
        self.assertEqual(seen, sorted(self.addresses.values()))
        for line in lines[:-1]:
            node_id_start = line.split("/")[1].split()[0]
            [node_id] = [node_id for node_id in self.addresses
                         if node_id.startswith(node_id_start)]
            self.assertTrue(line.endswith(f"] {self.addresses[node_id]}"), line)
        known = self.home / ".occopus" / "known_hosts" / self.infra_id
        self.assertEqual(len(known.read_text().splitlines()), 4)
        self.assertEqual(stat.S_IMODE(known.stat().st_mode), 0o600)
        self.assertNotIn(self.hosts.login.private_key[40:80], ran.stdout + ran.stderr)

    def test_one_node_and_a_failing_command_exit_1_naming_who_failed(self) -> None:
        ran = self.run_on("-n", "db", "--", "echo", "to err", ">&2", ";", "exit 3", code=1)
        [db_line] = [line for line in ran.stderr.splitlines() if line.startswith("[db/")]
        self.assertTrue(db_line.endswith("] to err"), db_line)
        self.assertRegex(ran.stdout, r"(?m)^db/\w{8} 10\.213\.\d+\.\d+: exit 3$")
        self.assertEqual(ran.stdout.splitlines()[-1], "0 of 1 instance(s) exited 0, 1 did not")

    def test_json_gives_each_instances_output_and_status(self) -> None:
        ran = self.run_on("--json", "--", "hostname", code=0)
        documents = json.loads(ran.stdout)
        self.assertEqual(sorted((d["node_name"], d["exit_status"], d["stdout"].strip())
                                for d in documents),
                         sorted((name, 0, self.addresses[node_id])
                                for name, by_id in self.records(self.infra_id).items()
                                for node_id in by_id))
        self.assertTrue(all(d["error"] is None for d in documents))

    def test_host_keys_are_strict_unless_the_settings_trust_first_use(self) -> None:
        self.cfg.write_text("store: {backend: sqlite, path: state/state.db}\n")
        ran = self.run_on("--", "true", code=1)
        self.assertIn("host keys are checked strictly", ran.stdout)
        self.assertIn("0 of 4 instance(s) exited 0, 4 did not", ran.stdout)

    def test_an_instance_that_cannot_be_reached_fails_alone(self) -> None:
        self.readdress({"db": "127.0.0.1"})          # nothing listens on port 22 here
        ran = self.run_on("--", "true", code=1)
        self.assertRegex(ran.stdout, r"(?m)^db/\w{8} 127\.0\.0\.1: db/\w{8} \(127\.0\.0\.1:22\) "
                                     r"cannot be reached")
        self.assertEqual(ran.stdout.splitlines()[-1], "3 of 4 instance(s) exited 0, 1 did not")

    def test_no_login_for_the_nodes_is_said_per_instance(self) -> None:
        self.use_auth_data("ssh:\n  - type: ec2\n    auth_data: {user: x, private_key: y}\n")
        ran = self.run_on("--", "true", code=1)
        self.assertIn("no ssh entry of", ran.stdout)
        self.assertIn("fits its resource (type simcloud)", ran.stdout)

    def test_a_timeout_stops_the_command_on_each_instance(self) -> None:
        ran = self.run_on("-n", "db", "--timeout", "0.5", "--", "echo begun; sleep 600",
                          code=1)
        self.assertRegex(ran.stdout, r"(?m)^\[db/\w{8} 10\.213\.\d+\.\d+\] begun$")
        self.assertRegex(ran.stdout, r"(?m)^db/\w{8} [\d.]+: still running after 0\.5 s: "
                                     r"stopped$")

    def test_destroying_the_infrastructure_forgets_its_host_keys(self) -> None:
        self.run_on("--", "true", code=0)
        known = self.home / ".occopus" / "known_hosts" / self.infra_id
        self.assertTrue(known.is_file())
        self.run_command("occopus-destroy", "-i", self.infra_id, code=0)
        self.assertFalse(known.exists())

    def test_bad_arguments_and_unknown_names_are_errors(self) -> None:
        usage = self.run_on(code=2)
        self.assertIn("give the command to run after --", usage.stderr)
        unknown = self.run_on("-n", "dbb", "--", "true", code=1)
        self.assertIn("'db'", unknown.stderr)
        missing = self.run_command("occopus-run", "-i", "nope", "--", "true", code=1)
        self.assertIn("no infrastructure nope", missing.stderr)
