"""What the azure_aci plugin makes, finds, reports and removes, seen from the fake Azure."""
from __future__ import annotations

import socket
import time
import uuid
from typing import Any
from unittest import mock

from azure.mgmt.resource.resources import ResourceManagementClient

from occo.util.nodes import NodeState

from occo.resourcehandler.azure import ids, network
from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.aci import launch
from occo.resourcehandler.azure.aci import testing as acifake
from occo.resourcehandler.azure.fakenetwork import NETWORK_TYPE
from occo.resourcehandler.base import (INFRA_TAG, NODE_TAG, OWNER_TAG, Instance, PermanentError,
                                       ResourceStatus, TransientError)

from .azure_aci_support import COMMAND, ENVIRONMENT, OWNER, FakeAciCase

DEADLINE = 10.0
LONG = 3600.0           # seconds of a boot or delete a test finishes with `cloud.advance`


def port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1.0):
            return True
    except OSError:
        return False


class AciCase(FakeAciCase):

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.aci_handler()
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def create(self, node_id: str | None = None, *, name: str = "web",
               contextualisation: dict[str, Any] | None = None, **resource: Any) -> Instance:
        node = self.aci_node(self.infra_id, node_id or uuid.uuid4().hex, name=name,
                             contextualisation=contextualisation, **resource)
        [made] = self.handler.create_nodes([node])
        self.assertIsInstance(made, Instance, made)
        assert isinstance(made, Instance)
        self.addCleanup(self.handler.drop_node, made)
        return made

    def body(self, instance: Instance) -> dict[str, Any]:
        """The container group as the fake holds it."""
        group = self.cloud.resource(instance.instance_id)
        assert group is not None, instance
        return group.body

    def container(self, instance: Instance) -> dict[str, Any]:
        [container] = self.body(instance)["properties"]["containers"]
        return container

    def wait_state(self, instance: Instance, wanted: NodeState) -> ResourceStatus:
        deadline = time.monotonic() + DEADLINE
        while True:
            [status] = self.handler.get_states([instance])
            if status.state is wanted:
                return status
            self.assertLess(time.monotonic(), deadline, f"not {wanted.value}: {status}")
            time.sleep(0.05)

    def networks(self) -> list[str]:
        return sorted(network.name for network in self.cloud.resources(NETWORK_TYPE))

    def retag(self, instance: Instance, tag: str, value: str) -> None:
        """Change a tag of the group in the fake, as someone might by hand; put back before
        the test's drop."""
        tags = self.body(instance)["tags"]
        self.addCleanup(tags.__setitem__, tag, tags[tag])
        tags[tag] = value


