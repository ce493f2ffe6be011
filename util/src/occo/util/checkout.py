"""The Occopus checkout this code runs from, for test support that starts the real parts
with `./occo-dev` (a Docker engine, test hosts)."""
from __future__ import annotations

from pathlib import Path


def checkout() -> Path | None:
    """The checkout this module is installed from (editable), if it is one."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "occo-dev").is_file() and (folder / "dev" / "occodev").is_dir():
            return folder
    return None
