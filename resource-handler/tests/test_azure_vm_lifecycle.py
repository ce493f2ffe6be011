"""What the azure_vm plugin makes, finds, reports and removes, seen from FakeAzure."""
from __future__ import annotations

import base64
import threading
import time
import unittest
import uuid
from collections.abc import Callable
from typing import Any
from unittest import mock

from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import VirtualMachine

from occo.util.nodes import NodeState

from occo.resourcehandler.azure import network
from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.vm import testing as vmfake
from occo.resourcehandler.azure.vm.handler import AzureVmHandler, _Addresses
from occo.resourcehandler.azure.vm.launch import launch_of
from occo.resourcehandler.base import (INFRA_TAG, NODE_TAG, OWNER_TAG, Instance, PermanentError,
                                       ResourceStatus, TransientError)

from .azure_vm_support import CONTEXT, OWNER, SSH_KEY, FakeAzureVmCase

DEADLINE = 10.0
LONG = 3600.0               # a boot or a delete that never ends unless a test moves the clock
WAIT = "occo.resourcehandler.azure.vm.handler"      # where the handler's waits are read


class AzureVmCase(FakeAzureVmCase):

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.vm_handler()
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def create(self, node_id: str | None = None, **resource: object) -> Instance:
        node = self.vm_node(self.infra_id, node_id, **resource)
        [made] = self.handler.create_nodes([node])
        self.assertIsInstance(made, Instance, made)
        assert isinstance(made, Instance)
        self.addCleanup(self.handler.drop_node, made)
        return made

    def status(self, instance: Instance) -> ResourceStatus:
        [status] = self.handler.get_states([instance])
        return status

    def wait_for(self, instance: Instance, state: NodeState) -> ResourceStatus:
        deadline = time.monotonic() + DEADLINE
        while (status := self.status(instance)).state is not state:
            self.assertLess(time.monotonic(), deadline, f"not {state}: {status}")
            time.sleep(0.05)
        return status

    def slow(self, type_name: str, **seconds: float) -> None:
        """Make the fake's resources of a type take `create_seconds` or `delete_seconds`
        (e.g. LONG) for the test; what is still under way at its end is done then (before
        the drops at cleanup)."""
        self.addCleanup(self.cloud.advance, 10 * LONG)
        kind = self.cloud.kinds[type_name.lower()]
        for name, value in seconds.items():
            patcher = mock.patch.object(kind, name, value)
            patcher.start()
            self.addCleanup(patcher.stop)

    def within_deadline(self, call: Callable[[], Any]) -> Any:
        """`call()`'s answer; a failure if it still waits at the deadline (the fake's clock is
        then moved on to free it)."""
        answer: list[Any] = []
        raised: list[BaseException] = []

        def work() -> None:
            try:
                answer.append(call())
            except BaseException as error:      # raised again in the test's thread
                raised.append(error)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(DEADLINE)
        if worker.is_alive():
            self.cloud.advance(10 * LONG)
            worker.join(DEADLINE)
            self.fail("still waiting for Azure at the deadline")
        if raised:
            raise raised[0]
        return answer[0]

    def network_of(self, nic: Any) -> str:
        [configuration] = nic.properties["ipConfigurations"]
        return configuration["properties"]["subnet"]["id"]

    def make_user_network(self) -> str:
        """A virtual network of the user's, with a subnet `apps`; its subnet's id."""
        client_network = fake.resource_id(fake.RESOURCE_GROUP, "Microsoft.Network",
                                          "virtualNetworks", "users-vnet")
        self.cloud.put_child(client_network, {
            "location": fake.LOCATION,
            "properties": {"addressSpace": {"addressPrefixes": ["10.9.0.0/16"]},
                           "subnets": [{"name": "apps",
                                        "properties": {"addressPrefix": "10.9.1.0/24"}}]}})
        return f"{client_network}/subnets/apps"


