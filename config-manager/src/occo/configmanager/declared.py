"""Each config manager type, registered once: its schema, and its class where this release
has one (`chef` and `puppet_solo` are declared without: files using them validate, and a
build says they are not available in this release)."""
from __future__ import annotations

from occo.util.plugins import Declared

from . import schemas

DUMMY = Declared(schemas.DUMMY, "occo.configmanager.dummy:DummyConfigManager")
CHEF = Declared(schemas.CHEF)
PUPPET_SOLO = Declared(schemas.PUPPET_SOLO)
