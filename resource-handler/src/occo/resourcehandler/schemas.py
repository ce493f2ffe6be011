"""The `resource` section of each cloud type the original Occopus knew, as data.

The compiler reads these through the entry-point group `occo.resource_schemas`
to check node definitions; each plugin implementation will declare the same
object as its schema, so the keys are written down once. Values that must be
numbers are declared `scalar`, since users write placeholders and templates there.
"""
from __future__ import annotations

from dataclasses import replace

from occo.util.schema import Field, Schema


def resource_schema(type_name: str, doc: str, required: dict[str, Field],
                    optional: dict[str, Field], one_of: tuple[tuple[str, ...], ...] = ()) -> Schema:
    """A resource section: `type`, an optional display `name`, and the type's own keys."""
    fields = {"type": Field("str", required=True, doc=f"the resource type, here '{type_name}'"),
              "name": Field("scalar", doc="a name for this cloud in logs and auth-data filters")}
    fields.update({key: replace(spec, required=True) for key, spec in required.items()})
    fields.update(optional)
    return Schema(f"resource {type_name}", fields, doc, one_of=one_of)


def _text(doc: str) -> Field:
    return Field("scalar", doc=doc)


EC2 = resource_schema("ec2", "Amazon EC2 or an EC2-compatible cloud.", {
    "endpoint": _text("the EC2 API endpoint URL"),
    "regionname": _text("the region name"),
    "image_id": _text("the image (AMI) id"),
    "instance_type": _text("the instance type, e.g. t3.small"),
}, {
    "key_name": _text("the key pair name"),
    "security_group_ids": Field("list", items="scalar", doc="security group ids"),
    "subnet_id": _text("the subnet id"),
    "tags": Field("mapping", doc="extra tags set on the instance"),
})

NOVA = resource_schema("nova", "OpenStack Nova.", {
    "endpoint": _text("the Keystone endpoint; /v3 is added when no version is given"),
    "image_id": _text("the image id"),
    "flavor_name": _text("the flavor name"),
    "project_id": _text("the project id"),
}, {
    "server_name": _text("the server name (a template); default occopus-<infra>-<node>-<id>"),
    "key_name": _text("the key pair name"),
    "security_groups": Field("list", items="scalar", doc="security group names"),
    "floating_ip": Field("any", doc="allocate a floating IP"),
    "floating_ip_pool": _text("the pool to take the floating IP from"),
    "network_id": _text("the network to attach"),
    "region_name": _text("the region name"),
    "user_domain_name": Field("scalar", default="Default", doc="the Keystone user domain"),
    "volume_size": _text("boot from a new volume of this size in GB; 0 uses the image's size"),
    "volume_persist": Field("any", doc="keep the boot volume when the server is deleted"),
    "tenant_name": Field("scalar", doc="deprecated and ignored: Keystone v3 uses project_id"),
})

_AZURE_PLACE = {
    "endpoint": _text("the Azure management endpoint"),
    "resource_group": _text("the resource group"),
    "location": _text("the Azure location, e.g. westeurope"),
}

AZURE_VM = resource_schema("azure_vm", "An Azure virtual machine.", {
    **_AZURE_PLACE,
    "vm_size": _text("the VM size, e.g. Standard_B1s"),
    "publisher": _text("the image publisher"),
    "offer": _text("the image offer"),
    "sku": _text("the image SKU"),
    "version": _text("the image version"),
    "username": _text("the admin user"),
}, {
    "password": _text("the admin password"),
    "ssh_key_data": _text("the admin's public SSH key"),
    "public_ip_needed": Field("any", doc="give the VM a public IP"),
    "vnet_name": _text("an existing virtual network"),
    "subnet_name": _text("an existing subnet"),
    "customdata": _text("custom data for the VM"),
    "server_name": _text("the VM name (a template)"),
}, one_of=(("password", "ssh_key_data"),))

AZURE_ACI = resource_schema("azure_aci", "An Azure container instance.", {
    **_AZURE_PLACE,
    "cpu_cores": _text("CPU cores"),
    "memory": _text("memory in GB"),
    "image": _text("the container image"),
    "os_type": _text("Linux or Windows"),
    "network_type": _text("public or private"),
}, {
    "gpu_type": _text("K80, P100 or V100"),
    "gpu_count": Field("scalar", default=1, doc="number of GPUs"),
    "ports": Field("list", items="scalar", doc="ports to open: 80 or \"53/UDP\""),
    "vnet_name": _text("the virtual network of a private container"),
    "subnet_name": _text("the subnet of a private container"),
})

CLOUDBROKER = resource_schema("cloudbroker", "The CloudBroker platform.", {
    "endpoint": _text("the CloudBroker API URL"),
    "description": Field("mapping", doc="the instance: deployment_id, instance_type_id, ..."),
}, {
    "start_in_vpc": Field("any", doc="start the instance in a VPC"),
})

CLOUDSIGMA = resource_schema("cloudsigma", "CloudSigma.", {
    "endpoint": _text("the CloudSigma API URL"),
    "libdrive_id": _text("the library drive to clone"),
    "description": Field("mapping", doc="the server: cpu, mem, vnc_password, ..."),
}, {})

DOCKER = resource_schema("docker", "A Docker engine.", {
    "endpoint": _text("the Docker engine URL, e.g. unix:///var/run/docker.sock"),
    "origin": _text("dockerhub, local, or the URL of an image tar"),
    "image": _text("the image name"),
    "tag": _text("the image tag"),
}, {})

SIMCLOUD = resource_schema("simcloud", "The simulated cloud of occo.resourcehandler.simcloud: "
                           "for tests, chaos runs and benchmarks.", {
    "endpoint": _text("the simcloud server URL, e.g. http://127.0.0.1:8700"),
}, {
    "image": _text("an image name, recorded on the instance"),
    "flavor": _text("a flavor name, recorded on the instance"),
    "tags": Field("mapping", doc="extra tags set on the instance"),
})

LOCAL = resource_schema("local", "Processes on this machine, each node on its own loopback "
                        "address: the embedded default.", {}, {
    "workdir": _text("where node folders are made (default ~/.occopus/local)"),
    "address_range": _text("loopback addresses to give out (default 127.0.1.0/24)"),
})
