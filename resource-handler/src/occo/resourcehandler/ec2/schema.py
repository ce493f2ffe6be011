"""The `resource` section of type `ec2`, as the original Occopus read it."""
from __future__ import annotations

from occo.util.schema import Field

from ..schemas import resource_schema, text

EC2 = resource_schema("ec2", "Amazon EC2 or an EC2-compatible cloud.", {
    "endpoint": text("the EC2 API endpoint URL", connection=True),
    "regionname": text("the region name", connection=True),
    "image_id": text("the image (AMI) id"),
    "instance_type": text("the instance type, e.g. t3.small"),
}, {
    "key_name": text("the key pair name"),
    "security_group_ids": Field("list", items="scalar", doc="security group ids"),
    "subnet_id": text("the subnet id"),
    "tags": Field("mapping", doc="extra tags set on the instance"),
})
