"""The `resource` section of type `simcloud`."""
from __future__ import annotations

from occo.util.schema import Field

from ..schemas import resource_schema, text

SIMCLOUD = resource_schema("simcloud", "The simulated cloud of occo.resourcehandler.simcloud: "
                           "for tests, chaos runs and benchmarks.", {
    "endpoint": text("the simcloud server URL, e.g. http://127.0.0.1:8700", connection=True),
}, {
    "image": text("an image name, recorded on the instance"),
    "flavor": text("a flavor name, recorded on the instance"),
    "tags": Field("mapping", doc="extra tags set on the instance"),
})
