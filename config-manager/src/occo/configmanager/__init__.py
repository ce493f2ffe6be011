"""Config-manager plugins that configure nodes after they are created."""
from importlib.metadata import version as _version

__version__ = _version("occo-config-manager")
