"""Resource-handler plugins that create, query and drop nodes on clouds and local backends."""
from importlib.metadata import version as _version

__version__ = _version("occo-resource-handler")
