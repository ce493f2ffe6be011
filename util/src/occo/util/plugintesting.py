"""A distribution made for a test: entry points (and modules) found on sys.path like any
installed package's, gone when the test ends.

    install_for_test(self, "occo-test-plugins",
                     "[occo.resource_plugins]\\nfake = my_module:PLUGIN\\n",
                     modules={"my_module": "PLUGIN = ..."})
"""
from __future__ import annotations

import sys
import tempfile
import unittest
from collections.abc import Mapping
from pathlib import Path


def install_for_test(case: unittest.TestCase, name: str, entry_points: str,
                     modules: Mapping[str, str] | None = None) -> Path:
    """Put a distribution `name` with `entry_points` (entry_points.txt's text) and `modules`
    (module name -> source) on sys.path until `case` ends; the folder it is in."""
    scratch = tempfile.TemporaryDirectory(prefix="occo-test-dist-")
    case.addCleanup(scratch.cleanup)
    folder = Path(scratch.name)
    info = folder / f"{name.replace('-', '_')}-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0\n")
    (info / "entry_points.txt").write_text(entry_points)
    for module, source in (modules or {}).items():
        (folder / f"{module}.py").write_text(source)
        case.addCleanup(sys.modules.pop, module, None)
    sys.path.append(str(folder))
    case.addCleanup(sys.path.remove, str(folder))
    return folder


install_for_test.__test__ = False     # type: ignore[attr-defined]  # not a test, for runners
