"""The `resource` section of type `azure_vm`: the original's keys, and `nic_name`, which its
documentation listed but its checker refused."""
from __future__ import annotations

from occo.util.schema import Field

from ...schemas import resource_schema, text
from ..schema import AZURE_KEYS

AZURE_VM = resource_schema("azure_vm", "An Azure virtual machine.", {
    **AZURE_KEYS,
    "vm_size": text("the VM size, e.g. Standard_B1s"),
    "publisher": text("the image publisher, e.g. Canonical"),
    "offer": text("the image offer, e.g. 0001-com-ubuntu-server-jammy"),
    "sku": text("the image SKU, e.g. 22_04-lts-gen2"),
    "version": text("the image version, e.g. latest"),
    "username": text("the admin user"),
}, {
    "password": text("the admin password (or ssh_key_data)"),
    "ssh_key_data": text("the admin's public SSH key (or password)"),
    "public_ip_needed": Field("any", doc="give the VM a static public IP address"),
    "vnet_name": text("an existing virtual network of the resource group; default: one made "
                      "for the infrastructure"),
    "subnet_name": text("a subnet of vnet_name; default: its first"),
    "nic_name": text("an existing network interface of the resource group to attach (never "
                     "deleted by Occopus)"),
    "customdata": text("the VM's custom data when the node has no contextualisation"),
    "server_name": text("the VM name (a template, distinct per node); default "
                        "occopus-<node id>"),
}, one_of=(("password", "ssh_key_data"),))
