"""Throwaway copies of this repository, driven through the real ./occo-dev.

Each copy is a git repository of its own holding the working tree as it is
(tracked and untracked, not ignored), committed at a fixed time. It shares
env/dev and the third-party wheel cache with the real checkout, so no test
downloads anything the developer already has.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REAL_ROOT = Path(__file__).resolve().parents[1]
# (file, text, replacement) that makes a release of occo-api whose commands answer
# --version but whose REST service exits at start
BROKEN_SERVICE = ("api/src/occo/api/commands/rest_service.py",
                  "    from ..rest.server import serve",
                  '    raise SystemExit("occopus-rest-service: broken on purpose")')
COMMIT_TIME = 1_750_000_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tracked_files(root: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root,
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if (root / line).is_file()]


def git(root: Path, *args: str, when: int = COMMIT_TIME) -> None:
    env = dict(os.environ, GIT_AUTHOR_DATE=f"@{when} +0000", GIT_COMMITTER_DATE=f"@{when} +0000",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


class RepoCopy:
    def __init__(self, share_wheels: bool = True) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="occo-repo-")
        self.root = Path(self._scratch.name)
        for relative in tracked_files(REAL_ROOT):
            target = self.root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REAL_ROOT / relative, target)
        (self.root / "env").mkdir()
        if share_wheels:
            wheels = REAL_ROOT / "env" / "wheels"
            wheels.mkdir(parents=True, exist_ok=True)
            (self.root / "env" / "wheels").symlink_to(wheels)
        git(self.root, "init", "-q")
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", "copy")

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("OCCO_DEV_ROOT", "PYTHONPATH", "OCCO_INDEX_USER", "OCCO_INDEX_PASSWORD")}
        env["OCCO_DEV_ENV"] = os.environ.get("OCCO_DEV_ENV", str(Path(sys.prefix)))
        env.update(extra)
        return env

    def occo_dev(self, *args: str, cwd: Path | None = None, **extra_env: str):
        return subprocess.run([str(self.root / "occo-dev"), *args], cwd=cwd or self.root,
                              env=self.env(**extra_env), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=600)

    def cleanup(self) -> None:
        self.occo_dev("index", "stop")
        self._scratch.cleanup()


class CopyCase(unittest.TestCase):
    """A test with its own copy of the repository."""

    def setUp(self) -> None:
        self.copy = RepoCopy()
        self.addCleanup(self.copy.cleanup)

    def ok(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        result = self.copy.occo_dev(*args, **kwargs)
        self.assertEqual(result.returncode, 0, f"occo-dev {' '.join(args)}:\n{result.stdout}{result.stderr}")
        return result

    def fails(self, *args: str, code: int = 1, **kwargs) -> str:
        """Run a command that must fail with one clear line; return that line."""
        result = self.copy.occo_dev(*args, **kwargs)
        self.assertEqual(result.returncode, code, result.stdout + result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("occo-dev: error: "), lines[0])
        return lines[0]


def fresh_venv(parent: Path) -> Path:
    venv = parent / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return venv


def isolated_pip_env() -> dict[str, str]:
    """pip that sees no machine-wide configuration: only the indexes a test names."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env