class CreateTest(AzureVmCase):

    def test_the_vm_is_made_as_the_section_says_with_custom_data_and_ownership(self) -> None:
        node_id = uuid.uuid4().hex
        instance = self.create(node_id)
        body = self.vm_body(instance)
        name = f"occopus-{node_id}"
        self.assertEqual(body["name"], name)
        self.assertEqual(body["location"], fake.LOCATION)
        tags = {INFRA_TAG: self.infra_id, NODE_TAG: node_id, OWNER_TAG: OWNER}
        self.assertEqual(body["tags"], tags)
        properties = body["properties"]
        self.assertEqual(properties["hardwareProfile"], {"vmSize": "Standard_B1s"})
        self.assertEqual(properties["storageProfile"]["imageReference"], {
            "publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy",
            "sku": "22_04-lts-gen2", "version": "latest"})
        os_disk = properties["storageProfile"]["osDisk"]
        self.assertEqual((os_disk["name"], os_disk["createOption"], os_disk["deleteOption"]),
                         (f"{name}-osdisk", "FromImage", "Delete"))
        profile = properties["osProfile"]
        self.assertEqual((profile["computerName"], profile["adminUsername"],
                          profile["adminPassword"]), (name, "azureuser", vmfake.ADMIN_PASSWORD))
        self.assertNotIn("linuxConfiguration", profile)
        self.assertEqual(base64.b64decode(profile["customData"]).decode(), CONTEXT)
        [nic] = self.of_node(node_id, vmfake.NIC_TYPE)
        self.assertEqual(nic.name, f"{name}-nic")
        self.assertEqual(nic.tags, tags)
        self.assertEqual(properties["networkProfile"]["networkInterfaces"], [
            {"id": nic.id, "properties": {"primary": True, "deleteOption": "Delete"}}])
        self.assertEqual(self.network_of(nic), fake.resource_id(
            fake.RESOURCE_GROUP, "Microsoft.Network", "virtualNetworks",
            f"occopus-{self.infra_id}", "subnets", "default"))
        self.assertEqual(self.of_node(node_id, vmfake.IP_TYPE), [], "no public IP unasked")
        self.assertEqual(dict(instance.data), {
            "resource_group": fake.RESOURCE_GROUP, "vm": name, "nic": f"{name}-nic",
            "public_ip": None, "network": f"occopus-{self.infra_id}"})

    def test_server_name_names_the_vm_and_a_host_name_azure_takes(self) -> None:
        body = self.vm_body(self.create(server_name="web_1.node"))
        self.assertEqual(body["name"], "web_1.node")
        self.assertEqual(body["properties"]["osProfile"]["computerName"], "web-1-node")

    def test_an_ssh_key_turns_password_sign_in_off(self) -> None:
        profile = self.vm_body(self.create(password=None, ssh_key_data=SSH_KEY))[
            "properties"]["osProfile"]
        self.assertNotIn("adminPassword", profile)
        self.assertEqual(profile["linuxConfiguration"], {
            "disablePasswordAuthentication": True,
            "ssh": {"publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys",
                                    "keyData": SSH_KEY}]}})

    def test_customdata_stands_in_for_a_node_without_context(self) -> None:
        node = self.vm_node(self.infra_id, context=None, customdata="#!/bin/sh\necho hi\n")
        [made] = self.handler.create_nodes([node])
        assert isinstance(made, Instance)
        self.addCleanup(self.handler.drop_node, made)
        self.assertEqual(base64.b64decode(self.vm_body(made)["properties"]["osProfile"][
            "customData"]).decode(), "#!/bin/sh\necho hi\n")

    def test_a_public_ip_is_a_static_standard_one_tagged_for_the_node(self) -> None:
        node_id = uuid.uuid4().hex
        instance = self.create(node_id, public_ip_needed="True")
        [ip] = self.of_node(node_id, vmfake.IP_TYPE)
        [nic] = self.of_node(node_id, vmfake.NIC_TYPE)
        self.assertEqual(ip.name, f"occopus-{node_id}-ip")
        self.assertEqual((ip.body["sku"], ip.properties["publicIPAllocationMethod"]),
                         ({"name": "Standard"}, "Static"))
        self.assertEqual(ip.tags[NODE_TAG], node_id)
        [configuration] = nic.properties["ipConfigurations"]
        self.assertEqual(configuration["properties"]["publicIPAddress"], {"id": ip.id})
        status = self.wait_for(instance, NodeState.READY)
        private = configuration["properties"]["privateIPAddress"]
        self.assertEqual(status.addresses, (ip.properties["ipAddress"], private))
        self.assertEqual(status.private_ip, private)

    def test_the_resource_group_is_made_in_the_location_when_absent_and_kept(self) -> None:
        group = f"occopus-new-{uuid.uuid4().hex[:6]}"
        instance = self.create(resource_group=group, location="northeurope")
        self.assertIn(group, self.cloud.group_names())
        self.assertEqual(self.vm_body(instance)["location"], "northeurope")
        self.handler.drop_node(instance)
        self.assertIn(group, self.cloud.group_names())
        self.assertEqual(self.left(), [])

    def test_creating_again_reads_the_vm_and_sends_no_second_put(self) -> None:
        """Azure refuses a PUT that changes a VM's OS profile: a node made before is
        answered as it is, whatever handler asks (the engine after a crash)."""
        node = self.vm_node(self.infra_id)
        [first] = self.handler.create_nodes([node])
        assert isinstance(first, Instance)
        self.addCleanup(self.handler.drop_node, first)
        before = len(self.cloud.calls)
        [again] = self.vm_handler().create_nodes([node])
        self.assertEqual(again, first)
        self.assertEqual([call for call in self.cloud.calls[before:] if call[0] == "PUT"], [])

    def test_a_crash_between_the_interface_and_the_vm_leaves_no_orphan(self) -> None:
        node_id = uuid.uuid4().hex
        node = self.vm_node(self.infra_id, node_id, public_ip_needed=True)
        self.cloud.fail_next(503, "The service is unavailable.", method="PUT",
                             path="*/virtualMachines/*")
        [cut_short] = self.handler.create_nodes([node])
        self.assertIsInstance(cut_short, TransientError)
        # a new handler (the engine after a crash) finds the node by its interface and IP
        [found] = self.vm_handler().list_owned(self.infra_id)
        self.assertEqual((found.node_id, found.data["nic"], found.data["public_ip"]),
                         (node_id, f"occopus-{node_id}-nic", f"occopus-{node_id}-ip"))
        self.assertIs(self.status(found).state, NodeState.SHUTDOWN)
        self.handler.drop_node(found)
        self.assertEqual(self.left(), [])

    def test_recovery_finishes_a_create_cut_short_with_the_parts_made(self) -> None:
        node_id = uuid.uuid4().hex
        node = self.vm_node(self.infra_id, node_id)
        self.cloud.fail_next(503, "The service is unavailable.", method="PUT",
                             path="*/virtualMachines/*")
        self.handler.create_nodes([node])
        [nic] = self.of_node(node_id, vmfake.NIC_TYPE)
        [found] = self.handler.list_owned(self.infra_id)
        [made] = self.vm_handler().create_nodes([node])
        assert isinstance(made, Instance)
        self.addCleanup(self.handler.drop_node, made)
        self.assertEqual(made.instance_id, found.instance_id)
        self.assertEqual([item.id for item in self.of_node(node_id, vmfake.NIC_TYPE)], [nic.id])
        self.wait_for(made, NodeState.READY)

    def test_an_interface_still_being_made_after_the_wait_is_transient_then_taken(self) -> None:
        self.slow(vmfake.NIC_TYPE, create_seconds=LONG)
        node_id = uuid.uuid4().hex
        node = self.vm_node(self.infra_id, node_id)
        with mock.patch(f"{WAIT}.CREATE_WAIT", 0.2):
            [first] = self.within_deadline(lambda: self.handler.create_nodes([node]))
        self.assertIsInstance(first, TransientError)
        self.assertIn(f"creating network interface occopus-{node_id}-nic: not done after",
                      first.message)
        self.assertEqual(self.of_node(node_id, vmfake.VM_TYPE), [])
        self.cloud.advance(LONG)
        [made] = self.handler.create_nodes([node])
        assert isinstance(made, Instance), made
        self.addCleanup(self.handler.drop_node, made)
        self.assertEqual(len(self.of_node(node_id, vmfake.NIC_TYPE)), 1)

    def test_a_part_whose_operation_failed_is_put_again_by_the_retry(self) -> None:
        """A failed operation of Azure's own (a server error) is transient; the retry must not
        attach the interface or address it left Failed."""
        node_id = uuid.uuid4().hex
        node = self.vm_node(self.infra_id, node_id, public_ip_needed=True)
        for part in ("publicIPAddresses", "networkInterfaces"):
            with self.subTest(part=part):
                self.cloud.fail_next_operation("InternalServerError", method="PUT",
                                               path=f"*/{part}/*")
                [failed] = self.handler.create_nodes([node])
                self.assertIsInstance(failed, TransientError)
        [made] = self.handler.create_nodes([node])
        assert isinstance(made, Instance), made
        self.addCleanup(self.handler.drop_node, made)
        puts = [path for method, path in self.cloud.calls if method == "PUT" and node_id in path]
        self.assertEqual(sum("/networkInterfaces/" in path for path in puts), 2)
        self.assertEqual(sum("/publicIPAddresses/" in path for path in puts), 2)
        for type_name in (vmfake.NIC_TYPE, vmfake.IP_TYPE):
            [part] = self.of_node(node_id, type_name)
            self.assertEqual(part.provisioning_state(self.cloud.now()), "Succeeded")

    def test_the_launch_never_shows_the_password_nor_the_custom_data(self) -> None:
        launch = launch_of(self.vm_node(self.infra_id), "[test]")
        shown = repr(launch)
        self.assertIn(launch.vm_name, shown)
        for hidden in (vmfake.ADMIN_PASSWORD, str(launch.custom_data)):
            self.assertNotIn(hidden, shown)