class CreateTest(AciCase):

    def test_a_public_group_is_made_as_the_section_says_with_its_owners(self) -> None:
        node_id = uuid.uuid4().hex
        instance = self.create(node_id, name="nginx_server", ports=[80, "53/udp"],
                               location="West Europe")
        body = self.body(instance)
        name = f"occopus-{node_id}"
        self.assertEqual(body["name"], name)
        self.assertEqual(body["tags"], {INFRA_TAG: self.infra_id, NODE_TAG: node_id,
                                        OWNER_TAG: OWNER})
        self.assertEqual(body["properties"]["osType"], "Linux")
        container = self.container(instance)
        fqdn = f"{name}.westeurope.azurecontainer.io"
        self.assertEqual(container["name"], "nginx-server")
        self.assertEqual(container["properties"]["image"], "nginx:alpine")
        self.assertEqual(container["properties"]["resources"],
                         {"requests": {"cpu": 1.0, "memoryInGB": 1.5}})
        ports = [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]
        self.assertEqual(container["properties"]["ports"], ports)
        self.assertEqual(container["properties"]["command"], COMMAND)
        self.assertEqual(container["properties"]["environmentVariables"], [
            {"name": "message", "secureValue": ENVIRONMENT[0].split("=", 1)[1]},
            {"name": "_OCCOPUS_ALLOCATED_FQDN", "secureValue": fqdn}])
        address = body["properties"]["ipAddress"]
        self.assertEqual((address["type"], address["dnsNameLabel"], address["ports"],
                          address["fqdn"]), ("Public", name, ports, fqdn))
        self.assertNotIn("subnetIds", body["properties"])

    def test_a_missing_resource_group_is_made_in_the_location_and_kept_after_drop(self) -> None:
        group = f"occopus-new-{uuid.uuid4().hex[:6]}"
        self.assertNotIn(group, self.cloud.group_names())
        instance = self.create(resource_group=group, location="northeurope",
                               network_type="Private")
        self.assertIn(group, self.cloud.group_names())
        made = self.handler.session.client(ResourceManagementClient).resource_groups.get(group)
        self.assertEqual(made.location, "northeurope")
        self.assertEqual(self.body(instance)["location"], "northeurope")
        self.handler.drop_node(instance)
        self.assertEqual(self.cloud.resources(), [])
        self.assertIn(group, self.cloud.group_names())

    def test_a_private_group_joins_the_infrastructures_delegated_subnet(self) -> None:
        instance = self.create(network_type="private", ports=[8080])
        properties = self.body(instance)["properties"]
        network = f"occopus-{self.infra_id}"
        self.assertEqual(properties["subnetIds"], [{"id": fake.resource_id(
            fake.RESOURCE_GROUP, "Microsoft.Network", "virtualNetworks", network, "subnets",
            "aci")}])
        self.assertEqual(properties["ipAddress"]["type"], "Private")
        self.assertNotIn("dnsNameLabel", properties["ipAddress"])
        names = [item["name"] for item in self.container(instance)["properties"][
            "environmentVariables"]]
        self.assertNotIn(launch.FQDN_VARIABLE, names)
        self.assertEqual(self.networks(), [network])
        self.assertEqual(instance.data["network"], network)

    def test_a_private_group_in_a_named_network_uses_it_and_leaves_it(self) -> None:
        made = self.create(network_type="Private")      # the infrastructure's network
        network = f"occopus-{self.infra_id}"
        instance = self.create(network_type="Private", vnet_name=network)
        self.assertEqual(self.body(instance)["properties"]["subnetIds"],
                         self.body(made)["properties"]["subnetIds"])
        self.assertIsNone(instance.data["network"])
        self.handler.drop_node(instance)
        self.assertEqual(self.networks(), [network])

    def test_a_gpu_a_command_string_and_a_mapping_environment(self) -> None:
        instance = self.create(gpu_type="v100", gpu_count=2, contextualisation={
            "type": "docker", "env": {"A": "1", "B": None},
            "command": "sh -c 'echo \"hello world\"; sleep 1000'"})
        properties = self.container(instance)["properties"]
        self.assertEqual(properties["resources"]["requests"]["gpu"], {"count": 2, "sku": "V100"})
        self.assertEqual(properties["command"], ["sh", "-c", 'echo "hello world"; sleep 1000'])
        self.assertEqual(properties["environmentVariables"][:2],
                         [{"name": "A", "secureValue": "1"}, {"name": "B", "secureValue": ""}])

    def test_the_environment_is_sent_as_secure_values_azure_never_answers_back(self) -> None:
        token = "tok-0123456789abcdef"
        instance = self.create(contextualisation={"type": "docker", "env": [f"TOKEN={token}"]})
        place = ids.parse(instance.instance_id)
        assert place is not None
        read = self.handler._containers.container_groups.get(place.group, place.name)
        [variable] = [item for item in read.containers[0].environment_variables
                      if item.name == "TOKEN"]
        self.assertEqual((variable.value, variable.secure_value), (None, None))
        request = launch.request_of(self.aci_node(self.infra_id, "n", contextualisation={
            "type": "docker", "env": [f"TOKEN={token}"]}), "[x]")
        self.assertNotIn(token, repr(request))

    def test_without_a_docker_contextualisation_the_image_runs_its_own_command(self) -> None:
        instance = self.create(contextualisation={"type": "cloudinit"})
        properties = self.container(instance)["properties"]
        self.assertNotIn("command", properties)
        self.assertEqual([item["name"] for item in properties["environmentVariables"]],
                         [launch.FQDN_VARIABLE])

    def test_without_ports_a_group_has_no_address(self) -> None:
        instance = self.create(ports=None)
        self.assertNotIn("ipAddress", self.body(instance)["properties"])
        self.assertEqual(self.wait_state(instance, NodeState.READY).addresses, ())

    def test_a_node_id_a_name_cannot_hold_gets_a_safe_name_of_its_own(self) -> None:
        web = uuid.uuid4().hex[:8]
        node_ids = [f"{web}/Node_1 of 2", f"{web}/node--1:of:2", f"{web}-" + "x" * 80]
        names = [self.body(self.create(node_id))["name"] for node_id in node_ids]
        self.assertEqual(len(set(names)), 3)
        for name in names:
            self.assertRegex(name, r"^occopus-[a-z0-9]+(-[a-z0-9]+)*-[0-9a-f]{16}$")
            self.assertLessEqual(len(name), 63)
        self.assertEqual(sorted(i.node_id for i in self.handler.list_owned(self.infra_id)),
                         sorted(node_ids))

    def test_a_create_repeated_by_a_new_handler_finds_the_group_made_before(self) -> None:
        """After a crash or a lost answer the engine asks again, from a new handler: the group
        of the node's name and tag is answered, not made twice."""
        node = self.aci_node(self.infra_id, uuid.uuid4().hex, network_type="Private")
        first = self.create(node.node_id, network_type="Private")
        puts = self.calls("PUT", "")
        [again] = self.aci_handler().create_nodes([node])
        self.assertEqual(again, first)
        self.assertEqual(self.calls("PUT", ""), puts)
        self.assertEqual(len(self.groups_of(self.infra_id)), 1)

    def test_a_group_of_the_name_that_is_not_the_nodes_is_not_taken(self) -> None:
        """Neither one of another node nor one of another infrastructure (both tags count)."""
        for tag in (NODE_TAG, INFRA_TAG):
            with self.subTest(tag=tag):
                node_id = uuid.uuid4().hex
                instance = self.create(node_id)
                self.retag(instance, tag, "someone-else")
                node = self.aci_node(self.infra_id, node_id)
                [made] = self.aci_handler().create_nodes([node])
                self.assertIsInstance(made, PermanentError)
                self.assertIn(f"container group occopus-{node_id} that is not this node's",
                              made.message)
                self.assertIn("az container delete", made.hint or "")

    def test_a_create_meeting_the_network_deleted_meanwhile_is_retried_and_makes_it_again(self):
        """The infrastructure's last node dropped between the placement and the PUT: Azure
        refuses the subnet; the engine's retry makes the network again."""
        placement = network.placement

        def then_dropped(*args: Any, **kwargs: Any) -> network.Placement:
            found = placement(*args, **kwargs)
            self.handler._network.virtual_networks.begin_delete(
                fake.RESOURCE_GROUP, str(found.made_network)).result()
            return found

        node = self.aci_node(self.infra_id, uuid.uuid4().hex, network_type="Private")
        with mock.patch.object(network, "placement", then_dropped):
            [made] = self.handler.create_nodes([node])
        self.assertIsInstance(made, TransientError)
        self.assertIn("SubnetNotFound", made.message)
        self.assertEqual(self.networks(), [])
        [made] = self.handler.create_nodes([node])
        self.assertIsInstance(made, Instance)
        assert isinstance(made, Instance)
        self.addCleanup(self.handler.drop_node, made)
        self.assertEqual(len(self.groups_of(self.infra_id)), 1)
        self.assertEqual(self.networks(), [f"occopus-{self.infra_id}"])

    def test_a_refused_private_create_leaves_no_network(self) -> None:
        node = self.aci_node(self.infra_id, uuid.uuid4().hex, network_type="Private",
                             image="no-such-image")
        [made] = self.handler.create_nodes([node])
        self.assertIsInstance(made, PermanentError)
        self.assertEqual(self.networks(), [])


