from occodev.graph import build_graph
from occodev.lock import BUILD_INPUT, lock_inputs, parse_lock, write_component_requirements
from occodev.repo import Repo

from .support import TempRepoCase, write_component

SAMPLE = """\
# input-sha256: %s
editables==0.6 \\
    --hash=sha256:aa
    # via -r dev/lock/build.in
hatchling==1.33.0 \\
    --hash=sha256:bb \\
    --hash=sha256:cc
    # via -r dev/lock/build.in
markdown-it-py==4.0.0 \\
    --hash=sha256:dd
    # via rich
nose2==0.16.0 \\
    --hash=sha256:ee
    # via
    #   -r dev/lock/api-test.in
    #   -r dev/lock/util-test.in
packaging==26.3 \\
    --hash=sha256:ff
    # via hatchling
rich==14.0.0 \\
    --hash=sha256:11
    # via -r dev/lock/api.in
ruamel-yaml==0.18.0 \\
    --hash=sha256:22
    # via -r dev/lock/util.in
""" % ("0" * 64)


class ParseLockTest(TempRepoCase):
    def test_pins_hashes_and_annotations_are_read(self):
        lock = parse_lock(SAMPLE)
        self.assertEqual(lock.input_digest, "0" * 64)
        self.assertEqual(lock.pins["hatchling"].hashes, ["sha256:bb", "sha256:cc"])
        self.assertEqual(lock.pins["nose2"].via, {"-r dev/lock/api-test.in", "-r dev/lock/util-test.in"})
        self.assertEqual(lock.pins["markdown-it-py"].via, {"rich"})

    def test_closure_follows_via_annotations_transitively(self):
        lock = parse_lock(SAMPLE)
        self.assertEqual([p.name for p in lock.closure(["api"])], ["markdown-it-py", "rich"])
        self.assertEqual([p.name for p in lock.closure(["util", "util-test"])],
                         ["nose2", "ruamel-yaml"])
        self.assertEqual([p.name for p in lock.closure([BUILD_INPUT])],
                         ["editables", "hatchling", "packaging"])

    def test_hashed_block_is_pip_syntax(self):
        pin = parse_lock(SAMPLE).pins["hatchling"]
        self.assertEqual(pin.hashed_block(),
                         "hatchling==1.33.0 \\\n    --hash=sha256:bb \\\n    --hash=sha256:cc\n")


class ComponentRequirementsTest(TempRepoCase):
    def setUp(self):
        super().setUp()
        write_component(self.root, "util", [], third_party=["ruamel.yaml>=0.18"])
        write_component(self.root, "api", ["util"], third_party=["rich"])
        self.repo = Repo.load(self.root)
        self.graph = build_graph(self.repo)

    def test_inputs_are_derived_from_pyproject_per_component_and_purpose(self):
        inputs = lock_inputs(self.repo)
        self.assertEqual(inputs["util"], "ruamel.yaml>=0.18\n")
        self.assertEqual(inputs["api"], "rich\n")  # the sibling is not third-party
        self.assertEqual(inputs["api-test"], "nose2\n")
        self.assertEqual(inputs[BUILD_INPUT], "editables\nhatchling>=1.26\n")

    def test_requirements_hold_the_hashed_closure_and_sibling_pins(self):
        changed = write_component_requirements(self.repo, self.graph, parse_lock(SAMPLE),
                                               self.repo.components["api"])
        self.assertEqual(len(changed), 2)
        text = (self.root / "api" / "requirements.txt").read_text()
        self.assertIn("#   occo-util==0.1.0\n", text)
        self.assertIn("rich==14.0.0 \\\n    --hash=sha256:11\n", text)
        self.assertIn("ruamel-yaml==0.18.0 \\\n    --hash=sha256:22\n", text)  # via util
        self.assertIn("markdown-it-py==4.0.0", text)
        self.assertNotIn("nose2", text)
        # every requirement line of a hashed file carries a hash
        for line in text.splitlines():
            if line and not line.startswith(("#", " ")):
                self.assertTrue(line.endswith("\\"), line)

    def test_test_requirements_are_editables_then_unhashed_pins(self):
        write_component_requirements(self.repo, self.graph, parse_lock(SAMPLE),
                                     self.repo.components["api"])
        lines = [l for l in (self.root / "api" / "requirements_test.txt").read_text().splitlines()
                 if not l.startswith("#")]
        self.assertEqual(lines, ["-e ../util", "-e .", "markdown-it-py==4.0.0", "nose2==0.16.0",
                                 "rich==14.0.0", "ruamel-yaml==0.18.0"])

    def test_rewriting_unchanged_requirements_changes_no_file(self):
        lock = parse_lock(SAMPLE)
        write_component_requirements(self.repo, self.graph, lock, self.repo.components["api"])
        before = (self.root / "api" / "requirements.txt").stat().st_mtime_ns
        self.assertEqual(write_component_requirements(self.repo, self.graph, lock,
                                                      self.repo.components["api"]), [])
        self.assertEqual((self.root / "api" / "requirements.txt").stat().st_mtime_ns, before)
