"""Secrets end to end on simcloud: a URL password in a connecting section never reaches the
output, the events or the store, and every file under ~/.occopus is private."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat

from .support import SimCloudCommandCase, cloud_instances, last_line, wait_until

SECRET = "hunter2-very-secret"


class UrlPasswordsTest(SimCloudCommandCase):
    def with_password(self) -> str:
        scheme, rest = self.cloud.url.split("://", 1)
        return f"{scheme}://admin:{SECRET}@{rest}"

    def state_files(self):
        folder = self.home / ".occopus"
        return [path for path in folder.rglob("*") if path.is_file()]

    def assert_secret_nowhere_in_state(self) -> None:
        for path in self.state_files():
            self.assertNotIn(SECRET.encode(), path.read_bytes(), path)

    def test_a_node_definition_with_a_url_password_is_refused_and_nothing_is_stored(self):
        path = self.write("nodes.yaml", "'node_def:web':\n"
                          f"  - resource: {{type: simcloud, endpoint: '{self.with_password()}',"
                          " image: debian-12}\n    health_check: {ping: false}\n")
        refused = self.run_command("occopus-import", path, code=1)
        for text in (refused.stdout, refused.stderr):
            self.assertNotIn(SECRET, text)
        self.assertIn(f"{path}:2:", refused.stderr)
        self.assertIn("'endpoint' in the resource section of 'node_def:web'[0] holds a URL "
                      "with a password", refused.stderr)
        self.assertIn("auth_data.yaml", refused.stderr)
        self.assert_secret_nowhere_in_state()

    def test_a_url_password_a_template_puts_in_the_endpoint_is_refused_and_never_shown(self):
        nodes = self.write("nodes.yaml", "'node_def:web':\n"
                           "  - resource: {type: simcloud, endpoint: '{{variables.cloud}}',"
                           " image: debian-12}\n    health_check: {ping: false}\n")
        self.run_command("occopus-import", nodes, code=0)
        infra = self.write("infra.yaml", "infra_name: secrets\nnodes:\n  - name: web\n"
                           f"    type: web\n    variables:\n      cloud: '{self.with_password()}'\n")
        built = self.run_command("occopus-build", infra, code=1)
        infra_id = last_line(built.stdout)
        self.addCleanup(self.destroy_if_stored, infra_id)
        for text in (built.stdout, built.stderr):
            self.assertNotIn(SECRET, text)
        self.assertIn("holds a URL with a password once rendered", built.stdout + built.stderr)
        store = self.open_store()
        events = [event.data for event in store.events(infra_id)]
        self.assertNotIn(SECRET, json.dumps(events))
        self.assertNotIn(SECRET, json.dumps(store.get_instances(infra_id)))
        self.assertNotIn(SECRET, json.dumps(store.failed_instances(infra_id)))
        self.assertNotIn(SECRET, json.dumps(store.get_node_definition("web")))
        self.assertEqual(cloud_instances(self.cloud, infra_id), [])


# a node whose contextualisation runs a command on the Occopus host, which is disabled: its
# create fails with a reason that quotes the command, and the URL password of a variable in it
FETCHING_A_TOKEN = """\
'node_def:fetching':
  - resource: {{type: simcloud, endpoint: '{url}', image: debian-12}}
    contextualisation:
      type: cloudinit
      context_template: |
        runcmd:
          - echo {{{{ cmd('curl -s ' ~ variables.token_url) }}}}
    health_check: {{ping: false}}
"""


class UrlPasswordsInResultsTest(SimCloudCommandCase):
    """A URL password that reaches a node's reason, a problem or an error is hidden wherever
    a command shows it: the table, `--json`, and `maintain -c`'s later passes."""

    def test_a_reason_quoting_a_variable_with_a_url_password_is_hidden_in_json(self):
        self.run_command("occopus-import", self.write(
            "nodes.yaml", FETCHING_A_TOKEN.format(url=self.cloud.url)), code=0)
        infra = self.write("infra.yaml", "infra_name: token\nnodes:\n  - name: web\n"
                           "    type: fetching\n    variables:\n"
                           f"      token_url: 'https://admin:{SECRET}@tokens.example/'\n")
        built = self.run_command("occopus-build", "--json", infra, code=1)
        document = json.loads(built.stdout)
        self.addCleanup(self.destroy_if_stored, document["infra_id"])
        maintained = self.run_command("occopus-maintain", "-i", document["infra_id"], "--json",
                                      code=1)
        for result in (built, maintained):
            self.assertNotIn(SECRET, result.stdout + result.stderr)
            [node] = json.loads(result.stdout)["nodes"]
            self.assertEqual(node["outcome"], "failed")
            self.assertIn("cmd('curl -s https://admin:***@tokens.example/') is disabled",
                          node["reason"])

    def test_maintain_c_hides_the_url_password_of_a_stored_endpoint_in_later_passes(self):
        # records an earlier version stored with a password in their endpoint (it is refused
        # now, but a store keeps them): a cloud that starts refusing is a new problem of a later
        # pass (refusing, not gone: a cloud gone is retried for a minute first)
        cloud = self.another_cloud()
        self.import_definitions(plain=cloud)
        infra_id = self.build(self.write("one.yaml", "infra_name: one\nnodes:\n"
                                                     "  - {name: web, type: plain}\n"))
        self.addCleanup(self.destroy_if_stored, infra_id)
        store = self.open_store()
        for name, by_id in store.get_instances(infra_id).items():
            for node_id, record in by_id.items():
                scheme, rest = record["node"]["resource"]["endpoint"].split("://", 1)
                record["node"]["resource"]["endpoint"] = f"{scheme}://admin:{SECRET}@{rest}"
                store.put_instance(infra_id, name, node_id, record)
        running = self.start("occopus-maintain", "-i", infra_id, "-c", "-t", "0.2")
        wait_until(lambda: "pass at " in running.stdout, "the first pass's table")
        cloud.fail_next(403, count=100_000)
        wait_until(lambda: "problem: cannot list the resources of" in running.stderr,
                   lambda: f"a later pass says the cloud refuses:\n{running.stderr}")
        running.process.send_signal(signal.SIGINT)
        self.assertEqual(running.wait(), 130)
        self.assert_clean(running.stderr, "occopus-maintain")
        self.assertNotIn(SECRET, running.stdout + running.stderr)
        self.assertIn("cannot list the resources of simcloud http://admin:***@", running.stderr)


class PrivateFilesTest(SimCloudCommandCase):
    def test_every_file_under_the_state_folder_is_0600_in_0700_folders(self):
        self.addCleanup(os.umask, os.umask(0))     # the commands inherit a permissive umask
        self.import_definitions(plain=self.cloud)
        infra = self.write("infra.yaml", "infra_name: private\nnodes:\n  - name: web\n"
                           "    type: plain\n")
        infra_id = self.build(infra)
        self.addCleanup(self.destroy_if_stored, infra_id)
        folder = self.home / ".occopus"
        names = set()
        for path in [folder, *folder.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            names.add(path.name)
            self.assertFalse(path.is_symlink(), path)
            self.assertEqual(mode, 0o700 if path.is_dir() else 0o600, path)
        self.assertTrue({"state.db", "infralist.yaml", "infralist.yaml.lock"} <= names, names)
        with sqlite3.connect(folder / "state.db") as db:
            self.assertIsNotNone(db.execute("SELECT 1 FROM infrastructures").fetchone())
        db.close()
