"""The engine's backends: section keys and the config managers kept per section."""
import unittest
from unittest import mock

from occo.infraprocessor.engine import backends
from occo.infraprocessor.engine.backends import Backends, section_key
from occo.resourcehandler.guard import ResourceHandlers
from occo.util.config import Settings

SECTION = {"type": "simcloud", "endpoint": "http://127.0.0.1:8700", "tags": {"team": "a"}}


class BackendsTest(unittest.TestCase):
    def setUp(self):
        handlers = ResourceHandlers(Settings())
        self.addCleanup(handlers.close)
        self.backends = Backends(handlers, None)
        self.encoded = mock.patch.object(backends, "section_key", wraps=section_key).start()
        self.addCleanup(mock.patch.stopall)

    def test_a_section_is_encoded_once_however_often_its_key_is_asked(self):
        keys = {self.backends.key(SECTION) for _ in range(5)}
        self.assertEqual(keys, {section_key(SECTION)})
        self.assertEqual(self.encoded.call_count, 1)

    def test_equal_sections_have_one_key(self):
        copy = {"tags": {"team": "a"}, **SECTION}
        self.assertEqual(self.backends.key(copy), self.backends.key(SECTION))
        self.assertNotEqual(self.backends.key({**SECTION, "tags": {"team": "b"}}),
                            self.backends.key(SECTION))

    def test_one_manager_per_section_and_each_infrastructure_prepared_once(self):
        section = {"type": "dummy"}
        manager = self.backends.managers.manager(section)
        self.assertIs(self.backends.managers.manager(dict(section)), manager)
        with mock.patch.object(type(manager), "create_infrastructure") as create:
            for _ in range(3):
                self.assertIs(self.backends.managers.prepare(section, "infra-1"), manager)
            self.backends.managers.prepare(dict(section), "infra-2")
        self.assertEqual([call.args for call in create.call_args_list], [("infra-1",), ("infra-2",)])


if __name__ == "__main__":
    unittest.main()
