"""The `azure_aci` resource type: container groups of Azure Container Instances (see
`handler`)."""
from occo.util.plugins import Declared

from .schema import AZURE_ACI

PLUGIN = Declared(AZURE_ACI, "occo.resourcehandler.azure.aci.handler:AciHandler")
