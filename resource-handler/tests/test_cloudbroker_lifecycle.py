"""The cloudbroker plugin's instances: what they are made of, how they boot and go, and how
they are found again, against the fake CloudBroker."""
from __future__ import annotations

import ipaddress

from occo.util.nodes import NodeState

from occo.resourcehandler.base import Instance, TransientError
from occo.resourcehandler.cloudbroker.client import instance_xml
from occo.resourcehandler.cloudbroker.testing import ADDRESSES

from .cloudbroker_support import FakeCloudBrokerCase

CONTEXT = "#cloud-config\nwrite_files: []\n"


class CloudBrokerInstanceTest(FakeCloudBrokerCase):
    FAKE = {"boot_time": 0.3, "stop_time": 0.2}

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.cloudbroker_handler()

    def create(self, node) -> Instance:
        [made] = self.handler.create_nodes([node])
        if not isinstance(made, Instance):
            raise made
        self.addCleanup(self.handler.drop_node, made)
        return made

    def test_an_instance_is_made_from_the_description_and_named_for_its_node(self) -> None:
        node = self.cloudbroker_node(context=CONTEXT)
        made = self.create(node)
        [instance] = self.cloud.instances()
        account = self.cloud.account
        self.assertEqual(instance["id"], made.instance_id)
        self.assertEqual({key: instance[key] for key in (
            "name", "deployment-id", "instance-type-id", "key-pair-id", "opened-port",
            "disable-autostop", "isolated")},
            {"name": f"occopus-{node.infra_id}-{node.node_id}",
             "deployment-id": account.deployment_id,
             "instance-type-id": account.instance_type_id, "key-pair-id": account.key_pair_id,
             "opened-port": "22,80", "disable-autostop": "true", "isolated": "true"})
        self.assertEqual(self.cloud.user_data(instance), CONTEXT)

    def test_a_name_in_the_description_cannot_replace_the_ownership_mark(self) -> None:
        node = self.cloudbroker_node(name="mine")
        self.create(node)
        [instance] = self.cloud.instances()
        self.assertEqual(instance["name"], f"occopus-{node.infra_id}-{node.node_id}")

    def test_start_in_vpc_is_read_from_the_resource_section(self) -> None:
        """The original read it from the top of the node definition, and so never sent it."""
        node = self.cloudbroker_node()
        node.resource["start_in_vpc"] = True
        self.create(node)
        [instance] = self.cloud.instances()
        self.assertEqual(instance["start-in-vpc"], "true")

    def test_an_instance_starts_slowly_then_runs_on_a_loopback_address(self) -> None:
        made = self.create(self.cloudbroker_node())
        seen = []
        while not seen or seen[-1].state is not NodeState.READY:
            [status] = self.handler.get_states([made])
            seen.append(status)
            self.assertIn(status.state, (NodeState.PENDING, NodeState.READY), seen)
        self.assertIs(seen[0].state, NodeState.PENDING)
        self.assertEqual(seen[0].addresses, ())
        address, private = seen[-1].addresses
        self.assertIn(ipaddress.ip_address(address), ADDRESSES)
        self.assertEqual(seen[-1].private_ip, private)

    def test_a_drop_stops_the_instance_once(self) -> None:
        made = self.create(self.cloudbroker_node())
        self.handler.drop_node(made)
        self.handler.drop_node(made)
        self.assertEqual([call for call in self.cloud.calls if call[0] == "PUT"],
                         [("PUT", f"/instances/{made.instance_id}/stop.xml")])
        self.assertIs(self.handler.get_states([made])[0].state, NodeState.SHUTDOWN)
        self.assertEqual(self.handler.list_owned(made.infra_id), [])

    def test_a_node_dropped_then_made_again_gets_a_new_instance(self) -> None:
        node = self.cloudbroker_node()
        first = self.create(node)
        self.handler.drop_node(first)
        self.assertNotEqual(self.create(node).instance_id, first.instance_id,
                            "a halted instance is no live instance of the node")

    def test_one_listing_answers_the_states_of_many_instances(self) -> None:
        made = [self.create(self.cloudbroker_node()) for _ in range(3)]
        before = len(self.cloud.calls)
        self.assertEqual(len(self.handler.get_states(made)), 3)
        self.assertEqual(self.cloud.calls[before:], [("GET", "/instances.xml")])

    def test_a_drop_cut_before_its_stop_is_finished_by_its_retry(self) -> None:
        made = self.create(self.cloudbroker_node())
        self.cloud.fail_next(502, method="GET", path=f"/instances/{made.instance_id}.xml")
        with self.assertRaises(TransientError):
            self.handler.drop_node(made)
        self.handler.drop_node(made)
        self.assertIs(self.handler.get_states([made])[0].state, NodeState.SHUTDOWN)


class CloudBrokerXmlTest(FakeCloudBrokerCase):
    def test_lists_are_joined_and_booleans_written_as_the_api_reads_them(self) -> None:
        root = instance_xml({"opened_port": [22, 80], "isolated": True, "note": None,
                             "nested": {"a": "b"}})
        self.assertEqual({child.tag: child.text for child in root},
                         {"opened_port": "22,80", "isolated": "true", "note": None,
                          "nested": None})
        self.assertEqual(root.find("nested/a").text, "b")
