"""Each config manager type, registered once: its schema, and its class where this release
has one (`chef` is declared without: files using it validate, and a build says it is not
available in this release). Types with a package of their own (`ansible`, `puppet_solo`)
declare themselves there."""
from __future__ import annotations

from occo.util.plugins import Declared

from . import schemas

DUMMY = Declared(schemas.DUMMY, "occo.configmanager.dummy:DummyConfigManager")
CHEF = Declared(schemas.CHEF)
