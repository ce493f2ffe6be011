"""The `libcloud` resource type: nodes through any Apache Libcloud compute driver (see `handler`).

The package is not named `libcloud`, so that it never shadows the library it uses.
"""
from occo.util.plugins import Declared

from .schema import LIBCLOUD

PLUGIN = Declared(LIBCLOUD, "occo.resourcehandler.anydriver.handler:LibcloudHandler")
