import unittest

from occo.configmanager.plugins import PLUGINS
from occo.util.plugins import registered as entries
from occo.util.schema import Problems, check


def registered():
    return {name: entry.load().schema for name, entry in entries(PLUGINS).items()}


class ConfigManagementSchemaTest(unittest.TestCase):
    def test_the_managers_are_registered_with_their_required_keys(self):
        required = {name: set(schema.required) - {"type"} for name, schema in registered().items()}
        self.assertEqual(required, {"dummy": set(), "chef": {"endpoint", "run_list"},
                                    "puppet_solo": {"manifests"}, "ansible": {"playbook"}})

    def test_run_list_must_be_a_list(self):
        problems = Problems()
        check({"type": "chef", "endpoint": "https://chef", "run_list": "recipe[x]"},
              registered()["chef"], "config_management", problems)
        self.assertEqual([p.message for p in problems],
                         ["'run_list' in config_management must be a list, not str 'recipe[x]'"])
