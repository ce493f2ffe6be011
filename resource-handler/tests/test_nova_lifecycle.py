"""What the nova plugin makes, finds, reports and removes, seen from the fake cloud."""
from __future__ import annotations

import base64
import time
import uuid

from occo.util.nodes import NodeState

from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG, Instance, TransientError
from occo.resourcehandler.nova import testing as fake
from occo.resourcehandler.nova.launch import FLOATING_KEY

from .nova_support import CONTEXT, FakeOpenStackCase

DEADLINE = 10.0


class NovaCase(FakeOpenStackCase):

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.nova_handler()
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def create(self, node_id: str | None = None, **resource: object) -> Instance:
        node = self.nova_node(self.infra_id, node_id or uuid.uuid4().hex, **resource)
        [made] = self.handler.create_nodes([node])
        self.assertIsInstance(made, Instance, made)
        assert isinstance(made, Instance)
        self.addCleanup(self.handler.drop_node, made)
        return made

    def asked(self, instance: Instance) -> dict:
        """The create request the fake received for the instance."""
        return self.cloud.servers[instance.instance_id].body

    def wait_ready(self, instance: Instance):
        deadline = time.monotonic() + DEADLINE
        while True:
            [status] = self.handler.get_states([instance])
            if status.state is NodeState.READY:
                return status
            self.assertLess(time.monotonic(), deadline, f"not ready: {status}")
            time.sleep(0.05)


class CreateTest(NovaCase):

    def test_the_server_is_made_as_the_section_says_with_user_data_and_ownership(self) -> None:
        node_id = uuid.uuid4().hex
        body = self.asked(self.create(node_id, server_name="myhelloworld"))
        self.assertEqual(body["name"], "myhelloworld")
        self.assertEqual((body["imageRef"], body["flavorRef"], body["key_name"]),
                         (fake.IMAGE_ID, "1", fake.KEY_NAME))
        self.assertEqual(body["networks"], [{"uuid": fake.NETWORK_ID}])
        self.assertEqual(body["security_groups"], [{"name": fake.SECURITY_GROUPS[1]}])
        self.assertEqual(base64.b64decode(body["user_data"]).decode(), CONTEXT)
        self.assertEqual(body["metadata"], {INFRA_TAG: self.infra_id, NODE_TAG: node_id,
                                            OWNER_TAG: "tester@example.org"})

    def test_the_default_name_is_the_originals_unique_name(self) -> None:
        node_id = uuid.uuid4().hex
        body = self.asked(self.create(node_id))
        infra_name = f"{self.infra_id}-name"        # as nova_node names it
        self.assertEqual(body["name"], f"occopus-{infra_name[:18]}-{self.infra_id[:8]}-web-"
                                       f"{node_id[:8]}")

    def test_a_create_whose_answer_was_lost_is_found_again_not_made_twice(self) -> None:
        """The cloud makes the server but its answer never arrives (a crash, a lost
        connection): the engine's retry, from a new handler as after a restart, finds it."""
        node_id = uuid.uuid4().hex
        node = self.nova_node(self.infra_id, node_id, server_name="myhelloworld")
        self.cloud.fail_next(502, "Bad Gateway", method="POST", path="/servers", after=True)
        [lost] = self.handler.create_nodes([node])
        self.assertIsInstance(lost, TransientError)
        [made] = self.nova_handler().create_nodes([node])
        self.assertIsInstance(made, Instance)
        assert isinstance(made, Instance)
        self.addCleanup(self.handler.drop_node, made)
        [server] = self.servers_of(node_id)
        self.assertEqual(made.instance_id, server["id"])

    def test_a_server_of_the_same_name_for_another_node_is_not_taken(self) -> None:
        first = self.create(server_name="shared-name")
        second = self.create(server_name="shared-name")
        self.assertNotEqual(first.instance_id, second.instance_id)

    def test_a_server_marked_by_hand_without_a_node_id_is_left_alone(self) -> None:
        instance = self.create()
        self.cloud.servers[instance.instance_id].body["metadata"].pop(NODE_TAG)
        with self.assertLogs("occo.resourcehandler.nova", "WARNING") as logged:
            self.assertEqual(self.handler.list_owned(self.infra_id), [])
        self.assertIn("left alone", logged.output[0])


class NetworksTest(NovaCase):

    def test_without_network_id_a_modern_nova_is_asked_for_networks_auto(self) -> None:
        instance = self.create(network_id="")
        self.assertEqual(self.asked(instance)["networks"], "auto")
        self.wait_ready(instance)

    def test_a_network_id_is_asked_for_as_before(self) -> None:
        instance = self.create()
        self.assertEqual(self.asked(instance)["networks"], [{"uuid": fake.NETWORK_ID}])


class BootVolumeTest(NovaCase):

    def test_volume_size_boots_from_a_volume_nova_deletes_with_the_server(self) -> None:
        body = self.asked(self.create(volume_size="10"))
        self.assertNotIn("imageRef", body)
        self.assertEqual(body["block_device_mapping_v2"], [{
            "boot_index": 0, "uuid": fake.IMAGE_ID, "source_type": "image",
            "destination_type": "volume", "volume_size": 10, "delete_on_termination": True}])

    def test_volume_size_0_takes_the_flavors_disk(self) -> None:
        body = self.asked(self.create(volume_size=0, flavor_name="m1.small"))
        self.assertEqual(body["block_device_mapping_v2"][0]["volume_size"], 20)

    def test_volume_size_0_on_a_flavor_without_disk_makes_the_originals_50_gb(self) -> None:
        body = self.asked(self.create(volume_size=0, flavor_name="v1.small"))
        self.assertEqual(body["block_device_mapping_v2"][0]["volume_size"], 50)

    def test_volume_persist_keeps_the_volume_after_the_drop(self) -> None:
        instance = self.create(volume_size=5, volume_persist=True)
        [volume] = self.cloud.servers[instance.instance_id].volumes
        self.assertFalse(volume["delete_on_termination"])
        self.handler.drop_node(instance)
        self.assertIn(volume["id"], self.cloud.volumes)


