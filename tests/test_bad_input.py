"""Every bad input gets one clear line, a non-zero exit and no traceback."""
import socket

from .support import CopyCase, free_port


class BadInputTest(CopyCase):
    def edit(self, relative, old, new):
        path = self.copy.root / relative
        path.write_text(path.read_text().replace(old, new, 1))

    def test_a_dependency_cycle_names_the_cycle(self):
        self.edit("util/pyproject.toml", "dependencies = [\n", 'dependencies = [\n    "occo-api==0.1.0",\n')
        line = self.fails("order")
        self.assertRegex(line, r"dependency cycle between components: (\w[\w-]* -> )+\w")
        self.assertIn("util", line)
        self.assertIn("api", line)

    def test_a_component_folder_without_pyproject(self):
        (self.copy.root / "stray/src/occo").mkdir(parents=True)
        self.assertIn("'stray' has no pyproject.toml", self.fails("order"))

    def test_an_unknown_component(self):
        self.assertIn("unknown component 'nosuch'", self.fails("package", "nosuch", code=2))

    def test_no_component_named(self):
        self.assertIn("or use --all", self.fails("package", code=2))

    def test_a_taken_port(self):
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            self.assertIn(f"port {port} on 127.0.0.1 is taken",
                          self.fails("index", "serve", "--port", str(port)))

    def test_a_missing_wheelhouse(self):
        line = self.fails("upload", "util", "--index", f"http://127.0.0.1:{free_port()}/",
                          OCCO_INDEX_USER="u", OCCO_INDEX_PASSWORD="p")
        self.assertIn("run ./occo-dev package util first", line)

    def test_an_index_that_is_down(self):
        self.ok("package", "util")
        line = self.fails("upload", "util", "--index", f"http://127.0.0.1:{free_port()}/",
                          OCCO_INDEX_USER="u", OCCO_INDEX_PASSWORD="p")
        self.assertIn("is not reachable", line)

    def test_wrong_index_credentials(self):
        self.ok("package", "util")
        self.ok("index", "serve", "--port", str(free_port()))
        line = self.fails("upload", "util", OCCO_INDEX_USER="occo", OCCO_INDEX_PASSWORD="wrong")
        self.assertIn("refused the upload credentials", line)
        self.assertEqual(list((self.copy.root / "env/index/packages").iterdir()), [])

    def test_upload_without_a_running_index(self):
        self.ok("package", "util")
        self.assertIn("no index is running", self.fails("upload", "util"))

    def test_install_from_an_empty_wheelhouse(self):
        empty = self.copy.root / "empty"
        empty.mkdir()
        self.assertIn("has no wheels", self.fails("install", "--wheelhouse", str(empty)))

    def test_a_broken_pyproject(self):
        (self.copy.root / "util/pyproject.toml").write_text("[project\n")
        self.assertIn("util/pyproject.toml: not valid TOML", self.fails("order"))

    def test_sibling_pins_that_disagree_with_versions(self):
        self.edit("util/pyproject.toml", 'version = "0.1.0"', 'version = "0.2.0"')
        line = self.fails("package", "util")
        self.assertIn("expected 'occo-util==0.2.0'", line)
