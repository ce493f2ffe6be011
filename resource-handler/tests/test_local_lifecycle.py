"""Local nodes for real: processes started, services on their own addresses, all gone after drop."""
from __future__ import annotations

import http.client
import ipaddress
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from occo.util.nodes import NodeState

from occo.resourcehandler.local.cloudconfig import ContextError
from occo.resourcehandler.local.plugin import LocalHandler

from .test_local_support import LocalCase, accepts, free_port, wait_until
from .support import create_one, state_of


def web_server(port: int, page: str) -> str:
    """A cloud-config whose runcmd serves `page` from the node's root on its own address."""
    return textwrap.dedent(f"""\
        #cloud-config
        write_files:
        - path: /srv/www/index.html
          content: {page}
        runcmd:
        - cd "$OCCOPUS_NODE_ROOT/srv/www" && {sys.executable} -m http.server
            --bind "$OCCOPUS_NODE_ADDRESS" {port} > "$OCCOPUS_NODE_DIR/server.log" 2>&1 &
        """)


def fetch(address: str, port: int, path: str = "/index.html") -> str:
    connection = http.client.HTTPConnection(address, port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def group_members(pgid: int) -> list[int]:
    """Every process of the group, zombies included, as /proc lists them."""
    members = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            text = Path(f"/proc/{name}/stat").read_text()
        except FileNotFoundError:
            continue
        if int(text[text.rindex(")") + 2:].split()[2]) == pgid:
            members.append(int(name))
    return members


class LocalLifecycleTest(LocalCase):
    def test_services_run_on_their_own_addresses_and_drop_leaves_nothing(self) -> None:
        handler = self.new_handler()
        port = free_port(str(ipaddress.ip_network(self.address_range)[-2]))
        first = create_one(handler, self.node("node-a", web_server(port, "page-a")))
        second = create_one(handler, self.node("node-b", web_server(port, "page-b")))
        statuses = handler.get_states([first, second])
        addresses = [status.private_ip for status in statuses]

        self.assertNotEqual(addresses[0], addresses[1])
        for address, instance, status in zip(addresses, (first, second), statuses):
            self.assertIn(ipaddress.ip_address(address), ipaddress.ip_network(self.address_range))
            self.assertNotEqual(address, "127.0.0.1")
            self.assertEqual(status.addresses, (address,))
            self.wait_for(handler, instance, NodeState.READY)
            wait_until(lambda address=address: accepts(address, port),
                       f"{address}:{port} is served")
        # the same port on two addresses, each node serving its own page
        self.assertEqual(fetch(addresses[0], port), "page-a")
        self.assertEqual(fetch(addresses[1], port), "page-b")
        pgid = first.data["pgid"]
        self.assertTrue(group_members(pgid), "the server runs in the node's process group")

        handler.drop_node(first)
        self.assertFalse(accepts(addresses[0], port), "the port closes when the node is dropped")
        self.assertGroupEnds(first)
        self.assertEqual(group_members(pgid), [])
        self.assertFalse(Path(first.data["node_dir"]).exists())
        self.assertIs(state_of(handler, first), NodeState.SHUTDOWN)
        self.assertEqual(fetch(addresses[1], port), "page-b", "the other node is untouched")

        third = create_one(handler, self.node("node-c"))
        self.assertEqual(handler.get_states([third])[0].private_ip, addresses[0],
                         "a dropped node's address is reused")

        handler.drop_node(second)
        handler.drop_node(third)
        self.assertEqual(os.listdir(self.workdir / "nodes"), [])
        self.assertEqual(handler.registry.read(), {})
        self.assertEqual(handler.list_owned("infra-1"), [])

    def test_write_files_land_under_the_node_root_with_their_permissions(self) -> None:
        handler, instance = self.start_node("node-files", textwrap.dedent("""\
            #cloud-config
            write_files:
            - {path: /etc/app/secret.conf, content: "key: 1\\n", permissions: '0600'}
            - {path: /usr/local/bin/tool, content: "#!/bin/sh\\necho tool\\n", permissions: '0755'}
            - {path: /var/data.bin, content: aGVsbG8=, encoding: b64}
            - {path: /var/log/app.log, content: "one\\n"}
            - {path: /var/log/app.log, content: "two\\n", append: true}
            - {path: ../../../outside.txt, content: kept inside}
            runcmd:
            - '"$OCCOPUS_NODE_ROOT/usr/local/bin/tool"'
            """))
        self.wait_for(handler, instance, NodeState.READY)
        root = Path(instance.data["node_dir"]) / "root"

        def mode(path: str) -> int:
            return stat.S_IMODE((root / path).stat().st_mode)
        self.assertEqual((root / "etc/app/secret.conf").read_text(), "key: 1\n")
        self.assertEqual(mode("etc/app/secret.conf"), 0o600)
        self.assertEqual(mode("usr/local/bin/tool"), 0o755)
        self.assertEqual(mode("var/log/app.log"), 0o644)
        self.assertEqual((root / "var/data.bin").read_bytes(), b"hello")
        self.assertEqual((root / "var/log/app.log").read_text(), "one\ntwo\n")
        self.assertEqual((root / "outside.txt").read_text(), "kept inside")
        self.assertFalse((self.workdir.parent / "outside.txt").exists())
        handler.drop_node(instance)

    def test_steps_run_in_cloud_init_order_with_the_node_variables(self) -> None:
        os.environ["OCCO_TEST_CLOUD_PASSWORD"] = "not for nodes"
        self.addCleanup(os.environ.pop, "OCCO_TEST_CLOUD_PASSWORD")
        handler = self.new_handler()
        node = self.node("node-order", textwrap.dedent("""\
            #cloud-config
            environment: {GREETING: hello, DEBUG: true}
            runcmd:
            - cat "$OCCOPUS_NODE_ROOT/marker" >> order.txt
            - env > env.txt
            - [printf, "%s\\n", "$GREETING", unexpanded]
            write_files:
            - {path: /marker, content: "write_files\\n"}
            bootcmd:
            - test ! -e "$OCCOPUS_NODE_ROOT/marker" && echo bootcmd >> order.txt
            """), name="db")
        instance = create_one(handler, node)
        self.wait_for(handler, instance, NodeState.READY)
        folder = Path(instance.data["node_dir"])

        self.assertEqual((folder / "order.txt").read_text(), "bootcmd\nwrite_files\n")
        lines = (folder / "env.txt").read_text().splitlines()
        variables = dict(line.split("=", 1) for line in lines)
        self.assertEqual({key: variables.get(key) for key in (
            "OCCOPUS_NODE_ADDRESS", "OCCOPUS_NODE_ID", "OCCOPUS_NODE_NAME", "OCCOPUS_INFRA_ID",
            "OCCOPUS_NODE_DIR", "OCCOPUS_NODE_ROOT", "PWD", "GREETING", "DEBUG")}, {
            "OCCOPUS_NODE_ADDRESS": instance.data["address"],
            "OCCOPUS_NODE_ID": "node-order",
            "OCCOPUS_NODE_NAME": "db", "OCCOPUS_INFRA_ID": "infra-1",
            "OCCOPUS_NODE_DIR": str(folder), "OCCOPUS_NODE_ROOT": str(folder / "root"),
            "PWD": str(folder), "GREETING": "hello", "DEBUG": "true"})
        self.assertNotIn("OCCO_TEST_CLOUD_PASSWORD", variables, "Occopus's own variables stay out")
        self.assertIn("$GREETING\nunexpanded\n", (folder / "node.log").read_text(),
                      "a list runs without a shell")
        handler.drop_node(instance)

    def test_a_failing_command_fails_the_node_with_its_exit_code_and_log(self) -> None:
        handler, instance = self.start_node("node-fails", textwrap.dedent("""\
            #cloud-config
            packages: [nginx]
            runcmd:
            - echo starting
            - echo "no such database" >&2; exit 3
            - touch never.txt
            """))
        self.wait_for(handler, instance, NodeState.FAILED)
        folder = Path(instance.data["node_dir"])

        detail = handler.get_states([instance])[0].detail
        self.assertIn("runcmd[1] exited with 3", detail)
        self.assertIn("no such database", detail)
        self.assertEqual(len(detail.splitlines()), 1, "a reason is one line")
        self.assertFalse((folder / "never.txt").exists(), "the steps after a failure do not run")
        self.assertIn("not applied on a local node: packages", (folder / "node.log").read_text())
        [listed] = self.new_handler().list_owned("infra-1")
        self.assertEqual(self.new_handler().get_states([listed])[0].detail, detail,
                         "a later process sees the failure too")
        handler.drop_node(instance)

    def test_a_program_that_cannot_be_found_fails_the_node(self) -> None:
        handler, instance = self.start_node("node-missing", "#cloud-config\n"
                                            "bootcmd: [[/nonexistent/program]]\n")
        self.wait_for(handler, instance, NodeState.FAILED)
        self.assertIn("bootcmd[0] could not start", handler.get_states([instance])[0].detail)
        handler.drop_node(instance)

    def test_a_node_is_pending_until_its_bootstrap_ends(self) -> None:
        handler, instance = self.start_node("node-slow", "#cloud-config\nruncmd:\n"
                                            "- while [ ! -e go ]; do sleep 0.05; done\n")
        self.assertIs(state_of(handler, instance), NodeState.PENDING)
        (Path(instance.data["node_dir"]) / "go").touch()
        self.wait_for(handler, instance, NodeState.READY)
        handler.drop_node(instance)

    def test_dropping_a_node_during_its_bootstrap_stops_it(self) -> None:
        handler, instance = self.start_node("node-booting", "#cloud-config\n"
                                            "runcmd: ['sleep 300']\n")
        self.assertIs(state_of(handler, instance), NodeState.PENDING)
        handler.drop_node(instance)
        self.assertIs(state_of(handler, instance), NodeState.SHUTDOWN)
        self.assertGroupEnds(instance)
        self.assertEqual(handler.registry.read(), {})

    def test_a_killed_bootstrap_fails_the_node(self) -> None:
        handler, instance = self.start_node("node-killed", "#cloud-config\n"
                                            "runcmd: ['sleep 300']\n")
        self.assertIs(state_of(handler, instance), NodeState.PENDING)
        os.kill(instance.data["pgid"], signal.SIGKILL)     # the bootstrap; its sleep lives on
        self.wait_for(handler, instance, NodeState.FAILED)
        self.assertIn("stopped before it finished", handler.get_states([instance])[0].detail)
        handler.drop_node(instance)
        self.assertGroupEnds(instance)

    def test_a_service_that_ignores_sigterm_is_killed(self) -> None:
        handler, instance = self.start_node("node-stubborn", textwrap.dedent("""\
            #cloud-config
            runcmd:
            - sh -c 'trap "" TERM; touch trapped; while :; do sleep 0.05; done' > /dev/null 2>&1 &
            """))
        handler.STOP_GRACE = 0.2
        self.wait_for(handler, instance, NodeState.READY)
        trapped = Path(instance.data["node_dir"]) / "trapped"
        wait_until(trapped.exists, "the trap is set")
        handler.drop_node(instance)
        self.assertGroupEnds(instance)

    def test_creating_again_returns_the_instance_from_any_handler(self) -> None:
        first_handler, second_handler = self.new_handler(), self.new_handler()
        node = self.node("node-once", "#cloud-config\nruncmd: ['sleep 300 &']\n")
        instance = create_one(first_handler, node)

        again = create_one(second_handler, node)
        self.assertEqual((again.instance_id, again.data["address"], again.data["pgid"]),
                         (instance.instance_id, instance.data["address"], instance.data["pgid"]))
        self.assertEqual(len(os.listdir(self.workdir / "nodes")), 1, "one node folder")
        self.wait_for(second_handler, instance, NodeState.READY)
        second_handler.drop_node(instance)
        self.assertIs(state_of(first_handler, instance), NodeState.SHUTDOWN)
        self.assertGroupEnds(instance)

    def test_another_process_sees_and_drops_the_nodes(self) -> None:
        handler, instance = self.start_node("node-shared", "#cloud-config\n"
                                            "runcmd: ['sleep 300 &']\n")
        self.wait_for(handler, instance, NodeState.READY)
        script = textwrap.dedent("""\
            import json, sys
            from occo.resourcehandler.local.plugin import LocalHandler
            handler = LocalHandler.for_section(json.loads(sys.argv[1]))
            [instance] = handler.list_owned("infra-1")
            [before] = handler.get_states([instance])
            handler.drop_node(instance)
            [after] = handler.get_states([instance])
            print(json.dumps([instance.instance_id, before.state, after.state]))
            """)
        result = subprocess.run([sys.executable, "-c", script, json.dumps(self.resource)],
                                capture_output=True, text=True, timeout=60, check=True)
        self.assertEqual(json.loads(result.stdout), [instance.instance_id, "ready", "shutdown"])
        self.assertIs(state_of(handler, instance), NodeState.SHUTDOWN)
        self.assertGroupEnds(instance)

    def test_a_bad_context_fails_the_create_and_leaves_nothing(self) -> None:
        handler = self.new_handler()
        with self.assertRaises(ContextError):
            create_one(handler, self.node("node-bad", "#cloud-config\nruncmd: echo not a list\n"))
        self.assertEqual(handler.registry.read(), {})
        self.assertFalse((self.workdir / "nodes").exists())

    def test_the_workdir_defaults_to_the_users_occopus_folder(self) -> None:
        handler = LocalHandler.for_section({"type": "local"})
        self.assertEqual(handler.workdir, Path.home() / ".occopus" / "local")
        self.assertEqual(str(handler.registry.network), "127.0.1.0/24")
