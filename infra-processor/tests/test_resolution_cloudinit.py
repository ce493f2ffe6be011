import os
import unittest
from pathlib import Path

import yaml

from occo.infraprocessor.resolution import ContextError, TemplateScope
from occo.infraprocessor.resolution.cloudconfig import CLOUD_INIT_SCHEMA
from occo.infraprocessor.resolution.cloudinit import CloudInitResolver
from occo.infraprocessor.resolution.docker import DockerResolver
from occo.util.errors import SchemaError, SourceLocation

SCHEMA = Path(__file__).parent / "data" / "resolution" / "cloud-config-schema.json"
LABEL = "node_def:web_node[0]"
TEMPLATE = f"{LABEL} contextualisation.context_template"


def scope(**variables):
    return TemplateScope({"name": "web", "variables": variables}, {}, LABEL)


def resolve(template, schema=SCHEMA, **variables):
    section = {"type": "cloudinit", "context_template": template}
    return CloudInitResolver(schema).resolve(section, scope(**variables))


class RenderedYamlTest(unittest.TestCase):
    def test_a_value_that_breaks_the_yaml_is_placed_on_its_template_line(self):
        template = ("#cloud-config\n"
                    "write_files:\n"
                    "- path: /etc/motd\n"
                    "  content: {{ variables.motd }}\n"
                    "runcmd: []\n")
        with self.assertRaises(ContextError) as raised:
            resolve(template, motd="hello: world")
        error = raised.exception
        self.assertIn("not valid YAML", error.message)
        self.assertEqual((error.location.file, error.location.line), (TEMPLATE, 4))
        self.assertIn("content: hello: world", error.hint)

    def test_a_value_spanning_lines_is_placed_on_the_line_that_inserted_it(self):
        template = ("#cloud-config\n"
                    "runcmd:\n"
                    "- {{ variables.command }}\n"
                    "- echo done\n")
        with self.assertRaises(ContextError) as raised:
            resolve(template, command="one\ntwo: [\nthree")
        self.assertEqual(raised.exception.location.line, 3)

    def test_text_that_is_not_a_cloud_config_is_passed_as_it_is(self):
        script = "#!/bin/sh\necho {{ name }}: [\n"
        self.assertEqual(resolve(script).context, "#!/bin/sh\necho web: [\n")

    def test_a_cloud_config_must_be_a_mapping(self):
        with self.assertRaises(ContextError) as raised:
            resolve("#cloud-config\n- a\n")
        self.assertIn("must be a mapping", raised.exception.message)

    def test_a_bare_header_is_a_valid_cloud_config(self):
        self.assertEqual(resolve("#cloud-config\n").context, "#cloud-config\n")


class DocumentTest(unittest.TestCase):
    def test_a_multi_line_value_is_folded_as_occopus_1_10_folded_it(self):
        double_spaced = "-----BEGIN KEY-----\n \nAAAA\n\nBBBB\n \n-----END KEY-----\n"
        context = resolve({"write_files": [{"path": "/k", "content": "{{ variables.key }}\n"}]},
                          key=double_spaced).context
        self.assertEqual(yaml.safe_load(context)["write_files"][0]["content"],
                         "-----BEGIN KEY-----\nAAAA\nBBBB\n-----END KEY-----\n\n")

    def test_single_line_breaks_of_a_value_become_spaces_and_the_template_is_kept(self):
        template = {"runcmd": ["{{ variables.words }}", "a\n  b\n{% if true %}c{% endif %}"]}
        context = resolve(template, words="one\n  two\nthree").context
        self.assertEqual(yaml.safe_load(context)["runcmd"], ["one two three", "a\n  b\nc"])

    def test_quotes_and_colons_in_values_and_templates_are_kept(self):
        template = {"runcmd": ["IP=\"{{ getip('db') }}\"\necho 'it''s' {{ variables.text }}"]}
        section = {"type": "cloudinit", "context_template": template}
        scope = TemplateScope({"variables": {"text": "a: 'b' # c"}},
                              {"getip": lambda name: "10.0.0.1"}, LABEL)
        context = CloudInitResolver(SCHEMA).resolve(section, scope).context
        self.assertEqual(yaml.safe_load(context)["runcmd"],
                         ["IP=\"10.0.0.1\"\necho 'it''s' a: 'b' # c"])
        self.assertIn("runcmd:\n- |-\n  IP=", context)      # readable: a literal block