class NetworkTest(AzureVmCase):

    def test_the_nodes_of_an_infrastructure_share_its_network_until_the_last_goes(self) -> None:
        first, second = self.create(), self.create()
        nics = self.cloud.resources(vmfake.NIC_TYPE)
        self.assertEqual({self.network_of(nic) for nic in nics}, {fake.resource_id(
            fake.RESOURCE_GROUP, "Microsoft.Network", "virtualNetworks",
            network.infra_network_name(self.infra_id), "subnets", "default")})
        self.handler.drop_node(first)
        self.assertEqual(len(self.cloud.resources("Microsoft.Network/virtualNetworks")), 1)
        self.handler.drop_node(second)
        self.assertEqual(self.left(), [])

    def test_vnet_name_and_subnet_name_place_it_in_the_users_network_kept_after(self) -> None:
        subnet = self.make_user_network()
        node_id = uuid.uuid4().hex
        instance = self.create(node_id, vnet_name="users-vnet", subnet_name="apps")
        [nic] = self.of_node(node_id, vmfake.NIC_TYPE)
        self.assertEqual(self.network_of(nic), subnet)
        self.assertIsNone(instance.data["network"])
        self.handler.drop_node(instance)
        self.assertEqual(self.left(), ["Microsoft.Network/virtualNetworks/subnets/apps",
                                       "Microsoft.Network/virtualNetworks/users-vnet"])

    def test_an_interface_refused_for_good_leaves_no_network_nor_address(self) -> None:
        for public_ip in (None, True):
            with self.subTest(public_ip_needed=public_ip):
                self.cloud.fail_next(403, "The client does not have authorization to perform "
                                          "action 'Microsoft.Network/networkInterfaces/write'.",
                                     code="AuthorizationFailed", method="PUT",
                                     path="*/networkInterfaces/*")
                made = self.handler.create_nodes([self.vm_node(
                    self.infra_id, public_ip_needed=public_ip)])[0]
                self.assertIsInstance(made, PermanentError)
                self.assertEqual(self.left(), [])
                self.assertEqual(self.handler.list_owned(self.infra_id), [])

    def test_an_interface_refused_for_good_keeps_the_network_another_node_uses(self) -> None:
        first = self.create()
        self.cloud.fail_next(403, "Not allowed.", code="AuthorizationFailed", method="PUT",
                             path="*/networkInterfaces/*")
        made = self.handler.create_nodes([self.vm_node(self.infra_id)])[0]
        self.assertIsInstance(made, PermanentError)
        self.assertEqual(len(self.cloud.resources("Microsoft.Network/virtualNetworks")), 1)
        self.handler.drop_node(first)
        self.assertEqual(self.left(), [])

    def test_nic_name_attaches_the_users_interface_as_it_is_and_keeps_it(self) -> None:
        subnet = self.make_user_network()
        nic_id = fake.resource_id(fake.RESOURCE_GROUP, "Microsoft.Network",
                                  "networkInterfaces", "users-nic")
        self.cloud.put_child(nic_id, {"location": fake.LOCATION, "properties": {
            "ipConfigurations": [{"name": "ipconfig1",
                                  "properties": {"subnet": {"id": subnet}}}]}})
        instance = self.create(nic_name="users-nic")
        self.assertEqual(self.vm_body(instance)["properties"]["networkProfile"], {
            "networkInterfaces": [{"id": nic_id, "properties": {"primary": True,
                                                                "deleteOption": "Detach"}}]})
        self.assertEqual((instance.data["nic"], instance.data["network"]), (None, None))
        self.assertEqual(self.wait_for(instance, NodeState.READY).private_ip,
                         self.cloud.resource(nic_id).properties["ipConfigurations"][0][
                             "properties"]["privateIPAddress"])
        self.handler.drop_node(instance)
        self.assertIn("Microsoft.Network/networkInterfaces/users-nic", self.left())
        self.assertEqual(self.cloud.resources(vmfake.VM_TYPE), [])


