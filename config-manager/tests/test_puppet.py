"""The puppet_solo config manager against real test hosts (network namespaces with sshd, made by
`./occo-dev hosts up`, applying with Debian's puppet-agent): its conformance, a manifest that
looks its data up in hiera, the failing resource named, and the original's template data."""
from __future__ import annotations

from occo.configmanager.base import ConfigTarget
from occo.configmanager.conformance import ConfigManagerConformance
from occo.configmanager.puppet.manager import PuppetSoloManager
from occo.util.nodes import ResolvedNode

from .test_ansible import AnsibleCase

WRITES = """\
file { "/root/occo-puppet-${facts['networking']['hostname']}":
  content => "${lookup('greeting')} from puppet\\n",
}
"""
FAILS = """\
exec { 'a step that works': command => '/bin/true' }
exec { 'the database schema': command => '/bin/sh -c "echo schema is broken >&2; exit 5"' }
"""


class PuppetCase(AnsibleCase):
    """Test hosts reached as AnsibleCase reaches them."""


class PuppetConformance(ConfigManagerConformance, PuppetCase):
    SECTION = {"type": "puppet_solo", "manifests": [WRITES],
               "attributes": [{"greeting": "hello"}]}

    def make_manager(self) -> PuppetSoloManager:
        return PuppetSoloManager(self.SECTION)

    def make_target(self, node: ResolvedNode) -> ConfigTarget:
        return self.target(node)

    def make_broken_target(self, node: ResolvedNode) -> ConfigTarget:
        self.manager = PuppetSoloManager({"type": "puppet_solo", "manifests": [FAILS]})
        return self.target(node)


class PuppetTest(PuppetCase):
    def node(self, **section) -> ResolvedNode:
        return ResolvedNode("infra-puppet", "shop", "tester", "node-5678", "db",
                            {"type": "local"},
                            config_management={"type": "puppet_solo", **section})

    def test_the_manifests_are_applied_on_the_node_with_their_hiera_data(self):
        manager = PuppetSoloManager({"type": "puppet_solo", "manifests": [WRITES],
                                     "attributes": {"greeting": "good day, it's \"$HOME\""}})
        target = self.target(self.node())
        done = manager.configure(target)
        self.assertTrue(done.ok, done.detail)
        self.assertIn(done.detail, ("applied, changes made", "applied, nothing changed"))
        written = target.access.run("cat /root/occo-puppet-$(hostname); "
                                    "rm -f /root/occo-puppet-$(hostname)")
        self.assertEqual(written.stdout, "good day, it's \"$HOME\" from puppet\n")
        again = manager.configure(target)
        self.assertEqual(again.detail, "applied, changes made", "the file was removed")
        self.assertEqual(manager.configure(target).detail, "applied, nothing changed")
        target.access.run("rm -f /root/occo-puppet-$(hostname)")

    def test_a_failed_resource_is_named_with_what_it_printed(self):
        done = PuppetSoloManager({"type": "puppet_solo", "manifests": [FAILS]}).configure(
            self.target(self.node()))
        self.assertFalse(done.ok)
        self.assertTrue(done.detail.startswith("/Stage[main]/Main/Exec[the database schema]"),
                        done.detail)
        self.assertIn("returned 5", done.detail)

    def test_a_manifest_that_does_not_compile_says_where(self):
        done = PuppetSoloManager({"type": "puppet_solo", "manifests": ["file { 'x' "]}).configure(
            self.target(self.node()))
        self.assertFalse(done.ok)
        self.assertIn("Syntax error", done.detail)

    def test_templates_get_the_lists_as_text_as_the_original_gave_them(self):
        node = self.node(manifests=["https://example.org/a.pp", "https://example.org/b.pp"],
                         modules=["puppetlabs-mysql"], attributes=[{"dbname": "wp"}])
        self.assertEqual(PuppetSoloManager(node.config_management).resolve_attributes(node),
                         {"puppet": {"manifests": "https://example.org/a.pp "
                                                  "https://example.org/b.pp",
                                     "modules": "puppetlabs-mysql",
                                     "attributes": "{'dbname': 'wp'}"}})
