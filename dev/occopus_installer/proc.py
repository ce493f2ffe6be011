"""Running other programs, and the one error type the installer reports."""
import subprocess
from collections.abc import Mapping, Sequence


class InstallError(Exception):
    """An expected failure: printed as `install-occopus: error: ...`, exit code 1."""


def run(cmd: Sequence[object], what: str, env: Mapping[str, str] | None = None) -> str:
    """Run `cmd` quietly and return its output; a failure names `what` and shows its last lines."""
    try:
        result = subprocess.run([str(part) for part in cmd], capture_output=True, text=True,
                                env=env, stdin=subprocess.DEVNULL)
    except OSError as error:
        raise InstallError(f"{what} failed: {cmd[0]}: {error.strerror}") from None
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-12:])
        detail = f":\n{tail}" if tail else ""
        raise InstallError(f"{what} failed (exit {result.returncode}){detail}")
    return result.stdout
