import unittest
from unittest import mock

from occo.configmanager.dummy import DummyConfigManager
from occo.configmanager.managers import Managers
from occo.util.nodes import ResolvedNode


class Credentials:
    """A stand-in auth file that counts what it is asked."""

    def __init__(self):
        self.asked = []

    def select(self, section, node_section):
        self.asked.append((section, dict(node_section)))
        return {"token": "t"}


class ManagersTest(unittest.TestCase):
    def test_one_manager_per_distinct_section_with_its_credentials(self):
        credentials = Credentials()
        managers = Managers(credentials)
        first = managers.manager({"type": "dummy", "name": "a"})
        self.assertIs(managers.manager({"name": "a", "type": "dummy"}), first)
        other = managers.manager({"type": "dummy", "name": "b"})
        self.assertIsNot(other, first)
        self.assertEqual(first.auth_data, {"token": "t"})
        self.assertEqual(credentials.asked, [("config_management", {"type": "dummy", "name": "a"}),
                                             ("config_management", {"type": "dummy", "name": "b"})])

    def test_an_infrastructure_is_prepared_once_per_manager(self):
        managers = Managers(None)
        manager = managers.manager({"type": "dummy"})
        with mock.patch.object(DummyConfigManager, "create_infrastructure") as create:
            for infra_id in ("infra", "infra", "other", "infra"):
                self.assertIs(managers.prepare({"type": "dummy"}, infra_id), manager)
        self.assertEqual([call.args for call in create.call_args_list], [("infra",), ("other",)])

    def test_template_attributes_come_from_the_nodes_manager(self):
        node = ResolvedNode("i", "shop", "u", "n", "web", {"type": "local"})
        self.assertEqual(Managers(None).attributes(node), {})


class ReapplyTest(unittest.TestCase):
    def test_managers_over_ssh_apply_again_after_the_sections_reapply_or_300_s(self):
        from occo.configmanager.ansible.manager import AnsibleManager
        play = [{"hosts": "all", "tasks": []}]
        for section, after in (({}, 300.0), ({"reapply": None}, 300.0), ({"reapply": 0}, 0.0),
                               ({"reapply": 3600}, 3600.0)):
            with self.subTest(section=section):
                manager = AnsibleManager({"type": "ansible", "playbook": play, **section})
                self.assertEqual(manager.reapply_after(), after)
        self.assertIsNone(DummyConfigManager({"type": "dummy"}).reapply_after())
