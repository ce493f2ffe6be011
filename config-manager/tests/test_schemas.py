import unittest
from importlib.metadata import entry_points

from occo.util.schema import Problems, check


def registered():
    return {ep.name: ep.load() for ep in entry_points(group="occo.config_management_schemas")}


class ConfigManagementSchemaTest(unittest.TestCase):
    def test_the_original_managers_are_registered_with_their_required_keys(self):
        required = {name: set(schema.required) - {"type"} for name, schema in registered().items()}
        self.assertEqual(required, {"dummy": set(), "chef": {"endpoint", "run_list"},
                                    "puppet_solo": {"manifests"}})

    def test_run_list_must_be_a_list(self):
        problems = Problems()
        check({"type": "chef", "endpoint": "https://chef", "run_list": "recipe[x]"},
              registered()["chef"], "config_management", problems)
        self.assertEqual([p.message for p in problems],
                         ["'run_list' in config_management must be a list, not str 'recipe[x]'"])
