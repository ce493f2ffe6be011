"""The puppet-solo-wordpress tutorial end to end, on the checkout's test hosts, with Puppet
applying manifests that need no internet.

The tutorial's node definitions are copied and filled as a user who brings
their own machines would fill them: each `resource` section names the test
hosts (network namespaces with sshd) instead of an EC2 cloud, and each
manifest URL becomes the tutorial's manifest trimmed to need no internet
(`data/puppet-solo-wordpress`: the same hiera keys, Debian's MariaDB instead of
the Forge's mysql module, a page served by Python instead of apache, php and
wordpress), read with `!text_import`; the Forge modules go. The tutorial's
cloud-init file downloaded and ran Puppet itself: Occopus does that now, so the
copy only marks the machine booted. The rest
(the infrastructure, the attributes, the health checks) is the tutorial's,
its placeholders filled. The build is ready only once Puppet has run on both
machines and the tutorial's health checks reach the database and the page.
"""
from __future__ import annotations

import re
from pathlib import Path

import pymysql

from .support import TestHostsCase, last_line, table_rows

DATA = Path(__file__).parent / "data" / "puppet-solo-wordpress"
MANIFESTS = "https://raw.githubusercontent.com/occopus/docs/master/tutorials/puppet-solo-wordpress/manifests/"
VALUES = {"replace_with_database_root_password": "root-secret-1234",
          "replace_with_database_name": "occo_wordpress",
          "replace_with_database_username": "occo_wp",
          "replace_with_database_user_password": "wp-secret-5678"}
CLOUD_INIT = """\
#cloud-config
write_files:
- content: booted {{node_id}}
  path: /root/occopus-tutorial/booted
"""
LEFT_ON_HOSTS = """\
for pid in /root/occopus-mariadb/mysqld.pid /root/occopus-www.pid; do
  test -e $pid && kill $(cat $pid)
done
for i in $(seq 100); do test -e /root/occopus-mariadb/mysqld.pid || break; sleep 0.1; done
rm -rf /root/occopus-mariadb /root/occopus-mariadb.log /root/occopus-www /root/occopus-www.pid \
  /root/occopus-www.log /root/occopus-tutorial /root/.occopus-puppet
echo clean
"""


class PuppetSoloWordpressTest(TestHostsCase):
    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(self.clean_hosts)
        self.clean_hosts()

    def clean_hosts(self) -> None:
        self.assertEqual(self.on_hosts(LEFT_ON_HOSTS), ["clean"] * 2)

    def fill(self, text: str) -> str:
        """The tutorial's files as filled for machines of one's own (see the module)."""
        text = re.sub(r"(?m)^    resource:\n(?:      .*\n)+",
                      f"    resource:\n      type: hosts\n      host_keys: trust-first-use\n"
                      f"      pool: [{self.pool}]\n", text)
        text = re.sub(r"(?m)^      modules:\n(?:        - .*\n)+", "", text)
        text = re.sub(re.escape(MANIFESTS) + r"([\w-]+\.pp)", r"!text_import {url: file://\1}",
                      text)
        if text.startswith("#cloud-config"):
            text = CLOUD_INIT
        for placeholder, value in VALUES.items():
            text = text.replace(placeholder, value)
        return text

    def test_build_reach_and_destroy_the_tutorial(self) -> None:
        tutorial = self.copy_tutorial("puppet-solo-wordpress", self.fill)
        for manifest in DATA.glob("*.pp"):
            (tutorial / "nodes" / manifest.name).write_text(manifest.read_text())
        self.run_command("occopus-import", tutorial / "nodes" / "node_definitions.yaml", code=0)
        # no dependency is declared: the wordpress node's attributes ask for getip() of the
        # database node, so it waits for that node, and the plan says so
        planned = self.run_command("occopus-build", "--dry-run",
                                   tutorial / "infra-puppet-solo-wordpress.yaml", code=0)
        self.assertIn("create 1 x puppet-solo-wp after puppet-solo-mysql", planned.stdout)
        built = self.run_command("occopus-build", tutorial / "infra-puppet-solo-wordpress.yaml")
        infra_id = last_line(built.stdout)
        self.addCleanup(self.destroy_if_stored, infra_id)
        self.assertEqual(built.returncode, 0, built.stdout + built.stderr)
        rows = {row["node"]: row for row in table_rows(built.stdout)}
        self.assertEqual({name: row["state"] for name, row in rows.items()},
                         {"puppet-solo-mysql": "ready", "puppet-solo-wp": "ready"})
        database = rows["puppet-solo-mysql"]["addresses"][0]

        for name, by_id in self.records(infra_id).items():
            [record] = by_id.values()
            self.assertEqual(record["configured"]["detail"], "applied, changes made", name)
        # what the manifests set up, as the tutorial's health checks found it
        with pymysql.connect(host=database, user="occo_wp", password="wp-secret-5678",
                             database="occo_wordpress", connect_timeout=10) as connection:
            self.assertTrue(connection.open)
        page = self.run_command("occopus-run", "-i", infra_id, "-n", "puppet-solo-wp", "--",
                                "curl -fsS http://127.0.0.1/wordpress/", code=0)
        self.assertIn(f"WordPress on database occo_wordpress at {database} as occo_wp",
                      page.stdout)
        booted = self.run_command("occopus-run", "-i", infra_id, "-n", "puppet-solo-mysql",
                                  "--", "cat /root/occopus-tutorial/booted", code=0)
        self.assertIn(f"booted {rows['puppet-solo-mysql']['node_id']}", booted.stdout)
        self.assertNotIn("wp-secret-5678", built.stdout + built.stderr)

        self.run_command("occopus-destroy", "-i", infra_id, code=0)
        self.assertNotIn(infra_id, self.stored_ids())
        claims = self.on_hosts("readlink .occopus-host.claim || echo free")
        self.assertEqual(claims, ["free", "free"])
