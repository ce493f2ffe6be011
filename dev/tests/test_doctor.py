import json
import os
from pathlib import Path
from unittest import mock

from occodev.doctor import Environment, report
from occodev.graph import build_graph

from .support import TempRepoCase


def install(venv: Path, dist: str, version: str = "0.1.0", editable_from: Path | None = None) -> None:
    """A distribution's metadata as pip leaves it, with PEP 610's direct_url.json if editable."""
    site = venv / "lib" / "python3.11" / "site-packages"
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    if editable_from is not None:
        (info / "direct_url.json").write_text(json.dumps(
            {"url": editable_from.as_uri(), "dir_info": {"editable": True}}))


class EnvironmentTest(TempRepoCase):
    def test_editable_wheel_mixed_and_empty(self):
        editable, wheel, mixed = (self.root / n for n in ("editable", "wheel", "mixed"))
        install(editable, "occo-api", editable_from=self.root / "checkout" / "api")
        install(wheel, "occo-api")
        install(wheel, "pyyaml")
        install(mixed, "occo-api")
        install(mixed, "occo-util", editable_from=self.root / "checkout" / "util")
        self.assertEqual(Environment.read(editable).mode, "editable")
        self.assertIn(f"from the checkout {self.root / 'checkout'}",
                      Environment.read(editable).summary())
        self.assertEqual(Environment.read(wheel).wheel, ("occo-api",))
        self.assertEqual(Environment.read(mixed).mode, "mixed")
        self.assertTrue(Environment.read(self.root / "nothing").empty)


class ReportTest(TempRepoCase):
    def setUp(self):
        super().setUp()
        self.repo_ = self.repo({"util": [], "api": ["util"]})
        self.home = self.root / "home"
        patcher = mock.patch.dict(os.environ, {"HOME": str(self.home), "PATH": "/nonexistent",
                                              "XDG_DATA_HOME": ""})
        patcher.start()
        self.addCleanup(patcher.stop)

    def report(self):
        return report(self.repo_, build_graph(self.repo_))

    def test_each_environment_says_its_mode_and_upgrade_path(self):
        install(self.root / "env" / "occopus", "occo-api")
        install(self.home / ".local/share/occopus/current", "occo-api", "0.2.0")
        lines, mixed = self.report()
        self.assertEqual(mixed, 0)
        self.assertEqual(lines[0], "running: no occopus-build on PATH")
        self.assertIn("env/occopus: wheel, 1 occo-* distribution(s), occo-api 0.1.0; "
                      "upgrade: ./occo-dev install", lines)
        self.assertIn(f"{self.home}/.local/share/occopus/current: wheel, 1 occo-* distribution(s), "
                      "occo-api 0.2.0; upgrade: python3 install-occopus.py --upgrade", lines)

    def test_a_mixed_component_environment_is_counted_with_its_repair(self):
        install(self.root / "env" / "api", "occo-api", editable_from=self.root / "api")
        install(self.root / "env" / "api", "occo-util")
        lines, mixed = self.report()
        self.assertEqual(mixed, 1)
        self.assertTrue(any(line.startswith("env/api: MIXED: editable occo-api and wheel occo-util")
                            and line.endswith("repair: ./occo-dev reset-env api") for line in lines),
                        lines)

    def test_no_environment_at_all_says_how_to_make_one(self):
        self.assertEqual(self.report()[0][1],
                         "no Occopus environment here; ./occo-dev reset-env COMP makes one")