class DropTest(AzureVmCase):
    DELETE_SECONDS = 0.5

    def test_a_drop_waits_for_the_vm_and_removes_all_it_made(self) -> None:
        instance = self.create(public_ip_needed=True)
        self.wait_for(instance, NodeState.READY)
        self.handler.drop_node(instance)
        self.assertEqual(self.left(), [])
        self.assertIs(self.status(instance).state, NodeState.SHUTDOWN)

    def test_an_os_disk_left_by_its_vm_goes_with_the_drop(self) -> None:
        instance = self.create()
        vm = self.cloud.resource(instance.instance_id)
        assert vm is not None
        vm.properties["storageProfile"]["osDisk"]["deleteOption"] = "Detach"
        self.handler.drop_node(instance)
        self.assertEqual(self.left(), [])

    def test_a_vm_not_the_nodes_is_left_alone(self) -> None:
        instance = self.create()
        stranger = Instance(self.infra_id, "another-node", instance.instance_id)
        with self.assertLogs("occo.resourcehandler.azure.vm", "WARNING") as logged:
            self.handler.drop_node(stranger)
        self.assertIn("left alone", logged.output[0])
        self.assertEqual(len(self.cloud.resources(vmfake.VM_TYPE)), 1)


class DeleteWaitTest(AzureVmCase):
    """A drop waits for a delete within a bound (`operations.DELETE_WAIT`, made short)."""

    def test_a_part_still_being_deleted_after_the_wait_is_transient_then_gone(self) -> None:
        instance = self.create(public_ip_needed=True)
        self.slow(vmfake.IP_TYPE, delete_seconds=LONG)
        with mock.patch(f"{WAIT}.DELETE_WAIT", 0.2):
            with self.assertRaises(TransientError) as raised:
                self.within_deadline(lambda: self.handler.drop_node(instance))
        self.assertIn(f"deleting the public IP address {instance.data['public_ip']}: not done "
                      "after", raised.exception.message)
        self.cloud.advance(LONG)
        self.handler.drop_node(instance)
        self.assertEqual(self.left(), [])

    def test_a_vm_still_being_deleted_after_the_wait_is_transient(self) -> None:
        instance = self.create()
        self.slow(vmfake.VM_TYPE, delete_seconds=LONG)
        with mock.patch(f"{WAIT}.DELETE_WAIT", 0.2):
            with self.assertRaises(TransientError) as raised:
                self.within_deadline(lambda: self.handler.drop_node(instance))
        self.assertIn(f"deleting the virtual machine {instance.data['vm']}: not done after",
                      raised.exception.message)
        self.cloud.advance(LONG)
        self.handler.drop_node(instance)
        self.assertEqual(self.left(), [])


