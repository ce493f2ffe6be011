"""The chef-apache2 and chef-wordpress tutorials end to end: machines on moto's EC2 server,
their configuration on the fake Chef server.

There is no Chef server or client here: the server is `FakeChefServer` (a real
HTTP server checking every request's v1.3 signature, see
`occo.configmanager.chef.testing`), and what a booted machine's chef-client
does is played by the test (`Machines`): once a node's instance runs on moto,
its client registers with the validator's key and reports the machine's facts
on the Chef node Occopus made, over the same API. For chef-wordpress it also
plays what the tutorial's recipes would set up on the machines, from the
attributes the Chef node holds, so that the tutorial's health checks reach
something: the database and user of `database-setup::db` in the test process's
own MariaDB, reached at the mysql-server node's address through a forwarded port,
and the `/wordpress` page on the wordpress node's address.

Each test copies the tutorial, fills its placeholders (the EC2 account's
values; the Chef server's URL, the validator's name and key) as a user would,
and keeps Occopus's own client key in a file beside the auth file, read with
`!text_import`.
"""
from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

from occo.configmanager.chef.testing import (FakeChefServer, fill_tutorial as fill_chef,
                                             run_chef_client)
from occo.infraprocessor.testing.mariadb import shared_server
from occo.resourcehandler.base import NODE_TAG
from occo.resourcehandler.ec2.testing import CREDENTIALS, fill_tutorial as fill_ec2

from .test_e2e_ec2 import EC2TutorialCase, tags_of

CLIENT, VALIDATOR = "occopus", "chef-validator"
WORDPRESS_VALUES = {"replace_with_database_root_password": "root-secret-4321",
                    "replace_with_database_name": "occo_wordpress",
                    "replace_with_database_username": "occo_wp_user",
                    "replace_with_database_user_password": "wp-secret-8765"}
POLL = 0.2


class Machines:
    """The booted machines, as far as the Chef server and the health checks see them: in a
    thread, each instance running on moto runs its chef-client once (and `recipes`, the
    test's stand-in for what its run list sets up, given its Chef node)."""

    def __init__(self, case: ChefTutorialCase,
                 recipes: Callable[[dict[str, Any], str], None] | None = None) -> None:
        self.case, self.recipes = case, recipes
        self.converged: set[str] = set()
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="machines", daemon=True)

    def __enter__(self) -> Machines:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self._boot_new()
            except BaseException as error:       # said by the test, not lost in a thread
                self.failure = error
                return

    def _boot_new(self) -> None:
        chef = self.case.chef
        for item in self.case.cloud_instances():
            node_id = tags_of(item).get(NODE_TAG)
            if (item["State"]["Name"] != "running" or node_id in self.converged
                    or chef.node(node_id) is None):
                continue
            address = item["PrivateIpAddress"]
            if self.recipes is not None:
                self.recipes(chef.node(node_id), address)
            run_chef_client(chef.endpoint, VALIDATOR, self.case.validator_key, node_id,
                            {"fqdn": address, "ipaddress": address})
            self.converged.add(node_id)


class ChefTutorialCase(EC2TutorialCase):
    chef: FakeChefServer

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.chef = FakeChefServer().start()
        cls.addClassCleanup(cls.chef.stop)
        cls.client_key = cls.chef.add_client(CLIENT)
        cls.validator_key = cls.chef.add_client(VALIDATOR)

    def setUp(self) -> None:
        super().setUp()
        key_file = self.home / ".occopus" / "occopus-chef.pem"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(self.client_key)
        self.use_auth_data(f"""\
resource:
  -
    type: ec2
    auth_data:
      accesskey: {CREDENTIALS["accesskey"]}
      secretkey: {CREDENTIALS["secretkey"]}
config_management:
  -
    type: chef
    endpoint: {self.chef.endpoint}
    auth_data:
      client_name: {CLIENT}
      client_key: !text_import {{url: file://occopus-chef.pem}}
""")
        self.chef_values = self.chef.tutorial_values(VALIDATOR, self.validator_key)

    def cloud_instances(self) -> list[dict[str, Any]]:
        pages = self.cloud.get_paginator("describe_instances").paginate()
        return [item for page in pages for reservation in page["Reservations"]
                for item in reservation["Instances"]]

    def import_chef_tutorial(self, name: str, **values: str) -> Any:
        filled = {**self.values}

        def fill(text: str) -> str:
            for placeholder, value in values.items():
                text = text.replace(placeholder, value)
            return fill_chef(fill_ec2(text, filled), self.chef_values)
        tutorial = self.copy_tutorial(name, fill)
        self.run_command("occopus-import", tutorial / "nodes" / "node_definitions.yaml", code=0)
        return tutorial

    def run_command(self, name: str, *args: Any, code: int | None = None,
                    timeout: float | None = None) -> Any:
        """As the EC2 case's; Occopus's own Chef key is never printed either."""
        result = super().run_command(name, *args, code=code,
                                     **({} if timeout is None else {"timeout": timeout}))
        key_body = self.client_key.splitlines()[1]
        self.assertNotIn(key_body, result.stdout + result.stderr, f"{name} printed the key")
        return result

    def assert_chef_node(self, infra_id: str, row: dict[str, Any], run_list: list[str]) -> dict:
        """The Chef node of a built node: in the infrastructure's environment, with its role
        and the tutorial's run list, its chef-client heard from."""
        made = self.chef.node(row["node_id"])
        self.assertIsNotNone(made, row)
        self.assertEqual(made["chef_environment"], infra_id)
        self.assertEqual(made["run_list"], [f"role[{infra_id}_{row['node']}]", *run_list])
        self.assertIn("ohai_time", made["automatic"])
        self.assertIn(f"{infra_id}_{row['node']}", self.chef.names("roles"))
        return made

    def assert_chef_forgot(self, infra_id: str, node_ids: list[str]) -> None:
        self.assertNotIn(infra_id, self.chef.names("environments"))
        self.assertEqual([role for role in self.chef.names("roles")
                          if role.startswith(infra_id)], [])
        for node_id in node_ids:
            self.assertIsNone(self.chef.node(node_id))
            self.assertNotIn(node_id, self.chef.names("clients"))

    def assert_secret_not_stored(self) -> None:
        self.assertNotIn(self.client_key.splitlines()[1].encode(), self.state_db.read_bytes())