class FloatingIPTest(NovaCase):

    def owned_ips(self, instance: Instance) -> list[dict]:
        return [ip for ip in self.cloud.floating_ips.values()
                if ip["description"] == f"occopus {instance.infra_id} {instance.node_id}"]

    def test_a_ready_server_has_its_floating_ip_first_and_the_drop_releases_it(self) -> None:
        instance = self.create(floating_ip="yes", floating_ip_pool=fake.POOL_NAME)
        self.assertEqual(self.asked(instance)["metadata"][FLOATING_KEY], fake.POOL_NAME)
        status = self.wait_ready(instance)
        [ip] = self.owned_ips(instance)
        fixed = self.cloud.servers[instance.instance_id].fixed_ip
        self.assertEqual(status.addresses, (ip["floating_ip_address"], fixed))
        self.assertEqual(status.private_ip, fixed)
        self.wait_ready(instance)                   # polled again: no second address
        self.assertEqual(len(self.owned_ips(instance)), 1)
        self.handler.drop_node(instance)
        self.assertEqual(self.owned_ips(instance), [])

    def test_a_neutron_ignoring_the_description_filter_drops_only_the_nodes_ip(self) -> None:
        self.cloud.ignore_ip_description_filter = True
        stranger = self.cloud.add_floating_ip("someone else's")
        first = self.create(floating_ip="yes")
        second = self.create(floating_ip="yes")
        first_status, second_status = self.wait_ready(first), self.wait_ready(second)
        [first_ip], [second_ip] = self.owned_ips(first), self.owned_ips(second)
        self.assertEqual(first_status.addresses[0], first_ip["floating_ip_address"])
        self.assertEqual(second_status.addresses[0], second_ip["floating_ip_address"])
        self.handler.drop_node(first)
        self.assertEqual(self.owned_ips(first), [])
        self.assertIn(stranger["id"], self.cloud.floating_ips)
        self.assertIn(second_ip["id"], self.cloud.floating_ips)

    def test_a_transient_floating_ip_failure_leaves_the_batchs_other_nodes_read(self) -> None:
        floating = self.create(floating_ip="yes")
        plain = self.create(floating_ip="no")
        self.wait_ready(plain)          # made after `floating`, so both servers are ACTIVE
        self.cloud.fail_next(503, "Neutron is restarting", method="POST", path="/floatingips")
        waiting, ready = self.handler.get_states([floating, plain])
        self.assertIs(waiting.state, NodeState.PENDING)
        self.assertIn("Neutron is restarting", waiting.detail or "")
        self.assertIs(ready.state, NodeState.READY)
        self.assertEqual(self.owned_ips(floating), [])
        self.wait_ready(floating)       # the next poll attaches it
        self.assertEqual(len(self.owned_ips(floating)), 1)

    def test_floating_ip_without_a_pool_takes_an_external_network(self) -> None:
        instance = self.create(floating_ip=True)
        self.wait_ready(instance)
        [ip] = self.owned_ips(instance)
        self.assertEqual(ip["floating_network_id"], fake.POOL_ID)

    def test_floating_ip_no_asks_for_none(self) -> None:
        instance = self.create(floating_ip="no")
        self.assertEqual(self.wait_ready(instance).addresses,
                         (self.cloud.servers[instance.instance_id].fixed_ip,))
        self.assertEqual(self.owned_ips(instance), [])

    def test_an_unknown_pool_fails_the_node_saying_so(self) -> None:
        instance = self.create(floating_ip_pool="nowhere")
        deadline = time.monotonic() + DEADLINE
        while (status := self.handler.get_states([instance])[0]).state is NodeState.PENDING:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        self.assertIs(status.state, NodeState.FAILED)
        self.assertIn("no floating IP pool 'nowhere'", status.detail or "")


class StatesTest(NovaCase):

    def test_a_booting_server_is_pending_then_ready(self) -> None:
        instance = self.create()
        [first] = self.handler.get_states([instance])
        self.assertIs(first.state, NodeState.PENDING)
        self.assertEqual(first.addresses, ())
        self.wait_ready(instance)

    def test_a_server_in_error_is_failed_with_novas_fault(self) -> None:
        self.cloud.server_error = "No valid host was found. There are not enough hosts."
        instance = self.create()
        deadline = time.monotonic() + DEADLINE
        while (status := self.handler.get_states([instance])[0]).state is NodeState.PENDING:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        self.assertIs(status.state, NodeState.FAILED)
        self.assertEqual(status.detail, "No valid host was found. There are not enough hosts.")

    def test_the_states_of_a_batch_take_one_list_call(self) -> None:
        instances = [self.create() for _ in range(3)]
        before = self.cloud.count("GET", "/servers/detail")
        statuses = self.handler.get_states(instances)
        self.assertEqual(len(statuses), 3)
        self.assertEqual(self.cloud.count("GET", "/servers/detail") - before, 1)

    def test_the_originals_state_names_are_mapped_as_it_did(self) -> None:
        expected = {"BUILD": "pending", "REBUILD": "pending", "RESIZE": "pending",
                    "VERIFY_RESIZE": "pending", "MIGRATING": "pending", "ACTIVE": "ready",
                    "ERROR": "failed", "DELETED": "shutdown"}
        self.assertEqual({name: self.handler.map_state(name).value for name in expected},
                         expected)
        self.assertIs(self.handler.map_state("SHUTOFF"), NodeState.TEMP_FAILED)