class BeingDeletedTest(AzureVmCase):
    DELETE_SECONDS = LONG

    def test_a_vm_being_deleted_is_shutdown(self) -> None:
        instance = self.create()
        self.handler.session.client(ComputeManagementClient).virtual_machines.begin_delete(
            fake.RESOURCE_GROUP, instance.data["vm"], polling=False).result()
        self.assertIs(self.status(instance).state, NodeState.SHUTDOWN)
        vm = self.cloud.resource(instance.instance_id)
        self.assertIsNotNone(vm, "the VM was gone already: nothing was tested")
        assert vm is not None
        self.assertEqual(vm.provisioning_state(self.cloud.now()), "Deleting")
        self.cloud.advance(LONG)    # deleted: the drop at cleanup finds nothing to wait for


class OwnedTest(AzureVmCase):

    def test_a_vm_marked_by_hand_without_a_node_id_is_left_alone(self) -> None:
        instance = self.create()
        vm = self.cloud.resource(instance.instance_id)
        assert vm is not None
        vm.body["tags"].pop(NODE_TAG)
        for nic in self.cloud.resources(vmfake.NIC_TYPE):
            nic.body["tags"].pop(NODE_TAG)
        with self.assertLogs("occo.resourcehandler.azure.vm", "WARNING") as logged:
            self.assertEqual(self.handler.list_owned(self.infra_id), [])
        self.assertIn("left alone", logged.output[0])
        self.cloud.clear()          # the drop at cleanup leaves such a VM alone too


