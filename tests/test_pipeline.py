"""End to end: package everything, publish to a private index, install from it."""
import hashlib
import os
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

from .support import RepoCopy, fresh_venv, free_port, isolated_pip_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))
from occodev.graph import build_graph  # noqa: E402
from occodev.lock import BUILD_INPUT, Lock, runtime_inputs  # noqa: E402
from occodev.package import own_wheel_name  # noqa: E402
from occodev.repo import Repo  # noqa: E402


class PublishAndInstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.copy = RepoCopy()
        cls.run_ok(cls, "package", "--all")
        cls.port = free_port()
        cls.run_ok(cls, "index", "serve", "--port", str(cls.port))
        cls.first_upload = cls.run_ok(cls, "upload", "--all")
        cls.url = f"http://127.0.0.1:{cls.port}/"
        cls.repo = Repo.load(cls.copy.root)

    @classmethod
    def tearDownClass(cls):
        cls.copy.cleanup()

    def run_ok(self, *args):
        result = self.copy.occo_dev(*args)
        if result.returncode != 0:
            raise AssertionError(f"occo-dev {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def test_each_wheelhouse_holds_everything_needed_offline(self):
        graph = build_graph(self.repo)
        lock = Lock.read(self.repo)
        for component in self.repo.components.values():
            with self.subTest(component.folder):
                names = {p.name for p in (component.path / "wheelhouse").glob("*.whl")}
                self.assertIn(own_wheel_name(component), names)
                for sibling in graph.closure(component.folder):
                    self.assertIn(own_wheel_name(self.repo.components[sibling]), names)
                pins = lock.closure(runtime_inputs(self.repo, graph, component) + [BUILD_INPUT])
                self.assertTrue(pins)
                for pin in pins:
                    self.assertTrue(any(n.lower().startswith(pin.name.lower().replace("-", "_") + "-"
                                                              + pin.version + "-") for n in names),
                                    f"{pin.line} missing from {component.folder}/wheelhouse")

    def test_sibling_requirements_in_wheel_metadata_are_exact_pins(self):
        api = self.repo.components["api"]
        with zipfile.ZipFile(api.path / "wheelhouse" / own_wheel_name(api)) as wheel:
            metadata = wheel.read(f"occo_api-{api.version}.dist-info/METADATA").decode()
        requires = [l.split(": ", 1)[1] for l in metadata.splitlines() if l.startswith("Requires-Dist")]
        siblings = [r for r in requires if r.startswith("occo-")]
        self.assertEqual(len(siblings), 7)
        for requirement in siblings:
            self.assertRegex(requirement, r"^occo-[a-z-]+==\d+\.\d+\.\d+$")

    def test_install_from_the_private_index_alone_gives_working_commands(self):
        with tempfile.TemporaryDirectory() as scratch:
            venv = fresh_venv(Path(scratch))
            subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--index-url",
                            f"{self.url}simple/", "occo-api"],
                           env=isolated_pip_env(), check=True, timeout=300)
            result = subprocess.run([str(venv / "bin" / "occopus-build"), "--help"],
                                    capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("usage: occopus-build", result.stdout)

    def test_air_gapped_install_from_the_api_wheelhouse(self):
        with tempfile.TemporaryDirectory() as scratch:
            venv = fresh_venv(Path(scratch))
            subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-index",
                            "--find-links", str(self.copy.root / "api" / "wheelhouse"), "occo-api"],
                           env=isolated_pip_env(), check=True, timeout=300)
            result = subprocess.run([str(venv / "bin" / "occopus-scale"), "--help"],
                                    capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr)

    def test_occo_dev_install_puts_the_commands_in_env_occopus(self):
        self.run_ok("install", "--index", self.url)
        result = subprocess.run([str(self.copy.root / "env/occopus/bin/occopus-destroy"), "--help"],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_everything_was_uploaded_and_a_second_upload_skips_it_all(self):
        published = {p.name for p in (self.copy.root / "env/index/packages").iterdir()}
        local = {p.name for c in self.repo.components.values()
                 for p in (c.path / "wheelhouse").glob("*.whl")}
        self.assertEqual(published, local)
        again = self.run_ok("upload", "--all").stdout
        self.assertIn(f"uploaded 0 file(s), skipped {len(local)}", again)

    def test_a_published_name_with_other_content_is_refused_not_overwritten(self):
        util = self.repo.components["util"]
        wheel = util.path / "wheelhouse" / own_wheel_name(util)
        published = self.copy.root / "env/index/packages" / wheel.name
        original = wheel.read_bytes()
        try:
            wheel.write_bytes(original + b"\0")
            result = self.copy.occo_dev("upload", "util")
        finally:
            wheel.write_bytes(original)
        self.assertEqual(result.returncode, 1)
        self.assertIn("refusing to overwrite", result.stderr)
        self.assertIn(wheel.name, result.stderr)
        self.assertEqual(hashlib.sha256(published.read_bytes()).digest(),
                         hashlib.sha256(original).digest())


class MainJobTest(unittest.TestCase):
    def test_the_readme_main_job_script_runs_end_to_end(self):
        copy = RepoCopy()
        self.addCleanup(copy.cleanup)
        # the embedded default store lives in ~/.occopus: a home of its own, pip's cache kept
        home = copy.root / "home"
        home.mkdir()
        cache = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
        result = subprocess.run([str(copy.root / "examples/main-job.sh")], cwd=copy.root,
                                env=copy.env(OCCO_INDEX_PORT=str(free_port()), HOME=str(home),
                                             XDG_CACHE_HOME=cache),
                                capture_output=True, text=True, timeout=600)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("installed occo-api from http://127.0.0.1:", result.stdout)
        self.assertIn("Successfully imported nodes: app_server, balancer, kv_database",
                      result.stdout)
        self.assertIn("4 created\n", result.stdout)
        self.assertRegex(result.stdout, r"Hello from Occopus: served by [0-9a-f-]{36}, "
                                        r"data from 127\.0\.1\.\d+:8001")
        self.assertIn("1 created, 4 unchanged", result.stdout)
        self.assertIn("5 dropped", result.stdout)
        self.assertEqual((home / ".occopus/infralist.yaml").read_text().strip(), "[]")
        self.assertNotIn("Traceback", result.stderr)
