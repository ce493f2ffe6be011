import subprocess
import sys
import textwrap
from pathlib import Path

from occodev.testrun import Counts, Suite, counts_from_junit, run_suite, slowest_from_junit

from .support import TempRepoCase


class CountsTest(TempRepoCase):
    def test_junit_counts_fold_errors_into_failed(self):
        report = self.root / "junit.xml"
        report.write_text('<testsuite tests="7" failures="1" errors="2" skipped="1"></testsuite>')
        self.assertEqual(counts_from_junit(report), Counts(passed=3, failed=3, skipped=1))

    def test_the_slowest_cases_come_first(self):
        report = self.root / "junit.xml"
        report.write_text('<testsuite tests="3">'
                          '<testcase classname="a.B" name="quick" time="0.5"/>'
                          '<testcase classname="a.B" name="slow" time="12.25"/>'
                          '<testcase classname="a.C" name="middle" time="3"/></testsuite>')
        self.assertEqual(slowest_from_junit(report, 2), [(12.25, "a.B.slow"), (3.0, "a.C.middle")])

    def test_counts_add_up_and_print_the_closing_line(self):
        total = Counts(2, 1, 0) + Counts(3, 0, 1)
        self.assertEqual(total.line(), "5 passed, 1 failed, 1 skipped")
        self.assertEqual(total.total, 7)


class RunSuiteTest(TempRepoCase):
    def test_a_real_nose2_run_is_counted(self):
        tests = self.root / "comp" / "tests"
        tests.mkdir(parents=True)
        (tests / "__init__.py").write_text("")
        (tests / "test_sample.py").write_text(textwrap.dedent("""\
            import unittest

            class Sample(unittest.TestCase):
                def test_ok(self):
                    self.assertEqual(1 + 1, 2)

                def test_also_ok(self):
                    self.assertTrue([1])

                def test_broken(self):
                    self.assertEqual(1, 2)

                @unittest.skip("not here")
                def test_skipped(self):
                    pass
            """))
        counts = run_suite(Suite("comp", Path(sys.executable), self.root / "comp"),
                           output=subprocess.DEVNULL)
        self.assertEqual(counts, Counts(passed=2, failed=1, skipped=1))

    def test_an_import_error_counts_as_a_failure(self):
        tests = self.root / "comp" / "tests"
        tests.mkdir(parents=True)
        (tests / "__init__.py").write_text("")
        (tests / "test_broken.py").write_text("import no_such_module_here\n")
        counts = run_suite(Suite("comp", Path(sys.executable), self.root / "comp"),
                           output=subprocess.DEVNULL)
        self.assertEqual(counts.failed, 1)