class ChefApache2Test(ChefTutorialCase):
    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_chef_tutorial("chef-apache2")
        with Machines(self) as machines:
            infra_id, rows = self.build_ready(tutorial / "infra-chef-apache2.yaml")
        self.assertIsNone(machines.failure)
        [row] = rows
        self.assertEqual(row["node"], "apache2")
        instance = self.assert_made_as_asked(infra_id, rows)["apache2"]
        self.assert_chef_node(infra_id, row, ["recipe[apache2]"])
        # the machine's cloud-init points its chef-client at the server, its environment and
        # its Chef node
        chef = self.cloud_config(instance)["chef"]
        self.assertEqual((chef["server_url"], chef["environment"], chef["node_name"],
                          chef["validation_name"], chef["validation_key"]),
                         (self.chef.endpoint, infra_id, row["node_id"], VALIDATOR,
                          self.validator_key))
        self.assertEqual(self.chef.refused, [], "every request was signed right")
        self.assert_secret_not_stored()
        self.report_and_destroy(infra_id, rows)
        self.assert_chef_forgot(infra_id, [row["node_id"]])


@contextlib.contextmanager
def forwarded(address: str, port: int, to: tuple[str, int]) -> Iterator[None]:
    """Connections to `address:port` carried to `to`, each in threads of its own."""
    listener = socket.create_server((address, port))
    stop = threading.Event()

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(to)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=pipe, args=(source, sink), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)     # wakes the accept (close alone does not)
        listener.close()
        thread.join()


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        found = self.path.rstrip("/") == "/wordpress"
        body = b"<html><body>WordPress</body></html>" if found else b"not here"
        self.send_response(200 if found else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ChefWordpressTest(ChefTutorialCase):
    """What the recipes set up is played by the test from the Chef node's attributes; the
    tutorial's health checks then reach it: the database with the user and password the
    attributes name, the page at http://ADDRESS/wordpress."""

    def setUp(self) -> None:
        super().setUp()
        self.stack = contextlib.ExitStack()
        self.addCleanup(self.stack.close)
        self.mariadb = shared_server()
        self.root = self.mariadb.root()
        self.addCleanup(self.root.close)

    def recipes(self, node: dict[str, Any], address: str) -> None:
        run_list = node["run_list"]
        if "recipe[database-setup::db]" in run_list:
            wanted = node["normal"]["database_management"]
            database, user = wanted["database_name"], wanted["dbuser_username"]
            with self.root.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
                cursor.execute(f"CREATE USER IF NOT EXISTS '{user}'@'127.0.0.1' IDENTIFIED BY %s",
                               (wanted["dbuser_password"],))
                cursor.execute(f"GRANT ALL ON `{database}`.* TO '{user}'@'127.0.0.1'")
            self.addCleanup(self.drop_database, database, user)
            self.stack.enter_context(forwarded(address, 3306,
                                               (self.mariadb.host, self.mariadb.port)))
        if "recipe[wordpress]" in run_list:
            page = http.server.ThreadingHTTPServer((address, 80), _Page)
            threading.Thread(target=page.serve_forever, daemon=True).start()
            self.stack.callback(page.server_close)
            self.stack.callback(page.shutdown)

    def drop_database(self, database: str, user: str) -> None:
        with self.root.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'127.0.0.1'")
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_chef_tutorial("chef-wordpress", **WORDPRESS_VALUES)
        with Machines(self, self.recipes) as machines:
            infra_id, rows = self.build_ready(tutorial / "infra-chef-wordpress.yaml")
        self.assertIsNone(machines.failure)
        by_name = {row["node"]: row for row in rows}
        self.assertEqual(sorted(by_name), ["mysql-server", "wordpress"])
        self.assert_made_as_asked(infra_id, rows)
        database = self.assert_chef_node(infra_id, by_name["mysql-server"],
                                         ["recipe[database-setup::db]"])
        self.assertEqual(database["normal"]["database_management"], {
            "database_name": "occo_wordpress", "dbuser_username": "occo_wp_user",
            "dbuser_password": "wp-secret-8765"})
        self.assertEqual(database["normal"]["mysql"], {"server_root_password": "root-secret-4321"})
        # the mapping: the connect cookbook copies the database node's fqdn into wordpress's
        wordpress = self.assert_chef_node(infra_id, by_name["wordpress"],
                                          ["recipe[connect]", "recipe[wordpress]"])
        self.assertEqual(wordpress["normal"]["connections"], [{
            "source_role": f"{infra_id}_mysql-server", "source_attribute": "fqdn",
            "destination_attribute": "wordpress.db.host"}])
        self.assertEqual(wordpress["normal"]["wordpress"]["db"], {
            "name": "occo_wordpress", "user": "occo_wp_user", "pass": "wp-secret-8765"})
        self.assertEqual(self.chef.refused, [])
        self.assert_secret_not_stored()
        self.report_and_destroy(infra_id, rows)
        self.assert_chef_forgot(infra_id, [row["node_id"] for row in rows])