class StatesTest(AzureVmCase):
    BOOT_SECONDS = LONG         # booted when a test moves the fake's clock on

    def test_a_booting_vm_is_pending_then_ready_on_its_private_address(self) -> None:
        instance = self.create()
        self.assertIs(self.status(instance).state, NodeState.PENDING)
        self.cloud.advance(LONG)
        status = self.wait_for(instance, NodeState.READY)
        [nic] = self.cloud.resources(vmfake.NIC_TYPE)
        private = nic.properties["ipConfigurations"][0]["properties"]["privateIPAddress"]
        self.assertEqual((status.addresses, status.private_ip), ((private,), private))

    def test_a_failed_provisioning_is_failed_with_azures_words(self) -> None:
        said = "OS Provisioning for VM 'x' did not finish in the allotted time."
        vmfake.vm_kind(self.cloud).failure = ("OSProvisioningTimedOut", said)
        instance = self.create()
        self.cloud.advance(LONG)
        status = self.wait_for(instance, NodeState.FAILED)
        self.assertEqual(status.detail, said)

    def test_azures_words_on_a_failure_show_no_secret_on_one_line(self) -> None:
        vmfake.vm_kind(self.cloud).failure = (
            "OSProvisioningClientError", f"Provisioning failed.\nThe secret {fake.CLIENT_SECRET}"
                                         " was rejected.")
        instance = self.create()
        self.cloud.advance(LONG)
        status = self.wait_for(instance, NodeState.FAILED)
        self.assertIn("Provisioning failed. The secret", status.detail or "")
        self.assertNotIn(fake.CLIENT_SECRET, status.detail or "")

    def test_the_states_of_a_batch_read_each_vm_and_list_each_groups_addresses(self) -> None:
        instances = [self.create() for _ in range(3)]
        before = len(self.cloud.calls)
        self.assertEqual(len(self.handler.get_states(instances)), 3)
        self.assertEqual(sorted(path.rsplit("/", 1)[1] for _, path in self.cloud.calls[before:]),
                         sorted(["networkInterfaces", "publicIPAddresses",
                                 *(instance.data["vm"] for instance in instances)]))

    def test_the_fake_answers_instance_views_on_a_list_only_with_a_filter(self) -> None:
        """As Azure's VirtualMachines_List says: the handler must read them per VM."""
        self.create()
        vms = self.handler.session.client(ComputeManagementClient).virtual_machines
        with self.assertRaises(HttpResponseError) as raised:
            list(vms.list(fake.RESOURCE_GROUP, expand="instanceView"))
        self.assertEqual((raised.exception.status_code, raised.exception.error.code),
                         (400, "InvalidParameter"))
        [listed] = vms.list(fake.RESOURCE_GROUP)
        self.assertIsNone(listed.instance_view)


def vm(provisioning: str, *statuses: dict[str, str]) -> VirtualMachine:
    return VirtualMachine({"location": "westeurope", "properties": {
        "provisioningState": provisioning, "instanceView": {"statuses": list(statuses)}}})


class StateMapTest(unittest.TestCase):
    """A VM's state from its provisioning and power states, as Azure reports them."""

    def setUp(self) -> None:
        self.handler = AzureVmHandler.for_section({"type": "azure_vm",
                                                   "endpoint": fake.PUBLIC_ENDPOINT},
                                                  fake.CREDENTIALS)
        self.addCleanup(self.handler.close)

    def state(self, provisioning: str, power: str | None) -> str:
        statuses = [{"code": f"ProvisioningState/{provisioning.lower()}"}]
        if power:
            statuses.append({"code": f"PowerState/{power}"})
        return self.handler.status_of(vm(provisioning, *statuses), _Addresses({}, {})).state.value

    def test_the_originals_states_are_mapped_as_it_did(self) -> None:
        cases = {("Creating", "starting"): "pending", ("Creating", "running"): "pending",
                 ("Succeeded", "starting"): "pending", ("Succeeded", "running"): "ready",
                 ("Deleting", "running"): "shutdown", ("Succeeded", "deallocating"): "shutdown",
                 ("Succeeded", "deallocated"): "shutdown", ("Succeeded", "stopped"): "shutdown",
                 ("Succeeded", None): "pending", ("Updating", "running"): "ready"}
        self.assertEqual({case: self.state(*case) for case in cases}, cases)

    def test_a_failed_provisioning_is_failed_not_temp_failed(self) -> None:
        failed = vm("Failed", {"code": "ProvisioningState/failed/AllocationFailed",
                               "displayStatus": "Provisioning failed",
                               "message": "Allocation failed."},
                    {"code": "PowerState/running"})
        status = self.handler.status_of(failed, _Addresses({}, {}))
        self.assertEqual((status.state, status.detail), (NodeState.FAILED, "Allocation failed."))
