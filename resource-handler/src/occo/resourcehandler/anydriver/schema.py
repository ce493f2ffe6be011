"""The `resource` section of type `libcloud`: a Libcloud compute driver, and what to make with it.

New in this release (the original had no such type). The driver and its
connection arguments choose the backend; the credentials are the auth_data
entry's (`key`, `secret`, and any further driver argument it holds).
"""
from __future__ import annotations

from occo.util.schema import Field

from ..schemas import resource_schema, text

LIBCLOUD = resource_schema("libcloud", "Any Apache Libcloud compute driver.", {
    "driver": text("the Libcloud compute provider, e.g. openstack, gce, linode, dummy",
                   connection=True),
    "image": text("the image id the driver's create_node takes"),
    "size": text("the size (flavor) id or name, from the driver's list_sizes"),
}, {
    "driver_args": Field("mapping", connection=True,
                         doc="keyword arguments of the driver's constructor (no secrets: those "
                             "go in auth_data), e.g. ex_force_auth_url"),
    "region": text("the region, given to the driver's constructor", connection=True),
    "location": text("the location id or name, from the driver's list_locations"),
    "server_name": text("the node's name (a template); default occopus-<infra id>-<node id>"),
    "create_args": Field("mapping", doc="further keyword arguments of the driver's create_node, "
                                        "e.g. ex_keyname, ex_availability_zone"),
})