class StatesTest(AciCase):

    def test_a_private_group_has_its_ip_as_private_ip(self) -> None:
        instance = self.create(network_type="Private")
        status = self.wait_state(instance, NodeState.READY)
        ip = self.body(instance)["properties"]["ipAddress"]["ip"]
        self.assertEqual((status.addresses, status.private_ip), ((ip,), ip))

    def test_a_stopped_group_is_shutdown(self) -> None:
        instance = self.create()
        self.wait_state(instance, NodeState.READY)
        acifake.groups(self.cloud).stop(self.cloud, instance.instance_id)
        [status] = self.handler.get_states([instance])
        self.assertIs(status.state, NodeState.SHUTDOWN)

    def test_a_failed_group_is_failed_with_azures_words(self) -> None:
        said = "Failed to pull image \"nginx:alpine\": registry unreachable"
        acifake.groups(self.cloud).failure = ("ContainerGroupDeploymentFailed", said)
        instance = self.create()
        status = self.wait_state(instance, NodeState.FAILED)
        self.assertEqual(status.detail, said)

    def test_azures_words_of_a_failure_are_one_line_without_the_client_secret(self) -> None:
        said = f"Failed to pull image:\nlogin with {fake.CLIENT_SECRET} refused"
        acifake.groups(self.cloud).failure = ("ContainerGroupDeploymentFailed", said)
        status = self.wait_state(self.create(), NodeState.FAILED)
        self.assertNotIn(fake.CLIENT_SECRET, status.detail or "")
        self.assertNotIn("\n", status.detail or "")
        self.assertIn("Failed to pull image: login with", status.detail or "")

    def test_a_group_gone_or_in_a_resource_group_gone_is_shutdown(self) -> None:
        missing = Instance(self.infra_id, "n", fake.resource_id(
            "no-such-group", "Microsoft.ContainerInstance", "containerGroups", "occopus-n"))
        not_azure = Instance(self.infra_id, "m", "not-an-azure-id")
        self.assertEqual([status.state for status in self.handler.get_states(
            [missing, not_azure])], [NodeState.SHUTDOWN] * 2)

    def test_the_originals_state_names_are_mapped_as_it_did_and_unknown_ones_unknown(self):
        expected = {"Pending": "pending", "Creating": "pending", "Succeeded": "ready",
                    "Failed": "failed", "Deleting": "shutdown"}
        self.assertEqual({name: self.handler.map_state(name).value for name in expected},
                         expected)
        self.assertIs(self.handler.map_state("Repairing"), NodeState.UNKNOWN)


