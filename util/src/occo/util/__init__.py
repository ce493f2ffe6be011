"""Shared foundations of Occopus: errors with source positions, YAML loading, configuration."""
from importlib.metadata import version as _version

__version__ = _version("occo-util")
