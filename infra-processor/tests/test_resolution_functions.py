import sys
import unittest

from occo.infobroker.broker import InfoProvider, InfoRouter, provides
from occo.infraprocessor.resolution.functions import (CommandError, NodeLookupError,
                                                      template_functions)
from occo.infraprocessor.templates import render

from .test_resolution_fixture import (INFRA_ID, StoredInfrastructure, node_description,
                                      stored_record)

NODES = [node_description("db", "db_node"), node_description("web", "web_node"),
         node_description("cache", "cache_node")]


class NodeFunctionsTest(unittest.TestCase):
    def setUp(self):
        self.infra = StoredInfrastructure(self, {}, NODES)
        # stored out of node-id order: "the first" must not depend on the store's order
        self.infra.add_instance("web", "w-2", ["127.0.1.2", "10.0.0.2"], "192.168.0.2")
        self.infra.add_instance("web", "w-1", ["127.0.1.1", "10.0.0.1"], "192.168.0.1")
        self.infra.add_instance("web", "w-0", [], None)          # created, no address yet
        self.infra.add_instance("db", "d-1", ["127.0.2.1"], None)
        self.functions = template_functions(self.infra.router, INFRA_ID, cmd_enabled=False)

    def call(self, template):
        return render(template, {}, source="test", functions=self.functions)

    def test_getip_is_the_first_address_of_the_first_addressed_instance(self):
        self.assertEqual(self.call("{{ getip('web') }}"), "127.0.1.1")
        self.assertEqual(self.call("{{ getip('db') }}"), "127.0.2.1")

    def test_getipall_is_the_first_address_of_every_addressed_instance(self):
        self.assertEqual(self.call("{{ getipall('web') | join(',') }}"), "127.0.1.1,127.0.1.2")

    def test_getprivip_is_the_private_address(self):
        self.assertEqual(self.call("{{ getprivip('web') }}"), "192.168.0.1")

    def test_find_node_id_gives_the_first_id_or_all_of_them(self):
        self.assertEqual(self.call("{{ find_node_id('web') }}"), "w-0")
        self.assertEqual(self.call("{{ find_node_id('web', allnodes=True) | join(',') }}"),
                         "w-0,w-1,w-2")

    def test_cut_slices_text(self):
        self.assertEqual(self.call("{{ cut('abcdefgh', 0, 4) }}-{{ cut('abcdefgh', 6, 99) }}"),
                         "abcd-gh")

    def test_ibget_asks_the_info_broker(self):
        template = f"{{{{ ibget('infrastructure.name', infra_id='{INFRA_ID}') }}}}"
        self.assertEqual(self.call(template), "shop")

    def test_ibget_takes_positional_arguments_as_1_10_did(self):
        self.assertEqual(self.call(f"{{{{ ibget('infrastructure.name', '{INFRA_ID}') }}}}"),
                         "shop")

    def test_a_node_without_instances_is_an_error_naming_it_at_the_line_of_the_call(self):
        with self.assertRaises(NodeLookupError) as raised:
            self.call("a\n{{ getip('cache') }}")
        self.assertIn("node 'cache' has no instance", raised.exception.message)
        self.assertEqual((raised.exception.location.file, raised.exception.location.line),
                         ("test", 2))

    def test_a_node_with_no_address_yet_is_an_error_naming_it(self):
        self.infra.add_instance("cache", "c-1", [], None)
        for function in ("getip", "getipall"):
            with self.subTest(function), self.assertRaises(NodeLookupError) as raised:
                self.call(f"{{{{ {function}('cache') }}}}")
            self.assertIn("node 'cache' has no address yet", raised.exception.message)
        with self.assertRaises(NodeLookupError) as raised:
            self.call("{{ getprivip('db') }}")
        self.assertIn("node 'db' has no private IP address yet", raised.exception.message)

    def test_an_unknown_node_is_an_error(self):
        with self.assertRaises(NodeLookupError) as raised:
            self.call("{{ getip('dbb') }}")
        self.assertIn("'dbb'", raised.exception.message)


class NewestFirst(InfoProvider):
    """A backend that lists instances newest first (as a redis hash may, in any order)."""

    @provides("node.find")
    def find(self, infra_id, name=None, node_id=None):
        return [stored_record(infra_id, name, f"n-{number}", [f"127.0.3.{number}"])
                for number in (3, 1, 2)]


class InstanceOrderTest(unittest.TestCase):
    def test_the_first_instance_is_the_same_whatever_order_the_backend_gives(self):
        functions = template_functions(InfoRouter([NewestFirst()]), INFRA_ID, cmd_enabled=False)
        text = render("{{ getip('web') }} {{ getipall('web') | join(',') }} "
                      "{{ find_node_id('web') }}", {}, source="test", functions=functions)
        self.assertEqual(text, "127.0.3.1 127.0.3.1,127.0.3.2,127.0.3.3 n-1")


class CommandTest(unittest.TestCase):
    def setUp(self):
        self.infra = StoredInfrastructure(self, {}, NODES)

    def call(self, template, enabled):
        functions = template_functions(self.infra.router, INFRA_ID, cmd_enabled=enabled)
        return render(template, {}, source="test", functions=functions)

    def test_cmd_is_off_unless_the_configuration_allows_it(self):
        with self.assertRaises(CommandError) as raised:
            self.call("{{ cmd('echo hi') }}", enabled=False)
        self.assertIn("disabled", raised.exception.message)
        self.assertIn("cmd_enabled", raised.exception.hint)

    def test_cmd_gives_text_without_the_trailing_newline(self):
        self.assertEqual(self.call("[{{ cmd('echo \"a  b\"') }}]", enabled=True), "[a  b]")

    def test_a_failing_command_is_an_error_with_its_status_and_message(self):
        command = f"{sys.executable} -c 'import sys; sys.exit(\"no such thing\")'"
        with self.assertRaises(CommandError) as raised:
            self.call(f"{{{{ cmd({command!r}) }}}}", enabled=True)
        self.assertIn("exit status 1: no such thing", raised.exception.message)

    def test_a_missing_program_is_an_error(self):
        with self.assertRaises(CommandError) as raised:
            self.call("{{ cmd('/nonexistent/occopus-test-program') }}", enabled=True)
        self.assertIn("cannot be run", raised.exception.message)


if __name__ == "__main__":
    unittest.main()
