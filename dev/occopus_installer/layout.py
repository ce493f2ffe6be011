"""Where an installation lives: for one user under ~/.local, or for the system with --server.

A server installation is kept out of any home folder so that the `occopus`
service user can run it: /opt/occopus/venv, with links in /usr/local/bin.
"""
import json
import os
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "install.json"


@dataclass(frozen=True)
class Layout:
    home: Path       # holds the venv and the state file
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
        return self.home / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def command(self, name: str) -> Path:
        return self.venv / "bin" / name

    def commands(self) -> list[str]:
        """The occopus-* commands the environment holds, by name."""
        return sorted(path.name for path in (self.venv / "bin").glob("occopus-*"))

    def read_state(self) -> dict | None:
        """What the last install recorded (its version and source), or None."""
        try:
            return json.loads((self.home / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None

    def write_state(self, state: dict) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / STATE_FILE).write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")

    def forget(self) -> None:
        """Remove the state file, and the folder if nothing else is left in it."""
        (self.home / STATE_FILE).unlink(missing_ok=True)
        if self.home.is_dir() and not any(self.home.iterdir()):
            self.home.rmdir()
