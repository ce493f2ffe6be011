"""Bring your own hosts, configured by ansible, end to end through the commands: a database
and an app on the checkout's test hosts (network namespaces with sshd), each configured by a
playbook once its machine is claimed and its cloud-config applied; the app's playbook finds
the database's address. Then occopus-run on them, and a destroy that gives the machines back."""
from __future__ import annotations

from .support import TestHostsCase, last_line, table_rows

DESCRIPTION = """\
infra_name: shop
nodes:
  - {name: db, type: db_host}
  - {name: app, type: app_host}
dependencies:
  - [app, db]
variables:
  greeting: hello
"""
DEFINITIONS = """\
'node_def:db_host':
  - resource: &pool
      type: hosts
      host_keys: trust-first-use
      pool: [{pool}]
    contextualisation:
      type: cloudinit
      context_template:
        write_files:
          - {{path: '/root/shop-{{{{infra_id}}}}/booted-{{{{node_id}}}}', content: booted}}
    config_management:
      type: ansible
      playbook: !yaml_import {{url: file://db.yml}}
      reapply: 0
'node_def:app_host':
  - resource: *pool
    config_management:
      type: ansible
      playbook: !yaml_import {{url: file://app.yml}}
      extra_vars: {{role: app}}
"""
DB_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: the database's settings
      ansible.builtin.copy:
        dest: "/root/shop-{{ occopus.infra_id }}/db.conf"
        content: "{{ greeting }} from {{ occopus.node_name }}\\n"
"""
APP_PLAYBOOK = """\
- hosts: all
  gather_facts: true
  tasks:
    - name: the app's folder
      ansible.builtin.file: {path: "/root/shop-{{ occopus.infra_id }}", state: directory}
    - name: the app's settings, with the database's address
      ansible.builtin.copy:
        dest: "/root/shop-{{ occopus.infra_id }}/app.conf"
        content: "{{ role }} uses the db at {{ occopus.nodes.db[0] }}\\n"
"""


class HostsWithAnsibleTest(TestHostsCase):
    POOL = 3

    def setUp(self) -> None:
        super().setUp()
        self.write("db.yml", DB_PLAYBOOK)
        self.write("app.yml", APP_PLAYBOOK)
        self.run_command("occopus-import", self.write("nodes.yaml",
                                                      DEFINITIONS.format(pool=self.pool)), code=0)

    def on(self, infra_id: str, node: str, command: str) -> str:
        ran = self.run_command("occopus-run", "-i", infra_id, "-n", node, "--", command,
                               code=0)
        return "\n".join(line.split("] ", 1)[1] for line in ran.stdout.splitlines()[:-1])

    def test_build_configure_reach_and_destroy_on_machines_of_a_pool(self) -> None:
        built = self.run_command("occopus-build", self.write("shop.yaml", DESCRIPTION), code=0)
        infra_id = last_line(built.stdout)
        self.addCleanup(self.destroy_if_stored, infra_id)
        rows = {row["node"]: row for row in table_rows(built.stdout)}
        self.assertEqual({name: row["state"] for name, row in rows.items()},
                         {"db": "ready", "app": "ready"}, built.stdout)
        pool = {target.address for target in self.hosts.targets}
        db_address, app_address = rows["db"]["addresses"][0], rows["app"]["addresses"][0]
        self.assertLessEqual({db_address, app_address}, pool)
        self.assertNotEqual(db_address, app_address, "each node a machine of its own")

        folder = f"/root/shop-{infra_id}"
        self.assertEqual(self.on(infra_id, "db", f"cat {folder}/db.conf {folder}/booted-*"),
                         "hello from db\nbooted")
        self.assertEqual(self.on(infra_id, "app", f"cat {folder}/app.conf"),
                         f"app uses the db at {db_address}")
        records = self.records(infra_id)
        [app] = records["app"].values()
        self.assertTrue(app["configured"]["ok"], app["configured"])
        self.assertEqual(app["configured"]["facts"]["ansible_hostname"],
                         self.on(infra_id, "app", "hostname"))

        # the db's playbook is applied again by every maintain pass (reapply: 0): a setting
        # removed by hand comes back; the app's (reapply 300 s by default) is not
        self.on(infra_id, "db", f"rm {folder}/db.conf")
        self.run_command("occopus-maintain", "-i", infra_id, code=0)
        self.assertEqual(self.on(infra_id, "db", f"cat {folder}/db.conf"), "hello from db")
        self.assertEqual(self.events_named(infra_id, "nodeconfigured"), 3)
        self.assertEqual(self.events_named(infra_id, "infraready"), 1,
                         "configuring again made nothing ready")

        self.run_command("occopus-destroy", "-i", infra_id, code=0)
        self.assertNotIn(infra_id, self.stored_ids())
        claims = self.on_hosts("readlink .occopus-host.claim || echo free")
        self.assertEqual(set(claims), {"free"}, claims)
        self.on_hosts(f"rm -rf {folder}")

    def events_named(self, infra_id: str, name: str) -> int:
        store = self.open_store()
        return sum(event.name == name for event in store.events(infra_id))
