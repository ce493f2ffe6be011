"""The hosts handler against real test hosts (network namespaces with Debian's sshd, made by
`./occo-dev hosts up`): the conformance kit, then what a node does on its machine."""
from __future__ import annotations

import os
import tempfile
import time
import unittest
import uuid
from unittest import mock

from occo.resourcehandler.base import Instance, PermanentError, TransientError
from occo.resourcehandler.conformance import ResourceHandlerConformance
from occo.resourcehandler.hosts.plugin import HostsHandler
from occo.util.nodes import NodeState, ResolvedNode
from occo.util.ssh import HostKeyPolicy, KnownHosts, Ssh
from occo.util.ssh.testing import test_hosts

POOL = 5
# a node with a background service, so that every drop has a process to stop
CONTEXT = "#cloud-config\nruncmd: ['sleep 300 &']\n"


class HostsCase(unittest.TestCase):
    POOL = POOL

    def setUp(self) -> None:
        super().setUp()
        self.hosts = test_hosts(self.POOL)
        home = tempfile.TemporaryDirectory(prefix="occo-hosts-home-")     # known hosts there
        self.addCleanup(home.cleanup)
        patched = mock.patch.dict(os.environ, {"HOME": home.name})
        patched.start()
        self.addCleanup(patched.stop)

    def section(self, **extra) -> dict:
        return {"type": "hosts", "host_keys": "trust-first-use",
                "pool": [target.address for target in self.hosts.targets], **extra}

    def new_handler(self, **extra) -> HostsHandler:
        login = self.hosts.login
        handler = HostsHandler.for_section(self.section(**extra), {
            "user": login.user, "private_key": login.private_key})
        self.addCleanup(handler.close)
        return handler

    @staticmethod
    def node(infra_id: str, node_id: str, context: str = CONTEXT) -> ResolvedNode:
        return ResolvedNode(infra_id, "shop", "tester", node_id, "web", {"type": "hosts"},
                            context=context)


class HostsConformanceTest(ResourceHandlerConformance, HostsCase):
    READY_TIMEOUT = 30.0
    CONCURRENT_CREATES = 3

    def make_handler(self) -> HostsHandler:
        return self.new_handler()

    def make_node(self, infra_id: str, node_id: str) -> ResolvedNode:
        return self.node(infra_id, node_id)


class HostsTest(HostsCase):
    def setUp(self) -> None:
        super().setUp()
        self.handler = self.new_handler()
        self.infra_id = f"infra-{uuid.uuid4().hex[:10]}"

    def create(self, context: str = CONTEXT, *, handler: HostsHandler | None = None,
               infra_id: str | None = None) -> Instance:
        handler = handler or self.handler
        node = self.node(infra_id or self.infra_id, str(uuid.uuid4()), context)
        [instance] = handler.create_nodes([node])
        if isinstance(instance, Exception):
            raise instance
        self.addCleanup(handler.drop_node, instance)
        return instance

    def wait(self, instance: Instance, wanted: NodeState):
        """Poll until the instance is `wanted`; its status then."""
        seen = []
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            [status] = self.handler.get_states([instance])
            seen.append(status)
            if status.state == wanted:
                return status
            time.sleep(0.1)
        self.fail(f"{instance.instance_id} never {wanted}: {seen[-3:]}")

    def on_machine(self, instance: Instance, command: str) -> str:
        target = next(t for t in self.hosts.targets if t.address == instance.data["address"])
        known = KnownHosts.of_infrastructure(instance.infra_id, HostKeyPolicy.TRUST_FIRST_USE)
        [ran] = Ssh(known, self.hosts.login).run_all([target], command)
        self.assertIsNone(ran.error, ran)
        return ran.stdout

    def test_the_cloud_config_is_applied_on_the_machine_and_undone_by_the_drop(self):
        marker = f"/root/occo-hosts-{uuid.uuid4().hex[:8]}"
        instance = self.create(
            "#cloud-config\n"
            f"write_files:\n  - {{path: {marker}/app.conf, content: 'port=8080', "
            "permissions: '0640'}\n"
            "runcmd:\n"
            f"  - echo \"$OCCOPUS_NODE_ID at $OCCOPUS_NODE_ADDRESS\" > {marker}/who\n"
            "  - sleep 300 &\n")
        status = self.wait(instance, NodeState.READY)
        self.assertEqual(status.addresses, (instance.data["address"],))
        self.assertEqual(self.on_machine(instance, f"cat {marker}/app.conf; echo; "
                                                   f"stat -c %a {marker}/app.conf; "
                                                   f"cat {marker}/who").splitlines(),
                         ["port=8080", "640", f"{instance.node_id} at {instance.data['address']}"])
        processes = (f"for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null | "
                     f"grep -qx OCCOPUS_INSTANCE_ID={instance.instance_id} && echo $p; done")
        self.assertEqual(len(self.on_machine(instance, processes).split()), 1, "sleep 300 runs")
        self.handler.drop_node(instance)
        self.assertIs(self.handler.get_states([instance])[0].state, NodeState.SHUTDOWN)
        left = self.on_machine(instance, f"ls {marker}/app.conf .occopus-host 2>&1; "
                                         f"{processes}; rm -rf {marker}")
        self.assertEqual(left.count("No such file"), 2, left)
        self.assertNotIn("/proc/", left)

    def test_a_failing_step_fails_the_node_naming_the_step_and_its_output(self):
        instance = self.create("#cloud-config\nruncmd:\n  - 'true'\n"
                               "  - 'echo the package is unknown; exit 4'\n")
        status = self.wait(instance, NodeState.FAILED)
        self.assertIn("runcmd[1] failed", status.detail)
        self.assertIn("the package is unknown", status.detail)

    def test_a_machine_another_infrastructure_holds_is_never_taken(self):
        handler = self.new_handler(pool=[self.hosts.targets[0].address])
        self.create(handler=handler, infra_id=f"other-{uuid.uuid4().hex[:8]}")
        with self.assertRaises(TransientError) as caught:
            self.create(handler=handler)
        self.assertIn("no machine of the pool is free (1 in all)", caught.exception.message)
        self.assertEqual(handler.list_owned(self.infra_id), [])

    def test_a_machine_is_reached_on_the_port_the_pool_gives(self):
        instance = Instance(self.infra_id, "n-1", "hosts-x", {"address": "10.0.0.9",
                                                              "port": 2222})
        self.assertEqual(HostsHandler.ssh_port(instance), 2222)
        self.assertEqual(HostsHandler.ssh_port(Instance(self.infra_id, "n-2", "other")), 22)

    def test_a_pool_that_names_no_machine_is_refused(self):
        for pool in ([], [{"port": 22}], [{"address": "10.0.0.1", "port": "ssh"}]):
            with self.subTest(pool=pool), self.assertRaises(PermanentError):
                self.new_handler(pool=pool)

    def test_a_login_missing_from_the_auth_file_is_refused_saying_so(self):
        with self.assertRaises(PermanentError) as caught:
            HostsHandler.for_section(self.section(), {})
        self.assertIn("user", caught.exception.message)
