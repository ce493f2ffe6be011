"""What the azure_vm and azure_aci tutorials' end-to-end tests share: a FakeAzure of the
type's resources for the class, the service principal in each test's HOME, and the fake's
CA trusted by the commands (REQUESTS_CA_BUNDLE in their environment)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.testing import FakeAzure

from .support import FakeCloudCase


class AzureFakes(Protocol):
    """A type's testing module (`azure.vm.testing`, `azure.aci.testing`), as these tests use
    it."""

    def fake_azure(self, *, boot_seconds: float = ...,
                   delete_seconds: float = ...) -> FakeAzure: ...

    def tutorial_values(self, cloud: FakeAzure) -> dict[str, Any]: ...

    def fill_tutorial(self, text: str, values: Mapping[str, Any]) -> str: ...


def auth_data(type_name: str) -> str:
    """`~/.occopus/auth_data.yaml` with the fake's service principal for a resource type."""
    return f"""\
resource:
  -
    type: {type_name}
    auth_data:
      tenant_id: {fake.TENANT_ID}
      client_id: {fake.CLIENT_ID}
      client_secret: {fake.CLIENT_SECRET}
      subscription_id: {fake.SUBSCRIPTION_ID}
"""


class AzureTutorialCase(FakeCloudCase):
    """A fake Azure for the class (its resources boot in `BOOT_SECONDS`); each test the
    service principal in HOME (`AUTH_DATA`), a store, the type's tutorial values, and the
    fake's CA trusted by the commands. The client secret is never printed."""

    FAKES: ClassVar[AzureFakes]
    PASSWORD = fake.CLIENT_SECRET
    BOOT_SECONDS: ClassVar[float] = 1.0
    cloud: ClassVar[FakeAzure]

    @classmethod
    def start_cloud(cls) -> FakeAzure:
        return cls.FAKES.fake_azure(boot_seconds=cls.BOOT_SECONDS).start()

    @classmethod
    def fill(cls, text: str, values: Mapping[str, Any]) -> str:
        return cls.FAKES.fill_tutorial(text, values)

    def setUp(self) -> None:
        self.cloud.clear()
        super().setUp()
        self.values = self.FAKES.tutorial_values(self.cloud)
        self.env["REQUESTS_CA_BUNDLE"] = self.cloud.ca_file
