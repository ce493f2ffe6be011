"""The `resource` section of type `azure_aci`, as the original Occopus read it."""
from __future__ import annotations

from occo.util.schema import Field

from ...schemas import resource_schema, text
from ..schema import AZURE_KEYS

AZURE_ACI = resource_schema("azure_aci", "An Azure container instance (a container group).", {
    **AZURE_KEYS,
    "cpu_cores": text("CPU cores, e.g. 1 or 0.5"),
    "memory": text("memory in GB, e.g. 1.5"),
    "image": text("the container image, e.g. nginx:alpine"),
    "os_type": text("Linux or Windows"),
    "network_type": text("Public (an address on the internet and a DNS name) or Private "
                         "(an address in a virtual network)"),
}, {
    "gpu_type": text("K80, P100 or V100"),
    "gpu_count": Field("scalar", default=1, doc="number of GPUs (with gpu_type)"),
    "ports": Field("list", items="scalar", doc="ports to open: 80 (TCP) or \"53/UDP\""),
    "vnet_name": text("the virtual network of a private container group (default: the "
                      "infrastructure's own)"),
    "subnet_name": text("its subnet, delegated to container groups"),
})
