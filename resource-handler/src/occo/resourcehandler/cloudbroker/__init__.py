"""The `cloudbroker` resource type: instances on the CloudBroker platform, through its REST/XML
API (see `handler`); `testing` holds a fake of that API for tests."""
from occo.util.plugins import Declared

from .schema import CLOUDBROKER

PLUGIN = Declared(CLOUDBROKER, "occo.resourcehandler.cloudbroker.handler:CloudBrokerHandler")
