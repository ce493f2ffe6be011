"""The infrastructure's network (`azure.network`) and ARM ids (`azure.ids`), against the fake:
made once, made again after a failed create, deleted by the last node whatever way Azure says
it is still used, never waited for without a bound."""
from __future__ import annotations

import threading
import unittest
import uuid
from unittest import mock

from azure.core.exceptions import HttpResponseError

from occo.resourcehandler.azure import ids, network
from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.fakenetwork import NETWORK_TYPE, VirtualNetworks
from occo.resourcehandler.base import TransientError

from .azure_network_support import FakeNetworkCase

NETWORKS = "*/virtualNetworks/*"


class NetworkCase(FakeNetworkCase):

    def setUp(self) -> None:
        super().setUp()
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def place(self, infra_id: str | None = None) -> network.Placement:
        return network.placement(self.client, fake.SUBSCRIPTION_ID, fake.RESOURCE_GROUP,
                                 fake.LOCATION, infra_id or self.infra_id, vnet_name=None,
                                 subnet_name=None, for_containers=True, where="[test]",
                                 endpoint=self.cloud.endpoint)

    def networks(self) -> list[str]:
        return sorted(item.name for item in self.cloud.resources(NETWORK_TYPE))


class PlacementTest(NetworkCase):

    def test_a_network_whose_create_failed_is_put_again(self) -> None:
        self.cloud.fail_next_operation("InternalServerError", method="PUT", path=NETWORKS)
        with self.assertRaises(HttpResponseError):
            self.place()
        puts = self.calls("PUT", f"/occopus-{self.infra_id}")
        placed = self.place()
        self.assertEqual(self.calls("PUT", f"/occopus-{self.infra_id}") - puts, 1)
        found = self.client.virtual_networks.get(fake.RESOURCE_GROUP, str(placed.made_network))
        self.assertEqual(found.provisioning_state, "Succeeded")

    def test_the_lock_of_a_network_is_the_endpoints_and_ignores_the_groups_case(self) -> None:
        key = network.lock_key("https://a.example", "sub", "Occopus-Tests", "occopus-x")
        self.assertEqual(key, network.lock_key("https://a.example", "sub", "occopus-tests",
                                               "OCCOPUS-X"))
        self.assertNotEqual(key, network.lock_key("https://b.example", "sub", "occopus-tests",
                                                  "occopus-x"))

    def test_the_network_of_a_subnet_is_found_in_an_id_of_any_case(self) -> None:
        subnet_id = self.place().subnet_id
        name = f"occopus-{self.infra_id}"
        self.assertEqual(network.network_of_subnet(subnet_id), name)
        self.assertEqual(network.network_of_subnet(subnet_id.lower()), name.lower())
        self.assertEqual(network.infra_network_joined([subnet_id.upper()], self.infra_id), name)
        self.assertIsNone(network.infra_network_joined([subnet_id], "another-infra"))
        self.assertIsNone(network.network_of_subnet(subnet_id.rsplit("/", 2)[0]))


class ReleaseTest(NetworkCase):

    def test_a_network_in_use_is_kept_whether_azure_refuses_at_once_or_through_the_operation(
            self) -> None:
        name = str(self.place().made_network)
        for how in ("operation", "answer"):
            with self.subTest(how=how):
                if how == "operation":
                    self.cloud.fail_next_operation("InUseSubnetCannotBeDeleted",
                                                   method="DELETE", path=NETWORKS)
                else:
                    self.cloud.fail_next(400, code="InUseSubnetCannotBeDeleted",
                                         method="DELETE", path=NETWORKS)
                network.release(self.client, fake.RESOURCE_GROUP, name)
                self.assertEqual(self.networks(), [name])
        network.release(self.client, fake.RESOURCE_GROUP, name)
        self.assertEqual(self.networks(), [])
        network.release(self.client, fake.RESOURCE_GROUP, name)      # gone: fine

    def test_a_delete_failing_otherwise_is_raised(self) -> None:
        name = str(self.place().made_network)
        self.cloud.fail_next_operation("InternalServerError", method="DELETE", path=NETWORKS)
        with self.assertRaises(HttpResponseError):
            network.release(self.client, fake.RESOURCE_GROUP, name)
        self.assertEqual(self.networks(), [name])


class SlowDeleteTest(NetworkCase):

    @classmethod
    def make_cloud(cls) -> fake.FakeAzure:
        cloud = super().make_cloud()
        kind = cloud.kinds[NETWORK_TYPE.lower()]
        assert isinstance(kind, VirtualNetworks)
        kind.delete_seconds = 3600.0
        return cloud

    def test_a_delete_is_waited_for_within_a_bound(self) -> None:
        name = str(self.place().made_network)
        raised: list[BaseException] = []

        def release() -> None:
            try:
                network.release(self.client, fake.RESOURCE_GROUP, name)
            except BaseException as error:      # noqa: BLE001 - seen by the test
                raised.append(error)

        with mock.patch.object(network, "DELETE_WAIT", 0.5):
            waiting = threading.Thread(target=release, daemon=True)
            waiting.start()
            waiting.join(60)
        self.assertFalse(waiting.is_alive(), "the delete was waited for without a bound")
        [error] = raised
        self.assertIsInstance(error, TransientError)
        self.assertIn(f"deleting the virtual network {name}: not done after 0.5 s",
                      str(error))


class IdsTest(unittest.TestCase):

    def test_an_arm_id_is_read_in_any_case_and_anything_else_is_none(self) -> None:
        subnet = ("/subscriptions/s/resourcegroups/Group/providers/Microsoft.Network/"
                  "virtualNetworks/net/subnets/aci")
        parsed = ids.parse(subnet)
        assert parsed is not None
        self.assertEqual((parsed.subscription, parsed.group, parsed.type, parsed.names),
                         ("s", "Group", "Microsoft.Network/virtualNetworks/subnets",
                          ("net", "aci")))
        self.assertEqual(ids.of_type(subnet.upper(), "microsoft.network/virtualnetworks/"
                                                     "subnets").name, "ACI")
        self.assertIsNone(ids.of_type(subnet, NETWORK_TYPE))
        for other in ("not-an-azure-id", "/subscriptions/s/resourceGroups/g",
                      "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/x"):
            self.assertIsNone(ids.parse(other), other)
