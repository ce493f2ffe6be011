"""The `nova` resource type: servers on an OpenStack cloud (see `handler`)."""
from occo.util.plugins import Declared

from .schema import NOVA

PLUGIN = Declared(NOVA, "occo.resourcehandler.nova.handler:NovaHandler")
