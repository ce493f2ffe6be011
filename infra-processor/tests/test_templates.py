import base64
import unittest
import uuid
from unittest import mock

from jinja2.sandbox import SandboxedEnvironment

from occo.infraprocessor.templates import (TemplateError, addresses_asked, render, render_data,
                                          render_traced)
from occo.util.errors import OccoError

SOURCE = "node_def:web[0] contextualisation"


class LookupFailed(OccoError):
    """What a template function raises in these tests."""


def failing(name):
    raise LookupFailed(f"node '{name}' has no instance")


class RenderTest(unittest.TestCase):
    def test_values_and_functions_are_rendered_and_the_text_kept_as_it_is(self):
        text = render("a: {{ variables.port }} <{{ twice('x') }}> & 'q'\n",
                      {"variables": {"port": 80}}, source=SOURCE,
                      functions={"twice": lambda s: s * 2})
        self.assertEqual(text, "a: 80 <xx> & 'q'\n")

    def test_raw_blocks_are_not_rendered(self):
        template = "{% raw %}{{ .Node }} {{range service}}{% endraw %} {{ name }}"
        self.assertEqual(render(template, {"name": "web"}, source=SOURCE),
                         "{{ .Node }} {{range service}} web")

    def test_an_undefined_variable_names_itself_the_source_and_the_line(self):
        with self.assertRaises(TemplateError) as raised:
            render("#cloud-config\nruncmd:\n- ping {{ target }}\n", {}, source=SOURCE)
        error = raised.exception
        self.assertEqual(error.message, "'target' is undefined")
        self.assertEqual((error.location.file, error.location.line), (SOURCE, 3))
        self.assertIn("ping {{ target }}", error.hint)
        self.assertTrue(str(error).startswith(f"{SOURCE}:3: 'target' is undefined"))

    def test_a_missing_key_is_an_error_not_an_empty_string(self):
        with self.assertRaises(TemplateError) as raised:
            render("x\n\n{{ variables.mesage }}", {"variables": {"message": "hi"}}, source=SOURCE)
        self.assertIn("'mesage'", raised.exception.message)
        self.assertEqual(raised.exception.location.line, 3)

    def test_a_name_inside_a_loop_is_placed_on_its_own_line(self):
        template = "{% for i in items %}\n{{ i }}\n{{ i.missing }}\n{% endfor %}"
        with self.assertRaises(TemplateError) as raised:
            render(template, {"items": [{}]}, source=SOURCE)
        self.assertEqual(raised.exception.location.line, 3)

    def test_a_syntax_error_names_the_problem_and_line(self):
        with self.assertRaises(TemplateError) as raised:
            render("line one\nline two {{ name | }}\nline three", {}, source=SOURCE)
        error = raised.exception
        self.assertIn("template syntax error", error.message)
        self.assertEqual(error.location.file, SOURCE)
        self.assertEqual(error.location.line, 2)
        self.assertIn("line two", error.hint)

    def test_an_error_of_a_function_keeps_its_class_and_gets_the_line_of_the_call(self):
        with self.assertRaises(LookupFailed) as raised:
            render("a\nb\nc {{ getip('db') }}", {}, source=SOURCE, functions={"getip": failing})
        self.assertEqual(raised.exception.message, "node 'db' has no instance")
        self.assertEqual((raised.exception.location.file, raised.exception.location.line),
                         (SOURCE, 3))

    def test_any_other_failure_is_a_template_error_with_its_line(self):
        with self.assertRaises(TemplateError) as raised:
            render("a\n{{ 1 // 0 }}", {}, source=SOURCE)
        self.assertIn("ZeroDivisionError", raised.exception.message)
        self.assertEqual(raised.exception.location.line, 2)

    def test_the_sandbox_refuses_internals(self):
        with self.assertRaises(TemplateError) as raised:
            render("{{ ''.__class__.__mro__ }}", {}, source=SOURCE)
        self.assertIn("unsafe", raised.exception.message)

    def test_the_b64encode_filter_of_the_original_docker_resolver(self):
        self.assertEqual(render("{{ 'héllo' | b64encode }}", {}, source=SOURCE),
                         base64.b64encode("héllo".encode()).decode())


