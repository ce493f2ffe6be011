"""The occopus-* console scripts, one module each, with the original Occopus names and flags.

Exit codes: 0 success, 1 error, 2 usage error, 130 interrupted (see `cli`).
"""
from __future__ import annotations

from ..cli import run_command
from . import build as _build
from . import destroy as _destroy
from . import events as _events
from . import import_ as _import
from . import maintain as _maintain
from . import rest_service as _rest_service
from . import run as _run
from . import scale as _scale
from . import shell as _shell


def build() -> int:
    return run_command("occopus-build", _build.body)


def destroy() -> int:
    return run_command("occopus-destroy", _destroy.body)


def events() -> int:
    return run_command("occopus-events", _events.body)


def import_() -> int:
    return run_command("occopus-import", _import.body)


def maintain() -> int:
    return run_command("occopus-maintain", _maintain.body)


def scale() -> int:
    return run_command("occopus-scale", _scale.body)


def run() -> int:
    return run_command("occopus-run", _run.body)


def rest_service() -> int:
    return run_command("occopus-rest-service", _rest_service.body)


def shell() -> int:
    return run_command("occopus-shell", _shell.body)
