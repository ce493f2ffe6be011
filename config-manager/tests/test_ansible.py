"""The ansible config manager against real test hosts (network namespaces with Debian's sshd,
made by `./occo-dev hosts up`): its conformance, what a playbook does on a node, its facts,
failures, unreachable nodes and refused host keys."""
from __future__ import annotations

import itertools
import tempfile
import unittest
from pathlib import Path

from occo.configmanager.ansible.manager import AnsibleManager
from occo.configmanager.base import ConfigTarget, NotReachableYet
from occo.configmanager.conformance import ConfigManagerConformance
from occo.util.errors import ConfigurationError
from occo.util.nodes import ResolvedNode
from occo.util.ssh import HostKeyPolicy, KnownHosts, SshAccess, SshOptions, SshTarget
from occo.util.ssh.testing import test_hosts

HOSTS = 3
MARK = "/root/occo-ansible-{{ occopus.node_id }}"
PLAYBOOK = [{"hosts": "all", "gather_facts": True, "tasks": [
    {"name": "leave a mark", "ansible.builtin.copy": {
        "dest": MARK, "mode": "0600",
        "content": "{{ greeting }} from {{ occopus.node_name }} at {{ occopus.addresses[0] }}; "
                   "db at {{ occopus.nodes.db | default([]) | join(',') }}\n"}},
]}]
QUICK = [{"hosts": "all", "gather_facts": False, "tasks": [
    {"name": "leave a mark", "ansible.builtin.copy": {"dest": MARK, "content": "{{ greeting }}"}},
]}]
FAILING = [{"hosts": "all", "gather_facts": False, "tasks": [
    {"name": "a step that works", "ansible.builtin.command": "true"},
    {"name": "install a package that does not exist",
     "ansible.builtin.command": "sh -c 'echo no-such-package is unknown >&2; exit 3'"},
]}]
UNUSED_ADDRESS = "10.213.15.250"        # in the test range, never given to a host


