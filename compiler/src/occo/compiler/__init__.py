"""Turns an infrastructure description into a checked, static description with a dependency graph."""
from importlib.metadata import version as _version

__version__ = _version("occo-compiler")
