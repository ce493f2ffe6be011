"""The `dummy` config manager type, registered: its schema and its class. Types with a
package of their own (`ansible`, `chef`, `puppet_solo`) declare themselves there."""
from __future__ import annotations

from occo.util.plugins import Declared

from . import schemas

DUMMY = Declared(schemas.DUMMY, "occo.configmanager.dummy:DummyConfigManager")
