"""Running external commands: echoed, checked, and failing as a DevError."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from collections.abc import Mapping, Sequence

VERBOSE = os.environ.get("OCCO_DEV_VERBOSE") == "1"


def isolated_pip_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a pip that must see only the indexes we name.

    This machine's pip configuration adds find-links and extra indexes; an
    install that claims to come from our index alone must not see them.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PIP_") or k in ("PIP_CERT", "PIP_DEFAULT_TIMEOUT")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    env.update(extra or {})
    return env


def run(cmd: Sequence[str | os.PathLike], *, cwd: Path | None = None,
        env: Mapping[str, str] | None = None, what: str | None = None,
        capture: bool = False) -> subprocess.CompletedProcess:
    """Run `cmd`; on a non-zero exit raise a DevError naming `what` failed.

    Output is captured (and shown only on failure) unless OCCO_DEV_VERBOSE=1,
    so a successful run stays quiet.
    """
    args = [str(a) for a in cmd]
    if VERBOSE:
        print(">>> " + shlex.join(args), file=sys.stderr)
    quiet = capture or not VERBOSE
    result = subprocess.run(args, cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE if quiet else None,
                            stderr=subprocess.STDOUT if quiet else None)
    if result.returncode != 0:
        from .errors import DevError
        tail = "\n".join((result.stdout or "").strip().splitlines()[-15:])
        detail = f"\n{tail}" if tail else ""
        raise DevError(f"{what or args[0]} failed (exit {result.returncode}): "
                       f"{shlex.join(args)}{detail}")
    return result


def reap(pid: int) -> None:
    """Collect a server's exit status if it happens to be our child (as in tests), so that
    it leaves no zombie and its pid reads as gone."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def cmdline(pid: int) -> list[bytes]:
    """The arguments of process `pid`; none for a process that does not exist."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the program's name (state, parent, ...); none for a
    process that does not exist."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def is_gone(pid: int) -> bool:
    """No such process, or only its exit status is left."""
    fields = stat_fields(pid)
    return not fields or fields[0] == "Z"


def terminate(pid: int, timeout: float) -> None:
    """SIGTERM, a wait of `timeout` seconds, then SIGKILL and a wait of 5 s."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            reap(pid)
            if is_gone(pid):
                return
            time.sleep(0.05)
