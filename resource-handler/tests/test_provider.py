"""The node.resource.* keys, asked through an InfoRouter built from the installed providers."""
from __future__ import annotations

import dataclasses
import tempfile
import uuid
from pathlib import Path

from occo.infobroker.auth import AuthData
from occo.infobroker.broker import InfoRouter, load_providers
from occo.infobroker.store.sqlite import SqliteStore
from occo.util.config import Settings
from occo.util.nodes import NodeState, ResolvedNode

from occo.resourcehandler.guard import ResourceHandlers
from occo.resourcehandler.provider import InstanceRecordError, ResourceProvider
from occo.resourcehandler.simcloud.plugin import SimCloudHandler

from .simcloud_support import SimCloudCase
from .support import create_one

AUTH_FILE = """\
resource:
  - type: simcloud
    auth_data: {token: simcloud-token}
"""


class CredentialRecorder(SimCloudHandler):
    """The simcloud plugin, noting the credentials it is built with."""

    built_with: list = []

    def __init__(self, connection):
        super().__init__(connection)
        self.built_with.append(dict(connection.credentials))


class CostlessSimCloud(SimCloudHandler):
    """The simcloud plugin as a cloud that cannot tell costs."""

    capabilities = dataclasses.replace(SimCloudHandler.capabilities, costs=False)

    def get_cost(self, instance):
        raise AssertionError("a cloud that declares no costs is not asked its costs")


PLUGINS = {"simcloud": CredentialRecorder, "costless": CostlessSimCloud}


class ResourceKeysTest(SimCloudCase):
    def setUp(self) -> None:
        super().setUp()
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        auth = Path(scratch.name, "auth_data.yaml")
        auth.write_text(AUTH_FILE)
        store = SqliteStore(Path(scratch.name, "state.db"), "tester")
        self.addCleanup(store.close)
        self.handlers = ResourceHandlers(Settings(), load=PLUGINS.__getitem__)
        self.addCleanup(self.handlers.close)
        CredentialRecorder.built_with = []
        self.router = InfoRouter(load_providers(store=store, auth_data=AuthData(auth),
                                                resource_handlers=self.handlers))
        self.record = self.made(self.cloud.resource(name="sim"))

    def made(self, resource: dict) -> dict:
        """What the engine passes for a node made on `resource`: its section and instance."""
        handler = SimCloudHandler.for_section(resource)
        self.addCleanup(handler.close)
        node = ResolvedNode("infra-p", "p", "u", f"node-{uuid.uuid4().hex[:8]}", "web", resource)
        instance = create_one(handler, node)
        self.addCleanup(handler.drop_node, instance)
        return {"resource": resource, "instance": instance}

    def test_the_provider_is_registered_and_answers_its_keys(self):
        self.assertTrue({"node.resource.status", "node.resource.state", "node.resource.address",
                         "node.resource.ip_address", "node.resource.cost"}
                        <= set(self.router.keys()))
        self.assertIn(self.router.get("node.resource.state", **self.record),
                      (NodeState.PENDING, NodeState.READY))
        address = self.router.get("node.resource.ip_address", **self.record)
        self.assertRegex(address, r"^10\.\d+\.\d+\.\d+$")
        self.assertEqual(self.router.get("node.resource.address", **self.record),
                         [address])
        self.assertIsInstance(self.router.get("node.resource.cost", **self.record), float)

    def test_the_credentials_come_from_the_auth_file(self):
        self.router.get("node.resource.state", **self.record)
        self.assertEqual(CredentialRecorder.built_with, [{"token": "simcloud-token"}])

    def test_a_dropped_node_is_shutdown(self):
        handler = SimCloudHandler.for_section(self.record["resource"])
        self.addCleanup(handler.close)
        handler.drop_node(self.record["instance"])
        self.assertIs(self.router.get("node.resource.state", **self.record),
                      NodeState.SHUTDOWN)

    def test_a_state_the_cloud_cannot_tell_now_is_unknown(self):
        self.cloud.set_faults(error_rate=1.0)
        self.assertIs(self.router.get("node.resource.state", **self.record),
                      NodeState.UNKNOWN)

    def test_a_cloud_without_costs_answers_none(self):
        record = dict(self.record, resource=self.cloud.resource(type="costless"))
        self.assertIsNone(self.router.get("node.resource.cost", **record))

    def test_something_other_than_a_record_is_refused(self):
        stored = {"resource": self.record["resource"],
                  "instance": self.record["instance"].to_dict()}
        for wrong in (stored, {"resource": "simcloud", "instance": self.record["instance"]}):
            with self.subTest(wrong), self.assertRaises(InstanceRecordError):
                self.router.get("node.resource.state", **wrong)

    def test_without_an_auth_file_or_handlers_it_still_answers(self):
        provider = ResourceProvider()
        self.addCleanup(provider.handlers.close)
        router = InfoRouter([provider])
        self.assertIn(router.get("node.resource.state", **self.record),
                      (NodeState.PENDING, NodeState.READY))
