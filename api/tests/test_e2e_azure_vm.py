"""The azure-helloworld and azure-ping tutorials end to end, on a FAKE Azure.

There is no Azure subscription here. `FakeAzure`
(`occo.resourcehandler.azure.testing`, its VMs, disks, network interfaces and
public IP addresses from `azure.vm.testing`) is a fake of Azure's sign-in
service and Resource Manager over HTTPS, on a free loopback port in this test
process, with a certificate from a test authority: the commands trust it
through REQUESTS_CA_BUNDLE in their environment, as a user behind an
inspecting proxy does. Each test copies a tutorial from
../shared/compat/occopus-tutorials, fills its placeholders as a user would
(the fake's endpoint instead of https://management.azure.com, its resource
group and location, Standard_B1s, Ubuntu 22.04 from Canonical, azureuser and
a password Azure accepts), writes `~/.occopus/auth_data.yaml` with the
service principal, and runs the real commands (import, build, report,
destroy); then it looks at the fake. VMs take a second to boot there.

Pinging the nodes. The tutorials' nodes have no `health_check`, so the
default ping goes to each node's first address, its private one (the
tutorials ask for no public IP). The fake hands out private addresses from
127.91.0.0/16, on this machine's loopback range (Linux routes all of
127.0.0.0/8 to the loopback interface): the pings are answered here and reach
no other host.
"""
from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.testing import Resource
from occo.resourcehandler.azure.vm import testing as vmfake
from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG

from .azure_case import AzureTutorialCase, auth_data

OWNER = "somebody@somewhere.com"          # the tutorials' user_id
PRIVATE = ipaddress.ip_network(vmfake.PRIVATE_RANGE)


class AzureVmTutorialCase(AzureTutorialCase):
    """A fake Azure of VMs (booting in a second) for the class. Neither the client secret nor
    the VMs' admin password is ever printed."""

    AUTH_DATA = auth_data("azure_vm")
    FAKES = vmfake
    SECRETS = (vmfake.ADMIN_PASSWORD,)

    # --- the fake cloud ------------------------------------------------------
    def vms(self, infra_id: str) -> list[Resource]:
        return [vm for vm in self.cloud.resources(vmfake.VM_TYPE)
                if vm.tags.get(INFRA_TAG) == infra_id]

    def cloud_node_ids(self, infra_id: str) -> list[str]:
        return [vm.tags[NODE_TAG] for vm in self.vms(infra_id)]

    @staticmethod
    def cloud_config(vm: Resource) -> dict[str, Any]:
        text = base64.b64decode(vm.properties["osProfile"]["customData"]).decode()
        assert text.startswith("#cloud-config\n"), text
        return dict(yaml.safe_load(text))

    def private_address(self, vm: Resource) -> str:
        [reference] = vm.properties["networkProfile"]["networkInterfaces"]
        nic = self.cloud.resource(reference["id"])
        assert nic is not None, f"{vm.name} has no network interface"
        return nic.properties["ipConfigurations"][0]["properties"]["privateIPAddress"]

    def assert_made_as_asked(self, infra_id: str,
                             rows: Iterable[Mapping[str, Any]]) -> dict[str, Resource]:
        """One VM per row, made with the tutorial's values, tagged with the node and running,
        its private address the row's first; by node name."""
        rows = list(rows)
        found = {vm.tags[NODE_TAG]: vm for vm in self.vms(infra_id)}
        self.assertEqual(sorted(found), sorted(row["node_id"] for row in rows))
        by_name = {}
        for row in rows:
            vm = found[row["node_id"]]
            properties = vm.properties
            self.assertEqual(vm.name, f"occopus-{row['node_id']}")
            self.assertEqual(vm.provisioning_state(self.cloud.now()), "Succeeded")
            self.assertEqual({key: vm.tags[key] for key in (INFRA_TAG, NODE_TAG, OWNER_TAG)},
                             {INFRA_TAG: infra_id, NODE_TAG: row["node_id"], OWNER_TAG: OWNER})
            self.assertEqual(
                (properties["hardwareProfile"]["vmSize"],
                 properties["storageProfile"]["imageReference"],
                 properties["osProfile"]["adminUsername"],
                 properties["osProfile"]["adminPassword"]),
                (self.values["vm_size"],
                 {key: self.values[key] for key in ("publisher", "offer", "sku", "version")},
                 self.values["username"], self.values["password"]))
            address = self.private_address(vm)
            self.assertIn(ipaddress.ip_address(address), PRIVATE)
            self.assertEqual(row["addresses"], [address])
            by_name[row["node"]] = vm
        return by_name

    def assert_nothing_left(self, infra_id: str) -> None:
        self.assertEqual([f"{item.kind.type}/{item.name}" for item in self.cloud.resources()],
                         [], "VMs, disks, interfaces or the infrastructure's network were left")


