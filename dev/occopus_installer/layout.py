"""Where an installation lives: for one user under ~/.local, or for the system with --server.

Each release is an environment of its own under `releases/`; the link
`current` names the one that runs and `previous` the one kept for
--rollback. The commands' links go through `current`, so one rename moves
every command to another release at once. A server installation is kept out
of any home folder so that the `occopus` service user can run it:
/opt/occopus, with links in /usr/local/bin.
"""
import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .proc import InstallError

STATE_FILE = "install.json"
LOCK_FILE = ".lock"


@dataclass(frozen=True)
class Layout:
    home: Path       # holds the releases, their links and the state file
    bin: Path        # where the command links go
    server: bool

    @classmethod
    def user(cls) -> "Layout":
        data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        return cls(data / "occopus", Path.home() / ".local" / "bin", False)

    @classmethod
    def system(cls) -> "Layout":
        return cls(Path("/opt/occopus"), Path("/usr/local/bin"), True)

    @property
    def venv(self) -> Path:
        """The environment the commands run from: the link to the current release."""
        return self.home / "current"

    @property
    def previous(self) -> Path:
        """The link to the release --rollback returns to."""
        return self.home / "previous"

    @property
    def releases(self) -> Path:
        return self.home / "releases"

    @property
    def legacy_venv(self) -> Path:
        """Where installers before releases kept the one environment."""
        return self.home / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def command(self, name: str) -> Path:
        return self.venv / "bin" / name

    def commands(self) -> list[str]:
        """The occopus-* commands the current release holds, by name."""
        return sorted(path.name for path in (self.venv / "bin").glob("occopus-*"))

    def read_state(self) -> dict | None:
        """What the last install recorded (its version and source), or None."""
        try:
            return json.loads((self.home / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None

    def write_state(self, state: dict) -> None:
        """Replace the state file whole: a run cut short leaves the old one or the new one."""
        self.home.mkdir(parents=True, exist_ok=True)
        fresh = self.home / f".{STATE_FILE}.new"
        fresh.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
        fresh.chmod(0o644)          # what is installed is no secret, whatever the umask
        os.replace(fresh, self.home / STATE_FILE)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One changing run at a time: another run's release is never pruned mid-build."""
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / LOCK_FILE).open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise InstallError(f"another install-occopus is changing {self.home}; wait for "
                                   "it to finish, then run again") from None
            yield

    def adopt_legacy(self) -> None:
        """Make a pre-release installation (a `venv` folder) the current release, so that it
        is kept, and put back, like any other until a newer one replaces it."""
        if not self.venv.is_symlink() and (self.legacy_venv / "bin" / "python").exists():
            self.venv.symlink_to(self.legacy_venv)

    def forget(self) -> None:
        """Remove the state file, and the folder if nothing else is left in it."""
        (self.home / STATE_FILE).unlink(missing_ok=True)
        (self.home / LOCK_FILE).unlink(missing_ok=True)
        if self.home.is_dir() and not any(self.home.iterdir()):
            self.home.rmdir()
