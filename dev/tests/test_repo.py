from occodev.errors import DevError
from occodev.repo import Repo

from .support import TempRepoCase, write_component


class RepoTest(TempRepoCase):
    def test_components_and_their_siblings_come_from_pyproject(self):
        repo = self.repo({"util": [], "compiler": ["util"], "info-broker": ["util"]})
        self.assertEqual(sorted(repo.components), ["compiler", "info-broker", "util"])
        broker = repo.components["info-broker"]
        self.assertEqual((broker.dist, broker.package), ("occo-info-broker", "infobroker"))
        self.assertEqual([s.folder for s in repo.siblings_of(broker)], ["util"])

    def test_third_party_requirements_exclude_siblings(self):
        write_component(self.root, "util", [])
        write_component(self.root, "api", ["util"], third_party=["rich>=13"])
        repo = Repo.load(self.root)
        self.assertEqual([str(r) for r in repo.third_party(repo.components["api"].requires)],
                         ["rich>=13"])

    def test_folder_without_pyproject_is_a_clear_error(self):
        self.repo({"util": []})
        (self.root / "stray" / "src" / "occo").mkdir(parents=True)
        with self.assertRaises(DevError) as caught:
            Repo.load(self.root)
        self.assertIn("'stray' has no pyproject.toml", str(caught.exception))

    def test_unknown_component_is_a_usage_error_listing_the_known_ones(self):
        repo = self.repo({"util": [], "api": ["util"]})
        with self.assertRaises(DevError) as caught:
            repo.select(["utill"])
        self.assertEqual(caught.exception.exit_code, 2)
        self.assertIn("unknown component 'utill'", str(caught.exception))
        self.assertIn("api, util", str(caught.exception))

    def test_select_accepts_folder_or_distribution_names(self):
        repo = self.repo({"util": [], "info-broker": ["util"]})
        self.assertEqual([c.folder for c in repo.select(["occo-info-broker", "util/"])],
                         ["info-broker", "util"])

    def test_version_must_be_semantic(self):
        write_component(self.root, "util", [], version="1.0")
        with self.assertRaises(DevError) as caught:
            Repo.load(self.root)
        self.assertIn("not a semantic version", str(caught.exception))

    def test_tooling_folders_are_not_components(self):
        self.repo({"util": []})
        for folder in ("env", "dev", "docs", "examples", "bench", "tests"):
            (self.root / folder).mkdir()
            (self.root / folder / "pyproject.toml").write_text("")
        self.assertEqual(list(Repo.load(self.root).components), ["util"])
