"""Choosing the interpreter of the environment.

This script runs on Python 3.10, but the components may need a newer one
(PYTHON_MIN), and a Debian or Ubuntu python3 lacks `venv` until python3-venv
is installed: each candidate is asked for both.
"""
import shutil

from .proc import InstallError, run
from .pins import PYTHON_MIN

PYTHON_CANDIDATES = ("python3.14", "python3.13", "python3.12", "python3.11", "python3")
PYTHON_PROBE = "import sys, ensurepip, venv; print('%d.%d.%d' % sys.version_info[:3])"


def probe_python(python: str) -> tuple[int, ...] | None:
    """The version of `python` as a tuple, or None if it cannot make a venv."""
    try:
        out = run([python, "-c", PYTHON_PROBE], f"probing {python}")
    except (InstallError, OSError):
        return None
    return tuple(int(part) for part in out.strip().split("."))


def dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def find_python(current: str, explicit: str | None = None) -> str:
    """`explicit` if it qualifies, else `current` (this interpreter), else the newest on PATH."""
    wanted = f"Python >= {dotted(PYTHON_MIN)} with the venv module"
    if explicit:
        version = probe_python(explicit)
        if version is None or version < PYTHON_MIN:
            raise InstallError(f"--python {explicit} is not {wanted}; name another one")
        return explicit
    candidates = [current, *filter(None, (shutil.which(name) for name in PYTHON_CANDIDATES))]
    for python in candidates:
        version = probe_python(python)
        if version is not None and version >= PYTHON_MIN:
            return python
    raise InstallError(f"Occopus needs {wanted} and none was found; install one (on Debian or "
                       f"Ubuntu: python3-venv), or name it with --python")