class BootingTest(AciCase):
    """Groups that boot for an hour, unless the test moves the fake's clock on: seen booting
    on a busy machine too."""

    BOOT_SECONDS = LONG

    def reads(self, names: list[str]) -> int:
        """The reads of these container groups the fake answered."""
        return sum(self.calls("GET", f"/{name}") for name in names)

    def test_a_booting_group_is_pending_then_ready_at_its_ip_then_its_dns_name(self) -> None:
        instance = self.create()
        [first] = self.handler.get_states([instance])
        self.assertIs(first.state, NodeState.PENDING)
        self.cloud.advance(LONG)
        status = self.wait_state(instance, NodeState.READY)
        address = self.body(instance)["properties"]["ipAddress"]
        self.assertEqual(status.addresses, (address["ip"], address["fqdn"]))
        self.assertTrue(address["ip"].startswith("127.93."))
        self.assertIsNone(status.private_ip)

    def test_the_states_of_a_batch_take_one_list_and_a_read_per_group_running(self) -> None:
        booting = [self.create() for _ in range(3)]
        names = [instance.instance_id.rsplit("/", 1)[1] for instance in booting]
        lists, reads = self.calls("GET", "/containerGroups"), self.reads(names)
        self.assertEqual({status.state for status in self.handler.get_states(booting)},
                         {NodeState.PENDING})
        self.assertEqual(self.calls("GET", "/containerGroups") - lists, 1)
        self.assertEqual(self.reads(names), reads,
                         "a group still provisioning is known from the list alone")
        self.cloud.advance(LONG)
        for instance in booting:
            self.wait_state(instance, NodeState.READY)
        lists, reads = self.calls("GET", "/containerGroups"), self.reads(names)
        self.assertEqual({status.state for status in self.handler.get_states(booting)},
                         {NodeState.READY})
        self.assertEqual(self.calls("GET", "/containerGroups") - lists, 1)
        self.assertEqual(self.reads(names) - reads, 3,
                         "the list has no instance views: each running group is read")

    def test_a_running_groups_tcp_ports_accept_connections_until_it_is_dropped(self) -> None:
        instance = self.create(ports=[80, 8080, "53/UDP"])
        ip = self.body(instance)["properties"]["ipAddress"]["ip"]
        self.assertFalse(port_open(ip, 80), "nothing listens while the group boots")
        self.cloud.advance(LONG)
        self.wait_state(instance, NodeState.READY)
        self.assertTrue(port_open(ip, 80) and port_open(ip, 8080))
        self.handler.drop_node(instance)
        self.assertFalse(port_open(ip, 80) or port_open(ip, 8080))


