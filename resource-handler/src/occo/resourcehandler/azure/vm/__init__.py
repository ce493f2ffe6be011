"""The `azure_vm` resource type: virtual machines on Azure (see `handler`)."""
from occo.util.plugins import Declared

from .schema import AZURE_VM

PLUGIN = Declared(AZURE_VM, "occo.resourcehandler.azure.vm.handler:AzureVmHandler")
