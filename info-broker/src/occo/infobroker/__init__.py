"""The state store (embedded, Redis, MongoDB) and the info broker that answers queries about infrastructures and nodes."""
from importlib.metadata import version as _version

__version__ = _version("occo-info-broker")
