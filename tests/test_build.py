"""Packaging is reproducible and incremental; the lock is stable; the wrappers work."""
import subprocess
import zipfile

from .support import COMMIT_TIME, CopyCase, git


def built(output: str) -> list[str]:
    return [line.split(":")[0] for line in output.splitlines() if ": built " in line]


class ReproducibleBuildTest(CopyCase):
    def test_two_clean_builds_of_one_commit_are_byte_identical(self):
        wheel = self.copy.root / "util/wheelhouse/occo_util-0.1.0-py3-none-any.whl"
        self.ok("package", "util")
        first = wheel.read_bytes()
        subprocess.run(["rm", "-rf", str(wheel.parent)], check=True)
        self.ok("package", "util")
        self.assertEqual(wheel.read_bytes(), first)

    def test_wheel_timestamps_are_the_commit_time(self):
        self.ok("package", "util")
        wheel = self.copy.root / "util/wheelhouse/occo_util-0.1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel) as archive:
            stamps = {info.date_time for info in archive.infolist()}
        import time
        self.assertEqual(stamps, {time.gmtime(COMMIT_TIME)[:6]})


class IncrementalBuildTest(CopyCase):
    def setUp(self):
        super().setUp()
        self.ok("package", "--all")

    def test_a_second_run_rebuilds_nothing(self):
        output = self.ok("package", "--all").stdout
        self.assertEqual(built(output), [])
        self.assertEqual(output.count("up to date"), 8)

    def test_a_change_in_a_leaf_rebuilds_only_the_leaf(self):
        (self.copy.root / "api/src/occo/api/extra.py").write_text("VALUE = 1\n")
        self.assertEqual(built(self.ok("package", "--all").stdout), ["api"])

    def test_a_change_in_util_rebuilds_util_and_everything_above_it(self):
        (self.copy.root / "util/src/occo/util/extra.py").write_text("VALUE = 1\n")
        self.assertEqual(len(built(self.ok("package", "--all").stdout)), 8)

    def test_a_commit_elsewhere_does_not_rebuild_util(self):
        (self.copy.root / "api/README.md").write_text("# changed\n")
        git(self.copy.root, "commit", "-qam", "api only", when=COMMIT_TIME + 100)
        self.assertEqual(built(self.ok("package", "--all").stdout), ["api"])

    def test_the_component_wrapper_script_packages_that_component(self):
        (self.copy.root / "util/src/occo/util/extra.py").write_text("VALUE = 2\n")
        result = subprocess.run(["./package.sh"], cwd=self.copy.root / "util", env=self.copy.env(),
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(built(result.stdout), ["util"])


class LockTest(CopyCase):
    def test_relocking_with_no_input_change_changes_no_file(self):
        result = self.ok("lock")
        self.assertIn("no file changed", result.stdout)
        status = subprocess.run(["git", "status", "--porcelain"], cwd=self.copy.root,
                                capture_output=True, text=True, check=True).stdout
        self.assertEqual(status, "")

    def test_lost_component_files_are_rewritten_from_the_lock(self):
        requirements = self.copy.root / "util/requirements_test.txt"
        original = requirements.read_text()
        requirements.unlink()
        self.assertIn("wrote util/requirements_test.txt", self.ok("lock").stdout)
        self.assertEqual(requirements.read_text(), original)


class CheckTest(CopyCase):
    def test_the_repository_passes_its_boundary_check(self):
        self.assertIn("ok: 8 components", self.ok("check").stdout)

    def test_an_undeclared_sibling_import_fails_the_check(self):
        module = self.copy.root / "util/src/occo/util/upward.py"
        module.write_text("from occo.api import cli\n")
        result = self.copy.occo_dev("check")
        self.assertEqual(result.returncode, 1)
        self.assertIn("util/src/occo/util/upward.py:1: imports occo.api", result.stdout)


class OrderTest(CopyCase):
    def test_order_lists_util_first_and_api_last(self):
        order = self.ok("order").stdout.split()
        self.assertEqual(len(order), 8)
        self.assertEqual((order[0], order[-1]), ("util", "api"))
