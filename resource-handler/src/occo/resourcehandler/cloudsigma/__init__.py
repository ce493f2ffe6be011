"""The `cloudsigma` resource type: servers on CloudSigma, booted from a clone of a library
drive (see `handler`); `testing` holds a fake of its API for tests."""
from occo.util.plugins import Declared

from .schema import CLOUDSIGMA

PLUGIN = Declared(CLOUDSIGMA, "occo.resourcehandler.cloudsigma.handler:CloudSigmaHandler")
