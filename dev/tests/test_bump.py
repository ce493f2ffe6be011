from occodev.bump import bump, changelog_text, next_version, plan
from occodev.errors import DevError
from occodev.graph import build_graph
from occodev.repo import Repo

from .support import TempRepoCase

LAYOUT = {"util": [], "compiler": ["util"], "api": ["util", "compiler"], "other": []}


class BumpTest(TempRepoCase):
    def setUp(self):
        super().setUp()
        self.repo(LAYOUT)
        (self.root / "CHANGELOG.md").write_text(
            "# Changelog\n\nIntro.\n\n## Unreleased\n\n- util 0.1.0: first.\n\n## 0.0.1\n\n- old.\n")

    def bump(self, folder, part):
        repo = Repo.load(self.root)
        return bump(repo, build_graph(repo), folder, part)

    def test_next_versions(self):
        self.assertEqual([next_version("1.4.2", p) for p in ("major", "minor", "patch")],
                         ["2.0.0", "1.5.0", "1.4.3"])

    def test_a_minor_release_patches_every_dependent_and_moves_their_pins(self):
        self.bump("util", "minor")
        bumped = Repo.load(self.root)
        versions = {name: c.version for name, c in bumped.components.items()}
        self.assertEqual(versions, {"util": "0.2.0", "compiler": "0.1.1", "api": "0.1.1",
                                    "other": "0.1.0"})
        api = (self.root / "api/pyproject.toml").read_text()
        self.assertIn('"occo-util==0.2.0"', api)
        self.assertIn('"occo-compiler==0.1.1"', api)

    def test_only_the_version_line_and_pins_change(self):
        before = (self.root / "compiler/pyproject.toml").read_text()
        self.bump("util", "patch")
        after = (self.root / "compiler/pyproject.toml").read_text()
        changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
        self.assertEqual(changed, [('version = "0.1.0"', 'version = "0.1.1"'),
                                   ('dependencies = ["occo-util==0.1.0"]',
                                    'dependencies = ["occo-util==0.1.1"]')])

    def test_the_changelog_gets_one_line_per_release_at_the_top_of_unreleased(self):
        self.bump("util", "major")
        text = (self.root / "CHANGELOG.md").read_text()
        self.assertIn("## Unreleased\n\n"
                      "- util 1.0.0: major release (was 0.1.0).\n"
                      "- compiler 0.1.1: patch release pinning util 1.0.0 (was 0.1.0).\n"
                      "- api 0.1.1: patch release pinning util 1.0.0, compiler 0.1.1 (was 0.1.0).\n"
                      "- util 0.1.0: first.\n", text)
        self.assertTrue(text.endswith("## 0.0.1\n\n- old.\n"))

    def test_a_leaf_release_touches_nothing_else(self):
        releases, written = self.bump("api", "patch")
        self.assertEqual([r.component.folder for r in releases], ["api"])
        self.assertEqual(sorted(p.name for p in written), ["CHANGELOG.md", "pyproject.toml"])

    def test_a_version_it_cannot_rewrite_is_refused_before_anything_is_written(self):
        path = self.root / "compiler/pyproject.toml"
        path.write_text(path.read_text().replace('version = "0.1.0"', "version = '0.1.0'"))
        util = (self.root / "util/pyproject.toml").read_text()
        with self.assertRaises(DevError) as caught:
            self.bump("util", "patch")
        self.assertIn("compiler/pyproject.toml", str(caught.exception))
        self.assertEqual((self.root / "util/pyproject.toml").read_text(), util)


class ChangelogTest(TempRepoCase):
    def test_an_unreleased_section_is_made_before_the_first_release(self):
        repo = self.repo({"util": []})
        releases = plan(repo, build_graph(repo), "util", "patch")
        text = changelog_text("# Changelog\n\n## 0.1.0\n\n- first.\n", releases)
        self.assertEqual(text, "# Changelog\n\n## Unreleased\n\n- util 0.1.1: patch release "
                               "(was 0.1.0).\n\n## 0.1.0\n\n- first.\n")

    def test_a_missing_changelog_is_started(self):
        repo = self.repo({"util": []})
        text = changelog_text("", plan(repo, build_graph(repo), "util", "minor"))
        self.assertEqual(text, "# Changelog\n\n## Unreleased\n\n- util 0.2.0: minor release "
                               "(was 0.1.0).\n")