class AnsibleCase(unittest.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.hosts = test_hosts(HOSTS)
        scratch = tempfile.TemporaryDirectory(prefix="occo-ansible-test-")
        self.addCleanup(scratch.cleanup)
        self.folder = Path(scratch.name)
        self.next_host = itertools.cycle(self.hosts.targets)

    def access(self, node: ResolvedNode, *, address: str | None = None,
               policy: HostKeyPolicy = HostKeyPolicy.TRUST_FIRST_USE,
               timeout: float = 10.0) -> SshAccess:
        host = next(self.next_host)
        known = KnownHosts.of_infrastructure(node.infra_id, policy, folder=self.folder / "known")
        target = SshTarget(address or host.address, host.port, node.name, machine=node.node_id)
        return SshAccess(target, self.hosts.login, known, SshOptions(connect_timeout=timeout))

    def target(self, node: ResolvedNode, **options) -> ConfigTarget:
        access = self.access(node, **options)
        return ConfigTarget(node, f"host-{access.target.address}", (access.target.address,),
                            variables={"greeting": "hello"}, access=access,
                            peers={"db": ("10.9.0.1", "10.9.0.2")})


class AnsibleConformance(ConfigManagerConformance, AnsibleCase):
    SECTION = {"type": "ansible", "playbook": QUICK}

    def make_manager(self) -> AnsibleManager:
        return AnsibleManager(self.SECTION)

    def make_target(self, node: ResolvedNode) -> ConfigTarget:
        target = self.target(node)
        self.addCleanup(target.access.run, f"rm -f /root/occo-ansible-{node.node_id}")
        return target

    def make_broken_target(self, node: ResolvedNode) -> ConfigTarget:
        self.manager = AnsibleManager({"type": "ansible", "playbook": FAILING})
        return self.target(node)


class AnsibleTest(AnsibleCase):
    def node(self) -> ResolvedNode:
        return ResolvedNode("infra-ansible", "shop", "tester", "node-1234", "configured",
                            {"type": "local"}, config_management={"type": "ansible"})

    def test_the_playbook_runs_on_the_node_with_its_variables_and_learns_its_facts(self):
        manager = AnsibleManager({"type": "ansible", "playbook": PLAYBOOK,
                                  "extra_vars": {"greeting": "good day"}})
        target = self.target(self.node())
        done = manager.configure(target)
        self.assertTrue(done.ok, done.detail)
        mark = target.access.run(f"cat /root/occo-ansible-{target.node_id}; hostname")
        self.addCleanup(target.access.run, f"rm -f /root/occo-ansible-{target.node_id}")
        self.assertTrue(mark.ok, mark)
        written, hostname = mark.stdout.splitlines()
        self.assertEqual(written, f"good day from configured at {target.addresses[0]}; "
                                  "db at 10.9.0.1,10.9.0.2")
        self.assertEqual(done.facts["ansible_hostname"], hostname)
        self.assertTrue(all(name.startswith("ansible_") for name in done.facts))
        self.assertEqual(manager.get_node_attribute(
            ConfigTarget(**{**target.__dict__, "configured": done}), "ansible_hostname"),
            hostname)

    def test_the_nodes_variables_are_data_never_templates(self):
        manager = AnsibleManager({"type": "ansible", "playbook": PLAYBOOK})
        target = ConfigTarget(**{**self.target(self.node()).__dict__,
                                 "variables": {"greeting": "{{ lookup('pipe', 'id') }}"}})
        self.addCleanup(target.access.run, f"rm -f /root/occo-ansible-{target.node_id}")
        done = manager.configure(target)
        self.assertTrue(done.ok, done.detail)
        written = target.access.run(f"cat /root/occo-ansible-{target.node_id}").stdout
        self.assertTrue(written.startswith("{{ lookup('pipe', 'id') }} from configured"),
                        written)

    def test_plays_that_would_run_on_the_occopus_machine_are_refused(self):
        node = self.node()
        for play, said in (({"hosts": "localhost", "tasks": []}, "targets hosts 'localhost'"),
                           ({"hosts": "all", "tasks": [{"command": "id",
                                                        "delegate_to": "localhost"}]},
                            "delegate_to: localhost"),
                           ({"hosts": "all", "connection": "local", "tasks": []},
                            "connection: local")):
            with self.subTest(said=said):
                done = AnsibleManager({"type": "ansible", "playbook": [play]}).configure(
                    self.target(node))
                self.assertFalse(done.ok)
                self.assertIn(said, done.detail)

    def test_a_second_run_changes_nothing(self):
        manager = AnsibleManager({"type": "ansible", "playbook": PLAYBOOK})
        target = self.target(self.node())
        self.addCleanup(target.access.run, f"rm -f /root/occo-ansible-{target.node_id}")
        first, again = manager.configure(target), manager.configure(target)
        self.assertTrue(first.ok and again.ok, (first, again))
        self.assertIn("changed=1", first.detail)
        self.assertIn("changed=0", again.detail)

    def test_a_failure_names_the_task_and_says_what_it_printed(self):
        manager = AnsibleManager({"type": "ansible", "playbook": FAILING})
        done = manager.configure(self.target(self.node()))
        self.assertFalse(done.ok)
        self.assertIn("task 'install a package that does not exist' failed", done.detail)
        self.assertIn("no-such-package is unknown", done.detail)

    def test_a_node_not_up_yet_is_tried_again_later(self):
        manager = AnsibleManager({"type": "ansible", "playbook": PLAYBOOK})
        with self.assertRaises(NotReachableYet):
            manager.configure(self.target(self.node(), address=UNUSED_ADDRESS, timeout=1.0))

    def test_a_host_key_not_known_under_the_strict_policy_fails_the_node(self):
        manager = AnsibleManager({"type": "ansible", "playbook": PLAYBOOK})
        done = manager.configure(self.target(self.node(), policy=HostKeyPolicy.STRICT))
        self.assertFalse(done.ok)
        self.assertIn("known", done.detail)

    def test_a_node_without_an_ssh_login_says_which_entry_is_missing(self):
        manager = AnsibleManager({"type": "ansible", "playbook": PLAYBOOK})
        node = self.node()
        with self.assertRaises(ConfigurationError) as caught:
            manager.configure(ConfigTarget(node, "i-1", ("10.0.0.1",)))
        self.assertIn("no ssh entry of the auth file fits its resource (type local)",
                      caught.exception.message)

    def test_nothing_of_a_run_is_left_on_this_machine(self):
        before = set(Path(tempfile.gettempdir()).glob("occo-ansible-*"))
        manager = AnsibleManager({"type": "ansible", "playbook": FAILING})
        done = manager.configure(self.target(self.node()))
        self.assertNotIn(self.hosts.login.private_key, repr(done))
        self.assertEqual(set(Path(tempfile.gettempdir()).glob("occo-ansible-*")), before)
