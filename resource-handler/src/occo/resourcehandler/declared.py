"""Resource types of the original Occopus declared without a plugin in this release.

Files using them validate; building a node of one says "declared but not
available in this release". Each moves beside its plugin when it gets one.
"""
from __future__ import annotations

from occo.util.plugins import Declared
from occo.util.schema import Field

from .schemas import resource_schema, text

_AZURE_PLACE = {
    "endpoint": text("the Azure management endpoint", connection=True),
    "resource_group": text("the resource group"),
    "location": text("the Azure location, e.g. westeurope"),
}

AZURE_VM = Declared(resource_schema("azure_vm", "An Azure virtual machine.", {
    **_AZURE_PLACE,
    "vm_size": text("the VM size, e.g. Standard_B1s"),
    "publisher": text("the image publisher"),
    "offer": text("the image offer"),
    "sku": text("the image SKU"),
    "version": text("the image version"),
    "username": text("the admin user"),
}, {
    "password": text("the admin password"),
    "ssh_key_data": text("the admin's public SSH key"),
    "public_ip_needed": Field("any", doc="give the VM a public IP"),
    "vnet_name": text("an existing virtual network"),
    "subnet_name": text("an existing subnet"),
    "customdata": text("custom data for the VM"),
    "server_name": text("the VM name (a template)"),
}, one_of=(("password", "ssh_key_data"),)))

AZURE_ACI = Declared(resource_schema("azure_aci", "An Azure container instance.", {
    **_AZURE_PLACE,
    "cpu_cores": text("CPU cores"),
    "memory": text("memory in GB"),
    "image": text("the container image"),
    "os_type": text("Linux or Windows"),
    "network_type": text("public or private"),
}, {
    "gpu_type": text("K80, P100 or V100"),
    "gpu_count": Field("scalar", default=1, doc="number of GPUs"),
    "ports": Field("list", items="scalar", doc="ports to open: 80 or \"53/UDP\""),
    "vnet_name": text("the virtual network of a private container"),
    "subnet_name": text("the subnet of a private container"),
}))
