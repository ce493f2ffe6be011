"""Compares desired and actual state of an infrastructure and plans the instructions that converge them."""
from importlib.metadata import version as _version

__version__ = _version("occo-enactor")
