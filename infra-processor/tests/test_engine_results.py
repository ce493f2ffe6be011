"""What a result says of a failure: one line, its position, and what to do."""
import unittest

from occo.infraprocessor.engine.results import describe
from occo.resourcehandler.base import PermanentError
from occo.util.errors import OccoError, SourceLocation


class DescribeTest(unittest.TestCase):
    def test_a_plugins_hint_says_what_to_do(self):
        error = PermanentError("[ec2] node n1: RunInstances failed: InvalidAMIID.NotFound",
                               hint="check image_id in the node definition")
        self.assertEqual(describe(error), "[ec2] node n1: RunInstances failed: "
                         "InvalidAMIID.NotFound (hint: check image_id in the node definition)")

    def test_a_position_comes_first(self):
        error = OccoError("no such node 'db'", location=SourceLocation("node_def:web[0]", 3, 7))
        self.assertEqual(describe(error), "node_def:web[0]:3:7: no such node 'db'")
