"""The local handler passes the conformance kit, with real process groups."""
from __future__ import annotations

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.local.plugin import LocalHandler
from occo.resourcehandler.local.registry import Entry, RegistryError

from occo.resourcehandler.conformance import ResourceHandlerConformance
from .test_local_support import LocalCase

# a node with a background service, so that every drop has a process group to stop
CONTEXT = "#cloud-config\nruncmd: ['sleep 300 &']\n"
PLACEHOLDERS = "placeholder-infra"    # entries that only hold addresses


class LocalConformanceTest(ResourceHandlerConformance, LocalCase):
    READY_TIMEOUT = 20.0
    ADDRESS_PREFIX = 27      # small, so that a full range is quick to make

    def make_handler(self) -> LocalHandler:
        return self.new_handler()

    def make_node(self, infra_id: str, node_id: str) -> ResolvedNode:
        return self.node(node_id, CONTEXT, infra_id=infra_id)

    def inject_fault(self, kind: str) -> bool:
        """A machine has no rate limits; a create it must refuse is one with no address left."""
        if kind != "bad_request":
            return False
        with self.new_handler().registry.locked() as registry, self.assertRaises(RegistryError):
            for index in range(256):
                node_id = f"placeholder-{index}"
                registry.put(Entry(node_id, PLACEHOLDERS, "placeholder", node_id,
                                   registry.free_address()))
        self.addCleanup(self.free_placeholders)
        return True

    def free_placeholders(self) -> None:
        with self.new_handler().registry.locked() as registry:
            for node_id, entry in list(registry.entries.items()):
                if entry.infra_id == PLACEHOLDERS:
                    registry.remove(node_id)
