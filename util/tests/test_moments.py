import unittest

from occo.util.moments import moment, span


class SpanTest(unittest.TestCase):
    def test_the_two_largest_units_that_fit(self):
        self.assertEqual(span(45), "45 s")
        self.assertEqual(span(200), "3 min 20 s")
        self.assertEqual(span(7500), "2 h 5 min")
        self.assertEqual(span(90061), "1 d 1 h")


class MomentTest(unittest.TestCase):
    def test_a_time_in_utc_with_its_age_or_its_distance_ahead(self):
        self.assertEqual(moment(1796412770, now=1796412770 + 200),
                         "2026-12-04 19:32:50 UTC (3 min 20 s ago)")
        self.assertEqual(moment(1796412770, now=1796412770 - 30),
                         "2026-12-04 19:32:50 UTC (30 s from now)")
        self.assertEqual(moment(1796412770, now=1796412770), "2026-12-04 19:32:50 UTC (now)")


if __name__ == "__main__":
    unittest.main()