class CloudInitSchemaTest(unittest.TestCase):
    def test_problems_of_a_text_template_have_their_path_and_template_line(self):
        template = ("#cloud-config\n"
                    "write_files:\n"
                    "- path: /etc/motd\n"
                    "  permisions: '0644'\n"
                    "- content: {{ name }}\n"
                    "runcmds: []\n")
        with self.assertRaises(SchemaError) as raised:
            resolve(template)
        found = [(problem.message, problem.location.line) for problem in raised.exception.problems]
        self.assertEqual(len(found), 3)
        self.assertEqual(found[0][1], 2)     # the document, which starts on line 2
        self.assertIn("'runcmds' was unexpected", found[0][0])
        self.assertIn("cloud-config write_files[0]: ", found[1][0])
        self.assertIn("'permisions' was unexpected", found[1][0])
        self.assertEqual(found[1][1], 3)
        self.assertEqual(found[2],
                         ("cloud-config write_files[1]: 'path' is a required property", 5))

    def test_problems_of_a_document_template_name_the_value(self):
        with self.assertRaises(SchemaError) as raised:
            resolve({"write_files": [{"path": "/x", "permissions": 644}]})
        problem, = raised.exception.problems
        self.assertIn("write_files[0].permissions: 644 is not of type 'string'", problem.message)
        self.assertEqual(problem.location, SourceLocation(TEMPLATE))

    def test_a_valid_cloud_config_passes(self):
        context = resolve({"write_files": [{"path": "/x", "content": "{{ name }}"}]}).context
        self.assertEqual(yaml.safe_load(context),
                         {"write_files": [{"path": "/x", "content": "web"}]})

    def test_without_the_schema_the_check_is_skipped_and_logged(self):
        missing = SCHEMA.with_name("not-installed.json")
        with self.assertLogs("occo.infraprocessor.resolution", "DEBUG") as logged:
            context = resolve({"runcmds": []}, schema=missing).context
        self.assertEqual(context, "#cloud-config\nruncmds: []\n")
        self.assertIn("not validated", logged.output[0])


@unittest.skipUnless(CLOUD_INIT_SCHEMA.is_file() or os.environ.get("CI") == "true",
                     f"cloud-init's schema is not at {CLOUD_INIT_SCHEMA} "
                     "(./occo-dev test installs Debian's cloud-init as root)")
class InstalledCloudInitSchemaTest(unittest.TestCase):
    def test_the_installed_schema_is_used_by_default(self):
        good = {"write_files": [{"path": "/x", "content": "{{ name }}", "permissions": "0644"}],
                "runcmd": ["echo hi"]}
        self.assertTrue(resolve(good, schema=CLOUD_INIT_SCHEMA).context.startswith("#cloud-config"))
        with self.assertRaises(SchemaError):
            resolve({"runcmd": "echo hi", "packages": "curl"}, schema=CLOUD_INIT_SCHEMA)
        with self.assertRaises(SchemaError):
            CloudInitResolver().resolve({"type": "cloudinit", "context_template": {"packages": 1}},
                                        scope())


class DockerVariablesTest(unittest.TestCase):
    def resolve(self, variables):
        section = {"type": "docker", "env": ["a={{ context_variables.a }}"],
                   "context_variables": variables}
        return DockerResolver().resolve(section, scope(host="db")).contextualisation

    def test_context_variables_as_a_mapping_or_yaml_text(self):
        for variables in ({"a": "{{ variables.host }}:1"}, "a: '{{ variables.host }}:1'\n"):
            with self.subTest(variables):
                self.assertEqual(self.resolve(variables)["env"], ["a=db:1"])

    def test_context_variables_that_are_not_a_mapping_are_an_error(self):
        for variables in ("- a\n- b\n", ["a"]):
            with self.subTest(variables), self.assertRaises(ContextError) as raised:
                self.resolve(variables)
            self.assertEqual(raised.exception.location.file,
                             f"{LABEL} contextualisation.context_variables")


if __name__ == "__main__":
    unittest.main()
