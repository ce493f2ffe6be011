"""Resource types of the original Occopus declared without a plugin in this release.

Files using them validate; building a node of one says "declared but not
available in this release". Each moves beside its plugin when it gets one.
"""
from __future__ import annotations

from occo.util.plugins import Declared
from occo.util.schema import Field

from .schemas import resource_schema, text

NOVA = Declared(resource_schema("nova", "OpenStack Nova.", {
    "endpoint": text("the Keystone endpoint; /v3 is added when no version is given",
                     connection=True),
    "image_id": text("the image id"),
    "flavor_name": text("the flavor name"),
    "project_id": text("the project id", connection=True),
}, {
    "server_name": text("the server name (a template); default occopus-<infra>-<node>-<id>"),
    "key_name": text("the key pair name"),
    "security_groups": Field("list", items="scalar", doc="security group names"),
    "floating_ip": Field("any", doc="allocate a floating IP"),
    "floating_ip_pool": text("the pool to take the floating IP from"),
    "network_id": text("the network to attach"),
    "region_name": text("the region name", connection=True),
    "user_domain_name": Field("scalar", default="Default", connection=True,
                              doc="the Keystone user domain"),
    "volume_size": text("boot from a new volume of this size in GB; 0 uses the image's size"),
    "volume_persist": Field("any", doc="keep the boot volume when the server is deleted"),
    "tenant_name": Field("scalar", doc="deprecated and ignored: Keystone v3 uses project_id"),
}))

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

CLOUDBROKER = Declared(resource_schema("cloudbroker", "The CloudBroker platform.", {
    "endpoint": text("the CloudBroker API URL", connection=True),
    "description": Field("mapping", doc="the instance: deployment_id, instance_type_id, ..."),
}, {
    "start_in_vpc": Field("any", doc="start the instance in a VPC"),
}))

CLOUDSIGMA = Declared(resource_schema("cloudsigma", "CloudSigma.", {
    "endpoint": text("the CloudSigma API URL", connection=True),
    "libdrive_id": text("the library drive to clone"),
    "description": Field("mapping", doc="the server: cpu, mem, vnc_password, ..."),
}, {}))
