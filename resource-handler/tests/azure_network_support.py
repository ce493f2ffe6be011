"""A FakeAzure of virtual networks only, per test class, and a network client for it: what
the tests of the shared Azure modules (network, errors) use."""
from __future__ import annotations

from azure.mgmt.network import NetworkManagementClient

from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.fakenetwork import network_kinds
from occo.resourcehandler.azure.session import AzureSession
from occo.resourcehandler.azure.testing import FakeAzure
from occo.resourcehandler.base import Connection

from .azure_support import FakeAzureCase


class FakeNetworkCase(FakeAzureCase):
    """`cloud`: a fake of virtual networks; `client`: the SDK's network client for it."""

    @classmethod
    def make_cloud(cls) -> FakeAzure:
        return FakeAzure(kinds=network_kinds())

    def clear_failure(self) -> None:
        """Networks never fail by themselves."""

    def setUp(self) -> None:
        super().setUp()
        session = AzureSession(Connection("azure_vm", {"endpoint": self.cloud.endpoint},
                                          fake.CREDENTIALS))
        self.addCleanup(session.close)
        self.client = session.client(NetworkManagementClient)
