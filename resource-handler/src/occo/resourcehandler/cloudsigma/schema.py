"""The `resource` section of type `cloudsigma`, as the original Occopus read it."""
from __future__ import annotations

from occo.util.schema import Field

from ..schemas import resource_schema, text

CLOUDSIGMA = resource_schema("cloudsigma", "CloudSigma (its API 2.0).", {
    "endpoint": text("the CloudSigma API URL, e.g. https://zrh.cloudsigma.com/api/2.0",
                     connection=True),
    "libdrive_id": text("the library drive cloned as the server's boot drive"),
    "description": Field("mapping", doc="the server: cpu, mem, vnc_password, nics, pubkeys, ..."),
}, {})
