"""`occo-dev split OUTDIR`: the original's polyrepo layout, generated from this monorepo.

- OUTDIR/<comp>.git: each component folder as a repository of its own, with
  the history of that folder (`git subtree split`), on one branch (devel).
- OUTDIR/occopus.git, the master repository: everything outside the component
  folders (occo-dev, dev/, the Vagrantfile, docs, ...), the components as
  submodules (`.gitmodules` with relative URLs, so OUTDIR can be published as
  it is, and `branch = devel`), and init_dev.sh.

The split is deterministic, which makes it incremental: unchanged history
splits into the same commits, and each repository only moves forward. The
master gets one commit for each monorepo commit that changed what it holds,
with that commit's author and dates; so a component's last master commit has
the time of its last monorepo commit, which `package` takes for
SOURCE_DATE_EPOCH, and the polyrepo builds byte-identical wheels.

The monorepo is only read: the work happens in a scratch clone sharing its
objects, whose new objects are pushed to OUTDIR.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import DevError
from .repo import Repo

MASTER = "occopus"
INIT_SCRIPT = "init_dev.sh"
INIT_SOURCE = f"dev/{INIT_SCRIPT}"
GITLINK = "160000"


def git(cwd: Path, *args: str, env: Mapping[str, str] | None = None, text: str | None = None) -> str:
    """Run git and return its output; a failure is a DevError with git's last words."""
    result = subprocess.run(["git", *args], cwd=cwd, env=env, input=text, capture_output=True,
                            text=True)
    if result.returncode != 0:
        words = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise DevError(f"git {' '.join(args[:2])} failed in {cwd}: "
                       + (words[-1] if words else f"exit {result.returncode}"))
    return result.stdout.strip()


@dataclass(frozen=True)
class Origin:
    """The monorepo commit a master commit stands for: the last to touch what it changes."""

    sha: str
    rank: int          # its position in the monorepo's history, oldest first

    def env(self, work: Path) -> dict[str, str]:
        fields = git(work, "show", "-s", "--date=raw",
                     "--format=%an%n%ae%n%ad%n%cn%n%ce%n%cd", self.sha).splitlines()
        keys = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
                "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE")
        return dict(os.environ, **dict(zip(keys, fields)))


class Splitter:
    """Splits the monorepo's last commit into OUTDIR, reporting one line per repository."""

    def __init__(self, repo: Repo, outdir: Path, branch: str,
                 report: Callable[[str], None] = print) -> None:
        self.root, self.outdir, self.branch, self.report = repo.root, outdir, branch, report
        self.folders = sorted(repo.components)

    def run(self) -> None:
        try:
            head = git(self.root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        except DevError:
            raise DevError(f"{self.root} has no commit to split; commit, then split") from None
        for folder in [*self.folders, INIT_SOURCE]:
            if git(self.root, "ls-tree", "--name-only", head, "--", folder) == "":
                raise DevError(f"{folder} is not in the last commit; commit it, then split")
        self.outdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="occo-split-") as scratch:
            work = Path(scratch) / "work.git"
            git(self.root, "clone", "--quiet", "--bare", "--shared", str(self.root), str(work))
            ranks = {sha: n for n, sha in enumerate(
                git(work, "rev-list", "--topo-order", "--reverse", head).splitlines())}
            heads = {folder: self._split(work, folder, head) for folder in self.folders}
            for folder in self.folders:
                self._publish(work, folder, heads[folder])
            self._publish(work, MASTER, Master(work, head, ranks, self.branch).build(
                heads, self._fetch_master(work)))

    def _split(self, work: Path, folder: str, head: str) -> str:
        # git subtree needs the folder in a work tree: it gets the monorepo's,
        # while its objects and cache go to the scratch clone.
        env = dict(os.environ, GIT_DIR=str(work), GIT_WORK_TREE=str(self.root))
        return git(self.root, "subtree", "split", "-q", f"--prefix={folder}", head, env=env)

    def _target(self, name: str) -> Path:
        return self.outdir / f"{name}.git"

    def _fetch_master(self, work: Path) -> str | None:
        target = self._target(MASTER)
        if not target.exists() or not self._tip(target):
            return None
        git(work, "fetch", "--quiet", str(target), self.branch)
        return git(work, "rev-parse", "FETCH_HEAD")

    def _tip(self, target: Path) -> str:
        return git(self.outdir, "ls-remote", "--heads", str(target), self.branch).split("\t")[0]

    def _publish(self, work: Path, name: str, commit: str) -> None:
        """Move `branch` of OUTDIR/<name>.git forward to `commit` (made there if missing)."""
        target = self._target(name)
        if not target.exists():
            git(self.outdir, "init", "--quiet", "--bare", f"--initial-branch={self.branch}",
                str(target))
        before = self._tip(target)
        if before == commit:
            self.report(f"{name}: up to date ({self.branch} at {commit[:12]})")
            return
        if before and not _contains(work, commit, before):
            raise DevError(f"{target} has commits on {self.branch} that the split does not; "
                           "bring them into the monorepo, or split into an empty folder")
        git(work, "push", "--quiet", str(target), f"{commit}:refs/heads/{self.branch}")
        count = git(work, "rev-list", "--count", commit, *([f"^{before}"] if before else []))
        self.report(f"{name}: {count} new commit(s), {self.branch} at {commit[:12]}")


