"""simcloud: a simulated cloud (`server`, run as its own process by `process`) and its
resource handler (`plugin`), for tests, chaos runs and benchmarks."""
from occo.util.plugins import Declared

from .schema import SIMCLOUD

PLUGIN = Declared(SIMCLOUD, "occo.resourcehandler.simcloud.plugin:SimCloudHandler")