class AzureHelloWorldTest(AzureVmTutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("azure-helloworld")
        infra_id, rows = self.build_ready(tutorial / "infra-azure-helloworld.yaml")
        self.assertEqual([row["node"] for row in rows], ["helloworld"])
        vm = self.assert_made_as_asked(infra_id, rows)["helloworld"]
        self.assertEqual(self.cloud_config(vm), {"write_files": [{
            "content": "Hello World! I have been created by Occopus\n",
            "path": "/tmp/helloworld.txt", "permissions": "0644"}]})
        self.report_and_destroy(infra_id, rows)


class AzurePingTest(AzureVmTutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("azure-ping")
        infra_id, rows = self.build_ready(tutorial / "infra-azure-ping.yaml")
        self.assertEqual(sorted(row["node"] for row in rows), ["ping-receiver", "ping-sender"])
        made = self.assert_made_as_asked(infra_id, rows)
        receiver_row = next(row for row in rows if row["node"] == "ping-receiver")
        self.assertEqual(self.cloud_config(made["ping-receiver"]), {"write_files": [{
            "content": "Hello World! I am the receiver node created by Occopus.\n",
            "path": "/tmp/message.txt", "permissions": "0644"}]})
        # the sender was made once the receiver was ready: getip() rendered its address
        self.assertEqual(self.cloud_config(made["ping-sender"]), {
            "runcmd": [f"ping {receiver_row['addresses'][0]} -c 5 > /tmp/ping-result.txt 2>&1"],
            "write_files": [{
                "content": "Hello World! I am the sender node created by Occopus.\n",
                "path": "/tmp/message.txt", "permissions": "0644"}]})
        # both in the infrastructure's one network
        subnets = {self.cloud.resource(reference["id"]).properties["ipConfigurations"][0][
                       "properties"]["subnet"]["id"]
                   for vm in made.values()
                   for reference in vm.properties["networkProfile"]["networkInterfaces"]}
        self.assertEqual(subnets, {fake.resource_id(
            fake.RESOURCE_GROUP, "Microsoft.Network", "virtualNetworks", f"occopus-{infra_id}",
            "subnets", "default")})
        self.report_and_destroy(infra_id, rows)


class AzureUnknownImageTest(AzureVmTutorialCase):
    """An image the location does not have: the build fails, the node's reason naming it and
    quoting Azure, and leaves nothing (the network interface made for the VM is deleted)."""

    def test_the_build_fails_naming_the_node_and_the_image_and_leaves_nothing(self) -> None:
        tutorial = self.import_tutorial("azure-helloworld", offer="no-such-offer")
        self.assert_a_bad_value_fails_the_build(
            tutorial / "infra-azure-helloworld.yaml", "helloworld",
            "creating the virtual machine failed: 404 PlatformImageNotFound: The platform image "
            "'Canonical:no-such-offer:22_04-lts-gen2:latest' is not available.",
            "check publisher, offer, sku and version")


class AzureKilledBuildTest(AzureVmTutorialCase):
    """`occopus-build` SIGKILLed while Azure boots its first VM; then one pass
    (`occopus-maintain -i ID`) finishes the build: no orphan, no duplicate."""

    def test_a_pass_after_a_kill_finishes_the_build_without_orphan_or_duplicate(self) -> None:
        tutorial = self.import_tutorial("azure-ping")

        def one_interface_a_node(infra_id: str, reported: list[dict[str, Any]], _: Any) -> None:
            self.assertEqual(sorted(nic.tags[NODE_TAG]
                                    for nic in self.cloud.resources(vmfake.NIC_TYPE)),
                             sorted(row["node_id"] for row in reported))

        # the receiver's VM is made and booting (the sender waits for it): kill then
        self.assert_a_pass_finishes_a_killed_build(
            tutorial / "infra-azure-ping.yaml", ["ping-receiver", "ping-sender"],
            lambda: self.cloud.resources(vmfake.VM_TYPE), "the build made a VM",
            also=one_interface_a_node)
