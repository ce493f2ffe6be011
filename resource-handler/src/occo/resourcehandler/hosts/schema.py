"""The `resource` section of type `hosts`."""
from __future__ import annotations

from occo.util.schema import Field

from ..schemas import resource_schema, text

HOSTS = resource_schema("hosts", "Machines that already exist, reached over SSH: each node "
                        "claims a free one of the pool.", {
    "pool": Field("list", items="any", connection=True,
                  doc="the machines: an address, or {address, port}"),
}, {
    "host_keys": text("strict (the default: keys you added to the infrastructure's known "
                      "hosts) or trust-first-use", connection=True),
})
