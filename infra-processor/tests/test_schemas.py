import unittest
from importlib.metadata import entry_points

from occo.util.schema import Problems, check, with_defaults


def registered(group):
    return {ep.name: ep.load() for ep in entry_points(group=group)}


class ContextualisationSchemaTest(unittest.TestCase):
    def test_the_original_resolvers_are_registered_with_their_required_keys(self):
        required = {name: set(schema.required) - {"type"}
                    for name, schema in registered("occo.contextualisation_schemas").items()}
        self.assertEqual(required, {"cloudinit": {"context_template"}, "docker": {"env"},
                                    "basic": {"attributes"}})

    def test_a_cloudinit_template_may_be_text_or_imported_yaml(self):
        schema = registered("occo.contextualisation_schemas")["cloudinit"]
        for template in ("#cloud-config\nruncmd: []\n", {"runcmd": []}):
            problems = Problems()
            check({"type": "cloudinit", "context_template": template}, schema, "c", problems)
            self.assertEqual(problems, [])


class HealthCheckSchemaTest(unittest.TestCase):
    def setUp(self):
        self.schema = registered("occo.health_check_schemas")["basic"]

    def test_defaults_are_the_originals(self):
        self.assertEqual(with_defaults({}, self.schema),
                         {"type": "basic", "ping": True, "timeout": 600})

    def test_all_original_checks_are_allowed_and_nothing_else(self):
        self.assertEqual(set(self.schema.fields),
                         {"type", "ping", "ports", "urls", "mysqldbs", "timeout"})
        problems = Problems()
        check({"ping": True, "ports": [22], "urls": ["http://{{ip}}/"],
               "mysqldbs": [{"name": "db", "user": "u", "pass": "p"}], "timeout": 60,
               "attrs": []}, self.schema, "health_check", problems)
        self.assertEqual([p.message for p in problems], ["unknown key 'attrs' in health_check"])