class DropTest(AciCase):
    DELETE_SECONDS = 1.0

    def test_a_drop_waits_until_azure_has_deleted_the_group(self) -> None:
        instance = self.create()
        self.handler.drop_node(instance)
        self.assertIsNone(self.cloud.resource(instance.instance_id))
        self.assertEqual(self.handler.list_owned(self.infra_id), [])

    def test_the_last_private_nodes_drop_deletes_the_infrastructures_network(self) -> None:
        first, second = (self.create(network_type="Private") for _ in range(2))
        self.handler.drop_node(first)
        self.assertEqual(self.networks(), [f"occopus-{self.infra_id}"])
        self.handler.drop_node(second)
        self.assertEqual(self.networks(), [])
        self.assertEqual(self.cloud.resources(), [])
        self.handler.drop_node(second)      # gone: still a success

    def test_a_group_of_the_name_not_tagged_for_the_node_is_left_with_a_warning(self) -> None:
        instance = self.create()
        self.retag(instance, NODE_TAG, "someone-else")
        with self.assertLogs("occo.resourcehandler.azure.aci", "WARNING") as logged:
            self.handler.drop_node(instance)
        self.assertIn("not this node's", logged.output[0])
        self.assertIsNotNone(self.cloud.resource(instance.instance_id))

    def test_a_delete_whose_operation_fails_in_azure_is_transient_then_retried(self) -> None:
        """Azure took the delete, then failed it: the poll answers 200, the code says why."""
        instance = self.create()
        self.cloud.fail_next_operation("InternalServerError", "Something went wrong.",
                                       method="DELETE", path="*/containerGroups/*")
        with self.assertRaises(TransientError) as raised:
            self.handler.drop_node(instance)
        self.assertIn("the operation failed with InternalServerError: Something went wrong.",
                      raised.exception.message)
        self.assertEqual(len(self.groups_of(self.infra_id)), 1)
        self.handler.drop_node(instance)
        self.assertEqual(self.groups_of(self.infra_id), [])

    def test_a_network_still_used_is_kept_when_azure_says_so_through_the_operation(self) -> None:
        first, second = (self.create(network_type="Private") for _ in range(2))
        self.cloud.fail_next_operation("InUseSubnetCannotBeDeleted", "Subnet aci is in use.",
                                       method="DELETE", path="*/virtualNetworks/*")
        self.handler.drop_node(first)
        self.assertEqual(self.networks(), [f"occopus-{self.infra_id}"])
        self.handler.drop_node(second)
        self.assertEqual(self.cloud.resources(), [])

    def test_a_network_left_by_an_interrupted_drop_goes_with_the_next_drop(self) -> None:
        instance = self.create(network_type="Private")
        self.cloud.fail_next(503, "try later", method="DELETE", path="*/virtualNetworks/*")
        with self.assertRaises(TransientError):
            self.handler.drop_node(instance)
        self.assertEqual(self.groups_of(self.infra_id), [])
        self.handler.drop_node(instance)
        self.assertEqual(self.cloud.resources(), [])


class OwnedTest(AciCase):

    def test_list_owned_finds_the_groups_of_the_infrastructure_in_any_resource_group(self):
        other_group = "occopus-other-tests"
        self.cloud.account.groups[other_group] = fake.LOCATION
        self.addCleanup(self.cloud.account.groups.pop, other_group)
        self.cloud.clear()
        here = self.create(network_type="Private")
        there = self.create(resource_group=other_group)
        self.create(network_type="Public")
        found = {instance.instance_id: instance for instance in
                 self.aci_handler().list_owned(self.infra_id)}
        self.assertEqual(len(found), 3)
        self.assertEqual(found[here.instance_id], here)
        self.assertEqual(found[there.instance_id], there)

    def test_a_group_marked_by_hand_without_a_node_id_is_left_alone(self) -> None:
        instance = self.create()
        self.body(instance)["tags"].pop(NODE_TAG)
        with self.assertLogs("occo.resourcehandler.azure.aci", "WARNING") as logged:
            self.assertEqual(self.handler.list_owned(self.infra_id), [])
        self.assertIn("left alone", logged.output[0])


class NamesTest(FakeAciCase):

    def test_names_azure_takes_are_kept_and_others_made_safe(self) -> None:
        self.assertEqual(launch.group_name("3f2a-11"), "occopus-3f2a-11")
        self.assertEqual(launch.safe_name("nginx-server"), "nginx-server")
        self.assertEqual(launch.safe_name("Nginx_Server"), "nginx-server")
        self.assertEqual(launch.safe_name("__"), "container")

    def test_ports_are_read_as_users_write_them(self) -> None:
        self.assertEqual(launch.ports_of([80, "8080/tcp", " 53/UDP ", 80], "[x]"),
                         (launch.GroupPort(80), launch.GroupPort(8080),
                          launch.GroupPort(53, "UDP")))
        self.assertEqual(launch.ports_of(443, "[x]"), (launch.GroupPort(443),))
        self.assertEqual(launch.ports_of(None, "[x]"), ())
