"""What the engine stores for people to read (a record's error, events) never holds a URL
password, whatever message a cloud or library gave."""
import json
import unittest

from occo.infobroker.store.sqlite import SqliteStore
from occo.infraprocessor.engine import InstanceRecord, Phase
from occo.infraprocessor.engine.writes import WriteBehind
from occo.util.nodes import ResolvedNode

SECRET = "hunter2-very-secret"
MESSAGE = f"cannot reach https://admin:{SECRET}@cloud.example/ (connection refused)"
NODE = ResolvedNode("i1", "shop", "tester", "n1", "web", {"type": "simcloud", "endpoint": "x"})


class RedactionTest(unittest.TestCase):
    def test_a_failed_record_stores_its_error_without_the_url_password(self):
        record = InstanceRecord(NODE, Phase.FAILED, 1000.0, error=MESSAGE)
        for text in (json.dumps(record.to_dict()), str(record.encoded())):
            self.assertNotIn(SECRET, text)
            self.assertIn("https://admin:***@cloud.example/", text)

    def test_an_event_is_stored_without_the_url_password(self):
        store = SqliteStore(":memory:", "alice")
        self.addCleanup(store.close)
        store.add_infrastructure("i1", {})
        writes = WriteBehind(store, "i1", None, clock=lambda: 1000.0)
        writes.event("nodefailed", node_id="n1", name="web", reason=MESSAGE)
        writes.write_events()
        [event] = store.events("i1")
        self.assertNotIn(SECRET, json.dumps(event.data))
        self.assertEqual(event.data["reason"], MESSAGE.replace(SECRET, "***"))


if __name__ == "__main__":
    unittest.main()
