"""The `resource` section of type `cloudbroker`, as the original Occopus read it."""
from __future__ import annotations

from occo.util.schema import Field

from ..schemas import resource_schema, text

CLOUDBROKER = resource_schema("cloudbroker", "The CloudBroker platform (its REST/XML API).", {
    "endpoint": text("the CloudBroker API URL, e.g. https://cola-prototype.cloudbroker.com",
                     connection=True),
    "description": Field("mapping", doc="the instance: deployment_id, instance_type_id, "
                                        "key_pair_id, opened_port, ..."),
}, {
    "start_in_vpc": Field("any", doc="start the instance in a VPC"),
})
