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


class RunSuitesTest(TempRepoCase):
    def suite(self, name: str, body: str) -> str:
        tests = self.root / name / "tests"
        tests.mkdir(parents=True)
        (tests / "__init__.py").write_text("")
        (tests / "test_it.py").write_text(textwrap.dedent(body))
        return name

    def test_a_suite_alongside_runs_beside_the_others_and_its_output_comes_whole(self):
        flag = self.root / "beside-ran"
        main = self.suite("main", f"""\
            import pathlib, time, unittest
            class T(unittest.TestCase):
                def test_waits_for_the_suite_beside(self):
                    deadline = time.monotonic() + 60
                    while not pathlib.Path({str(flag)!r}).exists():
                        self.assertLess(time.monotonic(), deadline)
                        time.sleep(0.05)
            """)
        beside = self.suite("beside", f"""\
            import pathlib, unittest
            class T(unittest.TestCase):
                def test_marks(self):
                    pathlib.Path({str(flag)!r}).touch()
                def test_also(self):
                    pass
            """)
        script = textwrap.dedent(f"""\
            import sys
            from pathlib import Path
            from occodev.testrun import Suite, run_suites
            root, python = Path({str(self.root)!r}), Path(sys.executable)
            total = run_suites([Suite({main!r}, python, root / {main!r}),
                                Suite({beside!r}, python, root / {beside!r}, alongside=True)])
            print(total.line())
            """)
        ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=300, cwd=Path(__file__).resolve().parents[1])
        self.assertEqual(ran.returncode, 0, ran.stderr)
        self.assertTrue(ran.stdout.endswith("3 passed, 0 failed, 0 skipped\n"), ran.stdout)
        self.assertRegex(ran.stdout, r"\n== beside \(beside\)\n(.*\n)*?beside: 2 passed, 0 failed, "
                                     r"0 skipped in \d+ s")
