"""The occopus-* commands and the REST service."""
from importlib.metadata import version as _version

__version__ = _version("occo-api")