def _contains(work: Path, commit: str, ancestor: str) -> bool:
    known = subprocess.run(["git", "cat-file", "-e", f"{ancestor}^{{commit}}"], cwd=work,
                           capture_output=True).returncode == 0
    return known and subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, commit],
                                    cwd=work, capture_output=True).returncode == 0


Units = dict[str, tuple[str, ...] | str]  # "" -> the root entries; a folder -> its commit


class Master:
    """The master repository's tree, and the commits that bring it up to date."""

    def __init__(self, work: Path, head: str, ranks: dict[str, int], branch: str) -> None:
        self.work, self.head, self.ranks, self.branch = work, head, ranks, branch

    def build(self, heads: dict[str, str], previous: str | None) -> str:
        """Commit, on `previous`, each change of the root files or of a gitlink."""
        state = self._read(previous) if previous else {}
        wanted: Units = {"": self._root_entries(list(heads)), **heads}
        changed = [unit for unit in [*wanted, *state] if wanted.get(unit) != state.get(unit)]
        by_origin: dict[Origin, list[str]] = {}
        for unit in dict.fromkeys(changed):
            by_origin.setdefault(self._origin(unit, list(heads)), []).append(unit)
        commit = previous
        for origin in sorted(by_origin, key=lambda o: o.rank):
            for unit in by_origin[origin]:
                if unit in wanted:
                    state[unit] = wanted[unit]
                else:
                    del state[unit]
            commit = self._commit(state, commit, origin, by_origin[origin])
        assert commit is not None, "a first split always commits the root files"
        return commit

    def _root_entries(self, folders: list[str]) -> tuple[str, ...]:
        """The monorepo's top-level entries but the components, plus init_dev.sh."""
        listing = git(self.work, "ls-tree", self.head).splitlines()
        keep = [line for line in listing
                if line.split("\t", 1)[1] not in {*folders, ".gitmodules", INIT_SCRIPT}]
        blob = git(self.work, "rev-parse", f"{self.head}:{INIT_SOURCE}")
        return tuple(sorted([*keep, f"100755 blob {blob}\t{INIT_SCRIPT}"]))

    def _origin(self, unit: str, folders: list[str]) -> Origin:
        """The last monorepo commit that touched `unit` (the root: anything but the folders)."""
        paths = [".", *(f":(exclude){folder}" for folder in folders)] if unit == "" else [unit]
        sha = git(self.work, "log", "-1", "--format=%H", self.head, "--", *paths)
        return Origin(sha, self.ranks[sha])

    def _read(self, commit: str) -> Units:
        state: Units = {}
        root = []
        for line in git(self.work, "ls-tree", commit).splitlines():
            meta, name = line.split("\t", 1)
            mode, _, sha = meta.split()
            if mode == GITLINK:
                state[name] = sha
            elif name != ".gitmodules":
                root.append(line)
        state[""] = tuple(sorted(root))
        return state

    def _gitmodules(self, folders: list[str]) -> str:
        text = "".join(f'[submodule "{folder}"]\n\tpath = {folder}\n\turl = ../{folder}.git\n'
                       f"\tbranch = {self.branch}\n" for folder in folders)
        return git(self.work, "hash-object", "-w", "--stdin", text=text)

    def _commit(self, state: Units, parent: str | None, origin: Origin, units: list[str]) -> str:
        folders = sorted(unit for unit in state if unit)
        entries = [*state.get("", ()), *(f"{GITLINK} commit {state[f]}\t{f}" for f in folders),
                   f"100644 blob {self._gitmodules(folders)}\t.gitmodules"]
        tree = git(self.work, "mktree", text="\n".join(entries) + "\n")
        names = ", ".join("the root files" if unit == "" else unit for unit in sorted(units))
        subject = git(self.work, "show", "-s", "--format=%s", origin.sha)
        message = f"Update {names} from the monorepo's {origin.sha[:12]}\n\n{subject}\n"
        return git(self.work, "commit-tree", tree, *(["-p", parent] if parent else []),
                   "-m", message, env=origin.env(self.work))
