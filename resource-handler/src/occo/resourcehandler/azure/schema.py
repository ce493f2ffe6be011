"""The keys every Azure resource section has: which cloud, and where in it."""
from __future__ import annotations

from occo.util.schema import Field

from ..schemas import text

AZURE_KEYS: dict[str, Field] = {
    "endpoint": text("Resource Manager's URL, e.g. https://management.azure.com",
                     connection=True),
    "resource_group": text("the resource group (made in `location` when absent; never deleted)"),
    "location": text("the Azure location, e.g. westeurope"),
}
