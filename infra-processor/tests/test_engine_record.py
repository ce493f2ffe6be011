"""The stored instance record: its JSON shape, read back, and refused when foreign."""
import dataclasses
import json
import unittest

from occo.infobroker.store.codec import Encoded
from occo.infraprocessor.engine import InstanceRecord, Phase, RecordError
from occo.resourcehandler.base import Instance
from occo.util.nodes import ResolvedNode

NODE = ResolvedNode("i1", "shop", "tester", "n1", "web", {"type": "simcloud", "endpoint": "x"},
                    context="#cloud-config\n", health_check={"ports": [80]}, create_timeout=60)
RECORD = InstanceRecord(NODE, Phase.READY, 1000.0, {"port": 80},
                        Instance("i1", "n1", "i-1", {"zone": "a"}), ("10.0.0.1", "192.0.2.1"),
                        "10.0.0.1", 1010.0)


class RecordTest(unittest.TestCase):
    def test_the_documented_keys_in_json_and_back(self):
        data = json.loads(json.dumps(RECORD.to_dict()))
        self.assertEqual(
            {key: data[key] for key in ("node_id", "name", "infra_id", "phase", "addresses",
                                        "private_ip", "created_at", "ready_at", "error")},
            {"node_id": "n1", "name": "web", "infra_id": "i1", "phase": "ready",
             "addresses": ["10.0.0.1", "192.0.2.1"], "private_ip": "10.0.0.1",
             "created_at": 1000.0, "ready_at": 1010.0, "error": None})
        self.assertEqual(data["node"]["resource"], NODE.resource)
        self.assertEqual(data["node"]["config_management"], {"type": "dummy"})
        self.assertNotIn("resource", data, "the node's sections are stored once, in the node")
        self.assertEqual(data["instance"]["instance_id"], "i-1")
        self.assertEqual(data["node"]["context"], "#cloud-config\n")
        self.assertEqual(InstanceRecord.from_dict(data), RECORD)

    def test_a_record_stored_with_its_sections_twice_reads_the_same(self):
        """Records written before the sections were stored once, in the node, still read."""
        earlier = {**RECORD.to_dict(), "resource": NODE.resource,
                   "config_management": {"type": "dummy"}}
        self.assertEqual(InstanceRecord.from_dict(earlier), RECORD)

    def test_the_encoded_record_is_its_json(self):
        other = RECORD.replace(node=NODE.with_node_id("n2"), addresses=(), phase=Phase.CREATED)
        tricky = RECORD.replace(node=dataclasses.replace(NODE, context="\x00node-id\x00"))
        for record in (RECORD, other, RECORD, tricky):
            with self.subTest(record.node_id):
                self.assertEqual(json.loads(record.encoded()), json.loads(json.dumps(
                    record.to_dict())))
        self.assertIsInstance(RECORD.encoded(), Encoded)

    def test_a_copy_changes_only_what_it_is_told(self):
        ready = RECORD.replace(phase=Phase.FAILED, error="gone")
        self.assertEqual((ready.phase, ready.error, RECORD.phase, RECORD.error),
                         (Phase.FAILED, "gone", Phase.READY, None))
        self.assertEqual(ready, dataclasses.replace(RECORD, phase=Phase.FAILED, error="gone"))
        with self.assertRaises(AssertionError):
            RECORD.replace(phases=Phase.FAILED)

    def test_an_intent_has_no_instance_yet(self):
        intent = InstanceRecord(NODE, Phase.INTENT, 1000.0)
        self.assertIsNone(intent.to_dict()["instance"])
        self.assertEqual(InstanceRecord.from_dict(intent.to_dict()), intent)

    def test_a_record_of_another_format_or_damaged_is_refused(self):
        for data in ({**RECORD.to_dict(), "format": 2}, {"node_id": "n1"},
                     {**RECORD.to_dict(), "phase": "sleeping"}):
            with self.subTest(data=data), self.assertRaises(RecordError):
                InstanceRecord.from_dict(data)

    def test_its_health_target_is_its_preferred_address(self):
        target = RECORD.health_target()
        self.assertEqual((target.node_id, target.address, target.health_check, target.variables),
                         ("n1", "10.0.0.1", {"ports": [80]}, {"port": 80}))
        self.assertIsNone(InstanceRecord(NODE, Phase.INTENT, 0.0).health_target().address)

    def test_its_node_is_stored_as_asdict_gives_it(self):
        node = dataclasses.replace(NODE, attributes={"tags": {"a": ["b", ("c", 1)]}, "n": None},
                                   resource={"type": "simcloud", "zones": [{"name": "a"}]})
        stored = InstanceRecord(node, Phase.CREATED, 1.0).to_dict()["node"]
        self.assertEqual(stored, dataclasses.asdict(node))

    def test_health_check_templates_get_a_copy_of_the_record_made_when_they_read_it(self):
        record = RECORD.replace(node=dataclasses.replace(
            NODE, resource={"type": "simcloud", "zones": [{"name": "a"}]}))
        data = record.health_target().instance_data
        self.assertEqual(dict(data), record.to_dict())
        data["node"]["resource"]["zones"][0]["name"] = "z"
        data["addresses"].append("10.9.9.9")
        self.assertEqual(record.node.resource["zones"], [{"name": "a"}])
        self.assertEqual(record.to_dict()["addresses"], ["10.0.0.1", "192.0.2.1"])
