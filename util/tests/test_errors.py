import unittest

from occo.util.errors import OccoError, SchemaError, SourceLocation


class SourceLocationTest(unittest.TestCase):
    def test_full_location_reads_file_line_column(self):
        self.assertEqual(str(SourceLocation("infra.yaml", 3, 7)), "infra.yaml:3:7")

    def test_missing_parts_are_left_out(self):
        self.assertEqual(str(SourceLocation("infra.yaml", 3)), "infra.yaml:3")
        self.assertEqual(str(SourceLocation(None, None, 4)), "<input>")


class OccoErrorTest(unittest.TestCase):
    def test_message_is_prefixed_by_its_location_and_followed_by_the_hint(self):
        error = OccoError("unknown key 'scalng'", location=SourceLocation("i.yaml", 5, 3),
                          hint="did you mean 'scaling'?")
        self.assertEqual(str(error), "i.yaml:5:3: unknown key 'scalng'\n  hint: did you mean 'scaling'?")

    def test_without_location_the_message_stands_alone(self):
        self.assertEqual(str(OccoError("boom")), "boom")

    def test_schema_error_lists_every_problem(self):
        error = SchemaError([OccoError("a", location=SourceLocation("f", 1, 1)),
                             OccoError("b", location=SourceLocation("f", 2, 1))])
        self.assertEqual(str(error).splitlines(), ["f:1:1: a", "f:2:1: b"])
        self.assertEqual(len(error.problems), 2)
