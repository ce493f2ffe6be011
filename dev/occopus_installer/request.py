"""What one run is asked to do, after the options and the environment are read."""
from dataclasses import dataclass

from .source import Source


@dataclass(frozen=True)
class Request:
    """What the options ask for, with the environment's defaults applied."""

    source: Source | None   # None when no option or variable names one
    version: str
    version_given: bool     # --occopus-version or OCCOPUS_VERSION
    python: str | None      # --python
    current_python: str
    force: bool
    restart: bool           # --restart: a server's service, even when nothing changed
    supervise: bool         # --supervise: run a server's service where systemd does not
