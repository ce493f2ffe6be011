import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from occodev.errors import DevError
from occodev.repo import Repo
from occodev.split import Splitter

from .support import TempRepoCase

DEV = Path(__file__).resolve().parents[1]
T1, T2, T3 = 1_700_000_000, 1_700_000_100, 1_700_000_200


def git(cwd: Path, *args: str, when: int = T1) -> str:
    env = dict(os.environ, GIT_AUTHOR_DATE=f"@{when} +0000", GIT_COMMITTER_DATE=f"@{when} +0000",
               GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@a", GIT_COMMITTER_NAME="a",
               GIT_COMMITTER_EMAIL="a@a")
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


class SplitTest(TempRepoCase):
    """A monorepo with util and api: one commit of both, then one of api, one of the root."""

    def setUp(self):
        super().setUp()
        self.repo({"util": [], "api": ["util"]})
        (self.root / "dev").mkdir()
        shutil.copy2(DEV / "init_dev.sh", self.root / "dev" / "init_dev.sh")
        (self.root / "README.md").write_text("# mono\n")
        git(self.root, "init", "-q")
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", "both")
        self.change("api/README.md", "api", T2)
        self.change("README.md", "root", T3)
        out = tempfile.TemporaryDirectory()
        self.addCleanup(out.cleanup)
        self.out = Path(out.name)
        self.said: list[str] = []

    def change(self, relative: str, message: str, when: int) -> None:
        path = self.root / relative
        path.write_text(path.read_text() + "changed\n")
        git(self.root, "commit", "-qam", message, when=when)

    def split(self) -> None:
        Splitter(Repo.load(self.root), self.out, "devel", report=self.said.append).run()

    def log(self, name: str, *args: str) -> list[str]:
        return git(self.out / f"{name}.git", "log", "--format=%ct %s", "devel", *args).splitlines()

    def test_each_component_repository_has_its_folder_s_history(self):
        self.split()
        self.assertEqual(self.log("util"), [f"{T1} both"])
        self.assertEqual(self.log("api"), [f"{T2} api", f"{T1} both"])
        files = git(self.out / "util.git", "ls-tree", "--name-only", "devel").split()
        self.assertEqual(files, ["README.md", "pyproject.toml", "src"])

    def test_the_master_holds_the_root_files_submodules_and_init_dev(self):
        self.split()
        master = self.out / "occopus.git"
        tree = git(master, "ls-tree", "devel").splitlines()
        links = {line.split("\t")[1]: line.split()[2] for line in tree if line.startswith("160000")}
        self.assertEqual(links, {"api": git(self.out / "api.git", "rev-parse", "devel"),
                                 "util": git(self.out / "util.git", "rev-parse", "devel")})
        self.assertIn("100755 blob", next(line for line in tree if line.endswith("\tinit_dev.sh")))
        self.assertIn('[submodule "util"]\n\tpath = util\n\turl = ../util.git\n\tbranch = devel\n',
                      git(master, "show", "devel:.gitmodules") + "\n")
        self.assertEqual(git(master, "show", "devel:README.md"), "# mono\nchanged")

    def test_master_commits_carry_the_dates_of_the_monorepo_commits(self):
        self.split()
        self.assertEqual([line.split()[0] for line in self.log("occopus")],
                         [str(T3), str(T2), str(T1)])
        self.assertEqual(self.log("occopus", "--", "util")[0].split()[0], str(T1))
        self.assertEqual(self.log("occopus", "--", "api")[0].split()[0], str(T2))

    def test_splitting_again_changes_nothing_then_only_what_moved(self):
        self.split()
        master = git(self.out / "occopus.git", "rev-parse", "devel")
        self.said.clear()
        self.split()
        self.assertTrue(all("up to date" in line for line in self.said), self.said)
        self.change("util/README.md", "util again", T3 + 100)
        self.said.clear()
        self.split()
        self.assertIn("util: 1 new commit(s)", " ".join(self.said))
        self.assertTrue(any(line.startswith("api: up to date") for line in self.said))
        self.assertEqual(len(self.log("occopus", f"^{master}")), 1)

    def test_two_splits_of_one_commit_are_the_same_commits(self):
        self.split()
        first = git(self.out / "occopus.git", "rev-parse", "devel")
        self.out = self.out / "again"
        self.split()
        self.assertEqual(git(self.out / "occopus.git", "rev-parse", "devel"), first)

    def test_a_target_with_commits_the_split_lacks_is_refused(self):
        self.split()
        clone = self.out / "elsewhere"
        git(self.out, "clone", "-q", "--branch", "devel", str(self.out / "util.git"), str(clone))
        git(clone, "commit", "-q", "--allow-empty", "-m", "pushed to the polyrepo")
        git(clone, "push", "-q", "origin", "devel")
        with self.assertRaises(DevError) as caught:
            self.split()
        self.assertIn("util.git has commits on devel that the split does not", str(caught.exception))

    def test_an_uncommitted_component_is_refused(self):
        self.repo({"extra": []})
        with self.assertRaises(DevError) as caught:
            self.split()
        self.assertIn("extra is not in the last commit", str(caught.exception))
