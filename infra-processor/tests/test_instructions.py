import json
import unittest

from occo.infraprocessor.instructions import (CreateInfrastructure, CreateNodes, DropInfrastructure,
                                              DropNode, to_json)


class InstructionsTest(unittest.TestCase):
    def test_each_instruction_describes_itself_for_a_dry_run(self):
        self.assertEqual([i.describe() for i in (
            CreateInfrastructure("i1"), DropNode("app", "n1", "surplus"),
            CreateNodes("app", 2, frozenset({"db", "cache"})), CreateNodes("db", 1, frozenset()),
            DropInfrastructure("i1"))], [
            "create infrastructure i1", "drop app n1 (surplus)", "create 2 x app after cache, db",
            "create 1 x db", "drop infrastructure i1"])

    def test_instructions_are_json(self):
        data = json.loads(json.dumps(to_json(CreateNodes("app", 2, frozenset({"db", "cache"})))))
        self.assertEqual(data, {"action": "CreateNodes", "node_name": "app", "count": 2,
                                "waits_for": ["cache", "db"]})
