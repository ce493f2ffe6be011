"""The azure-aci-helloworld and azure-aci-nginx tutorials end to end, on a FAKE Azure.

There is no Azure subscription here. `FakeAzure`
(`occo.resourcehandler.azure.testing`, its container groups from
`azure.aci.testing`) is a fake of Azure's sign-in service and Resource
Manager over HTTPS, on a free loopback port in this test process, with a
certificate from a test authority: the commands trust it through
REQUESTS_CA_BUNDLE in their environment, as a user behind an inspecting proxy
does. Each test copies a tutorial from ../shared/compat/occopus-tutorials,
fills its placeholders as a user would (the fake's endpoint instead of
https://management.azure.com, its resource group and location, memory 1.5
and 1 CPU core), writes `~/.occopus/auth_data.yaml` with the service
principal, and runs the real commands (import, build, report, destroy); then
it looks at the fake.

Health checks: the helloworld node and the nginx client have `ping: False`
and no other check; the nginx server's checks port 80 on its first address,
its IP. The fake gives groups addresses on 127.93.0.0/16 (this machine's
loopback range) and listens on each TCP port of a running group: the probe
connects here and reaches no other host.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from occo.resourcehandler.azure.aci import testing as acifake
from occo.resourcehandler.azure.fakenetwork import NETWORK_TYPE
from occo.resourcehandler.azure.testing import Resource
from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG

from .azure_case import AzureTutorialCase, auth_data

OWNER = "somebody@somewhere.com"          # the tutorials' user_id
BAD_IMAGE = "alpine-no-such-image"


class AciTutorialCase(AzureTutorialCase):
    """A fake Azure of container groups (booting in a second) for the class."""

    AUTH_DATA = auth_data("azure_aci")
    FAKES = acifake

    # --- the fake cloud ------------------------------------------------------
    def groups(self, infra_id: str) -> list[Resource]:
        return [group for group in self.cloud.resources(acifake.GROUP_TYPE)
                if group.tags.get(INFRA_TAG) == infra_id]

    def cloud_node_ids(self, infra_id: str) -> list[str]:
        return [group.tags[NODE_TAG] for group in self.groups(infra_id)]

    def networks(self, infra_id: str) -> list[Resource]:
        return [network for network in self.cloud.resources(NETWORK_TYPE)
                if network.name == f"occopus-{infra_id}"]

    def assert_made_as_asked(self, infra_id: str, rows: Iterable[Mapping[str, Any]],
                             images: Mapping[str, str]) -> dict[str, Resource]:
        """One container group per row, made with the tutorial's values and tagged with the
        node, its IP first among the addresses the row shows; by node name."""
        rows = list(rows)
        found = {group.tags[NODE_TAG]: group for group in self.groups(infra_id)}
        self.assertEqual(sorted(found), sorted(row["node_id"] for row in rows))
        by_name = {}
        for row in rows:
            group = found[row["node_id"]]
            properties = group.properties
            [container] = properties["containers"]
            self.assertEqual(group.name, f"occopus-{row['node_id']}")
            self.assertEqual({key: group.tags[key] for key in (INFRA_TAG, NODE_TAG, OWNER_TAG)},
                             {INFRA_TAG: infra_id, NODE_TAG: row["node_id"], OWNER_TAG: OWNER})
            self.assertEqual((container["name"], container["properties"]["image"],
                              container["properties"]["resources"], properties["osType"]),
                             (row["node"], images[row["node"]],
                              {"requests": {"cpu": 1.0, "memoryInGB": 1.5}}, "Linux"))
            ip = properties["ipAddress"]["ip"]
            self.assertIn(ipaddress.ip_address(ip), acifake.ADDRESSES)
            self.assertEqual(row["addresses"][0], ip)
            by_name[row["node"]] = group
        return by_name

    @staticmethod
    def env_of(group: Resource) -> dict[str, str]:
        """The environment as the fake holds it (sent as secure values: Azure's answers leave
        them out)."""
        [container] = group.properties["containers"]
        return {item["name"]: item["secureValue"]
                for item in container["properties"].get("environmentVariables") or ()}

    @staticmethod
    def command_of(group: Resource) -> list[str]:
        [container] = group.properties["containers"]
        return list(container["properties"]["command"])

    def assert_nothing_left(self, infra_id: str) -> None:
        self.assertEqual(self.groups(infra_id), [])
        self.assertEqual(self.networks(infra_id), [], "the infrastructure's network was left")


class AciHelloWorldTest(AciTutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("azure-aci-helloworld")
        infra_id, rows = self.build_ready(tutorial / "infra-azure-aci-helloworld.yaml")
        self.assertEqual([row["node"] for row in rows], ["helloworld"])
        group = self.assert_made_as_asked(infra_id, rows, {"helloworld": "alpine"})["helloworld"]
        # Private: in the infrastructure's network, no DNS name
        [network] = self.networks(infra_id)
        self.assertEqual(group.properties["subnetIds"], [{"id": f"{network.id}/subnets/aci"}])
        self.assertEqual(group.properties["ipAddress"]["type"], "Private")
        self.assertEqual(rows[0]["addresses"], [group.properties["ipAddress"]["ip"]])
        self.assertEqual(self.env_of(group),
                         {"message": "Hello World! I have been created by Occopus"})
        self.assertEqual(self.command_of(group), [
            "sh", "-c", 'echo "$message" > /tmp/message.txt; while true; do sleep 1000; done'])
        self.report_and_destroy(infra_id, rows)


class AciNginxTest(AciTutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("azure-aci-nginx")
        infra_id, rows = self.build_ready(tutorial / "infra-azure-aci-nginx.yaml")
        self.assertEqual(sorted(row["node"] for row in rows), ["nginx-client", "nginx-server"])
        made = self.assert_made_as_asked(infra_id, rows, {"nginx-server": "nginx:alpine",
                                                          "nginx-client": "alpine"})
        server, client = made["nginx-server"], made["nginx-client"]
        server_row = next(row for row in rows if row["node"] == "nginx-server")
        for node, group in made.items():
            fqdn = f"{group.name}.{self.values['location']}.azurecontainer.io"
            row = next(row for row in rows if row["node"] == node)
            self.assertEqual(row["addresses"], [group.properties["ipAddress"]["ip"], fqdn])
            self.assertEqual(group.properties["ipAddress"]["dnsNameLabel"], group.name)
            self.assertEqual(self.env_of(group).get("_OCCOPUS_ALLOCATED_FQDN"), fqdn)
        # the server's health check probed port 80 on its IP: the fake listened there
        self.assertIn((server_row["addresses"][0], 80),
                      acifake.groups(self.cloud).listening(server.id))
        # the client was made once the server was ready: getip() rendered its IP
        self.assertEqual(self.command_of(client), [
            "sh", "-c", 'echo "$message" > /tmp/message.txt; wget -O /tmp/nginx_content.html '
                        f'{server_row["addresses"][0]}; while true; do sleep 1000; done'])
        self.assertEqual(self.env_of(client)["message"],
                         "Hello World! I am the client node created by Occopus.")
        self.report_and_destroy(infra_id, rows)


class AciUnknownImageTest(AciTutorialCase):
    """An image Azure cannot pull: the build fails, the node's reason naming it and quoting
    Azure, and leaves no container group and no network."""

    def test_the_build_fails_naming_the_node_and_azures_words_and_leaves_nothing(self) -> None:
        values = self.values
        tutorial = self.copy_tutorial("azure-aci-helloworld", lambda text: self.fill(
            text, values).replace("image: alpine", f"image: {BAD_IMAGE}"))
        self.run_command("occopus-import", tutorial / "nodes" / "node_definitions.yaml", code=0)
        self.assert_a_bad_value_fails_the_build(
            tutorial / "infra-azure-aci-helloworld.yaml", "helloworld",
            "creating the container group failed: 400 InaccessibleImage: The image "
            f"'{BAD_IMAGE}'", "check image")


class AciKilledBuildTest(AciTutorialCase):
    """`occopus-build` SIGKILLed while Azure boots the first container group; then one pass
    (`occopus-maintain -i ID`) finishes the build: no orphan, no duplicate."""

    def test_a_pass_after_a_kill_finishes_the_build_without_orphan_or_duplicate(self) -> None:
        tutorial = self.import_tutorial("azure-aci-nginx")
        before = {group.id for group in self.cloud.resources(acifake.GROUP_TYPE)}
        # the server's group is made and booting (the client waits for it): kill then
        self.assert_a_pass_finishes_a_killed_build(
            tutorial / "infra-azure-aci-nginx.yaml", ["nginx-client", "nginx-server"],
            lambda: {group.id for group in self.cloud.resources(acifake.GROUP_TYPE)} - before,
            "the build made a container group")
