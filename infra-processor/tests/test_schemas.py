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

    def test_a_port_or_url_that_can_never_pass_is_refused_unless_it_is_a_template(self):
        problems = Problems()
        check({"ports": [22, "8080", "{{ variables.port }}", "http", 70000, 0],
               "urls": ["https://{{ip}}/", "http://10.0.0.1/", "{{ variables.url }}",
                        "10.0.0.1:8080/"]}, self.schema, "health_check", problems)
        self.assertEqual([p.message for p in problems], [
            "item 4 of 'ports' in health_check must be a port number (1 to 65535) or a "
            "template, not str 'http'",
            "item 5 of 'ports' in health_check must be a port number (1 to 65535) or a "
            "template, not int 70000",
            "item 6 of 'ports' in health_check must be a port number (1 to 65535) or a "
            "template, not int 0",
            "item 4 of 'urls' in health_check must be an http:// or https:// URL, or a "
            "template, not str '10.0.0.1:8080/'"])
