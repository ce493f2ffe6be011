"""Turns an infrastructure description into a checked, static description with a dependency graph.

Public API:
- `compile_description(data, infra_id=None, source=None, limits=InstanceLimits())`
  -> `StaticDescription`
- `load_node_definitions(data, registry)` -> {node type: implementations}
- `SchemaRegistry.from_entry_points()`: the plugin schemas installed
Errors are `occo.util.errors.SchemaError`, listing every problem with its position.
"""
from importlib.metadata import version as _version

from .nodedefs import check_node_definitions, load_node_definitions
from .registry import SchemaRegistry
from .static import StaticDescription, compile_description

__version__ = _version("occo-compiler")
__all__ = ["SchemaRegistry", "StaticDescription", "check_node_definitions", "compile_description",
           "load_node_definitions"]
