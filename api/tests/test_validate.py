import subprocess
import sys
import unittest
from pathlib import Path

from occo.api.validate import recognise, validate_file

from .support import FolderCase

TUTORIALS = Path(__file__).resolve().parents[2].parent / "shared" / "compat" / "occopus-tutorials"


def validate(*paths):
    script = Path(sys.executable).with_name("occopus-validate")
    return subprocess.run([str(script), *map(str, paths)], capture_output=True, text=True, timeout=60)


class TutorialCorpusTest(unittest.TestCase):
    """Every description and node-definition file of the 31 published tutorials validates."""

    def setUp(self):
        if not TUTORIALS.is_dir():
            self.skipTest(f"the tutorials corpus is not at {TUTORIALS}")

    def test_every_tutorial_file_validates(self):
        from occo.util.yamlload import load_file
        counts = {"node definitions": 0, "infrastructure description": 0,
                  "authentication file": 0, "Occopus configuration": 0}
        for path in sorted(TUTORIALS.rglob("*.yaml")):
            kind = recognise(load_file(path, lenient_tags=True))
            if kind is None:
                continue  # a file of a workflow the tutorial runs, not Occopus's
            with self.subTest(str(path.relative_to(TUTORIALS))):
                self.assertEqual(validate_file(str(path)), [])
                counts[kind[0]] = counts.get(kind[0], 0) + 1
        self.assertEqual(counts, {"node definitions": 31, "infrastructure description": 31,
                                  "authentication file": 1, "Occopus configuration": 1,
                                  "cloud-init file": 44})


class ValidateCommandTest(FolderCase):

    def test_a_valid_file_prints_ok_and_exits_0(self):
        path = self.write("infra.yaml", "infra_name: x\nuser_id: u\nnodes: [{name: a, type: t}]\n")
        result = validate(path)
        self.assertEqual((result.returncode, result.stdout), (0, f"{path}: ok\n"))

    def test_problems_are_printed_with_positions_and_exit_1(self):
        good = self.write("good.yaml", "infra_name: x\nnodes: [{name: a, type: t}]\n")
        bad = self.write("bad.yaml", "infra_name: x\nnodes:\n  - {name: a, typ: t}\n")
        result = validate(good, bad)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{good}: ok", result.stdout)
        self.assertIn(f"{bad}:3:15: unknown key 'typ' in node 'a'", result.stdout)
        self.assertIn("hint: did you mean 'type'?", result.stdout)
        self.assertIn(f"{bad}:3:5: missing key 'type' in node 'a'", result.stdout)
        self.assertNotIn("Traceback", result.stdout + result.stderr)

    def test_node_definitions_are_checked_against_the_installed_plugin_schemas(self):
        path = self.write("nodes.yaml", "'node_def:x':\n  - resource: {type: ec2, endpoint: e}\n")
        result = validate(path)
        self.assertEqual(result.returncode, 1)
        for key in ("regionname", "image_id", "instance_type"):
            self.assertIn(f"missing key '{key}' in resource section of 'node_def:x'[0]", result.stdout)

    def test_unsafe_yaml_unknown_content_and_missing_files(self):
        unsafe = self.write("u.yaml", "a: !!python/object/apply:os.system ['echo pwned']\n")
        other = self.write("o.yaml", "just: data\n")
        result = validate(unsafe, other, self.folder / "missing.yaml")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{unsafe}:1:4: unsupported tag", result.stdout)
        self.assertIn(f"{other}:1:1: cannot tell what this file is", result.stdout)
        self.assertIn("file not found", result.stdout)
        self.assertNotIn("pwned", result.stdout + result.stderr)

    def test_auth_and_config_files_are_recognised_and_checked(self):
        auth = self.write("auth_data.yaml", "resource:\n  - type: ec2\n    auth_data: secret-string\n")
        config = self.write("occopus_config.yaml", "store: {backend: redsi}\n")
        result = validate(auth, config)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{auth}:3:16: 'auth_data' in entry 1 of 'resource' must be a mapping",
                      result.stdout)
        self.assertNotIn("secret-string", result.stdout)
        self.assertIn(f"{config}:1:18: unknown store backend 'redsi'", result.stdout)
        self.assertIn("did you mean 'redis'?", result.stdout)

    def test_no_file_is_a_usage_error(self):
        self.assertEqual(validate().returncode, 2)


class ExamplesTest(unittest.TestCase):
    """The project's own examples stay valid."""

    def test_every_example_validates(self):
        from occo.util.yamlload import load_file
        examples = Path(__file__).resolve().parents[2] / "examples"
        checked = 0
        for path in sorted(examples.rglob("*.yaml")):
            if recognise(load_file(path, lenient_tags=True)) is None:
                continue
            with self.subTest(str(path.relative_to(examples))):
                self.assertEqual(validate_file(str(path)), [])
                checked += 1
        self.assertGreaterEqual(checked, 2)
