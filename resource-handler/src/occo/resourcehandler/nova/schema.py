"""The `resource` section of type `nova`, as the original Occopus read it."""
from __future__ import annotations

from occo.util.schema import Field

from ..schemas import resource_schema, text

NOVA = resource_schema("nova", "OpenStack Nova.", {
    "endpoint": text("the Keystone endpoint; /v3 is added when no version is given",
                     connection=True),
    "image_id": text("the image id"),
    "flavor_name": text("the flavor name (or id)"),
    "project_id": text("the project id", connection=True),
}, {
    "server_name": text("the server name (a template); default occopus-<infra>-<node>-<id>"),
    "key_name": text("the key pair name"),
    "security_groups": Field("list", items="scalar", doc="security group names"),
    "floating_ip": Field("any", doc="allocate a floating IP"),
    "floating_ip_pool": text("the pool (external network) to take the floating IP from"),
    "network_id": text("the network to attach"),
    "region_name": text("the region name", connection=True),
    "user_domain_name": Field("scalar", default="Default", connection=True,
                              doc="the Keystone user domain"),
    "volume_size": text("boot from a new volume of this size in GB; 0: the flavor's disk"),
    "volume_persist": Field("any", doc="keep the boot volume when the server is deleted"),
    "tenant_name": Field("scalar", doc="deprecated and ignored: Keystone v3 uses project_id"),
})
