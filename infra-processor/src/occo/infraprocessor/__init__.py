"""Executes create and drop instructions in parallel: node resolution, health checks, readiness."""
from importlib.metadata import version as _version

__version__ = _version("occo-infra-processor")