class CompiledOnceTest(unittest.TestCase):
    def test_a_template_is_compiled_once_and_rendered_with_each_caller_s_functions(self):
        template = "host: {{ name(node) }} # compiled once " + uuid.uuid4().hex
        with mock.patch.object(SandboxedEnvironment, "compile", autospec=True,
                               side_effect=SandboxedEnvironment.compile) as compile:
            first = render(template, {"node": "a"}, source="t",
                           functions={"name": lambda node: f"{node}-1"})
            second = render(template, {"node": "b"}, source="t",
                            functions={"name": lambda node: f"{node}-2"})
        self.assertEqual(compile.call_count, 1)
        self.assertTrue(first.startswith("host: a-1 "), first)
        self.assertTrue(second.startswith("host: b-2 "), second)

    def test_a_syntax_error_is_told_each_time(self):
        for _ in range(2):
            with self.assertRaises(TemplateError):
                render("{{ broken", {}, source="t")


class TemplateLineTest(unittest.TestCase):
    def test_each_output_line_knows_its_template_line(self):
        template = ("#cloud-config\n"        # 1
                    "key: {{ key }}\n"       # 2: renders as three lines
                    "after: 1\n"             # 3
                    "{% raw %}\n"            # 4
                    "{{ kept }}\n"           # 5
                    "{% endraw %}\n"         # 6
                    "end: {{ 'x' }}\n")      # 7
        rendered = render_traced(template, {"key": "a\nb\nc"}, source=SOURCE)
        lines = rendered.text.splitlines()
        self.assertEqual(lines[1:4], ["key: a", "b", "c"])
        wanted = {"#cloud-config": 1, "key: a": 2, "b": 2, "c": 2, "after: 1": 3,
                  "{{ kept }}": 5, "end: x": 7}
        found = {line: rendered.template_line(number)
                 for number, line in enumerate(lines, 1) if line in wanted}
        self.assertEqual(found, wanted)


class RenderDataTest(unittest.TestCase):
    def test_every_string_is_rendered_and_other_values_kept(self):
        data = {"server_name": "{{ name }}-{{ node_id[:4] }}", "count": 2,
                "tags": ["{{ name }}", True], "{{ name }}_key": {"plain": "no braces"}}
        rendered = render_data(data, {"name": "web", "node_id": "abcdef"}, source="resource")
        self.assertEqual(rendered, {"server_name": "web-abcd", "count": 2, "tags": ["web", True],
                                    "web_key": {"plain": "no braces"}})
        self.assertEqual(data["server_name"], "{{ name }}-{{ node_id[:4] }}")

    def test_a_rendered_value_is_text_whatever_it_contains(self):
        rendered = render_data({"content": "{{ key }}"}, {"key": "a: 'b'\n- c: \"d\""}, source="r")
        self.assertEqual(rendered, {"content": "a: 'b'\n- c: \"d\""})

    def test_an_error_names_the_value_it_is_in(self):
        with self.assertRaises(TemplateError) as raised:
            render_data({"write_files": [{"path": "/x"}, {"content": "ok\n{{ nope }}"}]}, {},
                        source="node_def:web[0] contextualisation.context_template")
        location = raised.exception.location
        self.assertEqual(location.file, "node_def:web[0] contextualisation.context_template"
                                        ".write_files[1].content")
        self.assertEqual(location.line, 2)

class AddressesAskedTest(unittest.TestCase):
    def test_the_nodes_named_to_the_address_functions_anywhere_in_the_data(self):
        data = {"resource": {"name": "{{ getprivip('cache') }}"},
                "context_template": {"runcmd": [
                    "ping {{getip('db')}} -c 5",
                    "{% for a in getipall(\"web\") %}{{a}}{% endfor %}"]},
                "plain": "getip('not-a-template')"}
        self.assertEqual(addresses_asked(data), {"cache", "db", "web"})

    def test_a_name_not_written_out_or_a_broken_template_asks_for_none(self):
        self.assertEqual(addresses_asked(["{{ getip(variables.node) }}", "{{ getip( }}",
                                          "{{ other('db') }}", 42]), frozenset())


if __name__ == "__main__":
    unittest.main()
