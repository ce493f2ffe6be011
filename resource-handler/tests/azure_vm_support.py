"""A FakeAzure (`azure.vm.testing.fake_azure`) per test class (`azure_support`), with
azure_vm handlers and nodes for it."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.testing import FakeAzure, Resource
from occo.resourcehandler.azure.vm import testing as vmfake
from occo.resourcehandler.azure.vm.handler import AzureVmHandler
from occo.resourcehandler.base import NODE_TAG, Instance

from .azure_support import FakeAzureCase

OWNER = "tester@example.org"
CONTEXT = "#cloud-config\nruncmd:\n  - echo hello\n"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyOfTheTestsOnly tester@example.org"


class FakeAzureVmCase(FakeAzureCase):
    """`cloud`: a fake of VMs and their parts for the class."""

    @classmethod
    def make_cloud(cls) -> FakeAzure:
        return vmfake.fake_azure(boot_seconds=cls.BOOT_SECONDS,
                                 delete_seconds=cls.DELETE_SECONDS)

    def clear_failure(self) -> None:
        vmfake.vm_kind(self.cloud).failure = None

    def resource(self, **overrides: Any) -> dict[str, Any]:
        """A resource section as the azure-helloworld tutorial has it, filled for the fake."""
        values = vmfake.tutorial_values(self.cloud)
        section = {"type": "azure_vm", **{key: values[key] for key in (
            "endpoint", "resource_group", "location", "vm_size", "publisher", "offer", "sku",
            "version", "username", "password")}}
        section.update(overrides)
        return {key: value for key, value in section.items() if value is not None}

    def vm_handler(self, credentials: Mapping[str, Any] = fake.CREDENTIALS,
                   **resource: Any) -> AzureVmHandler:
        handler = AzureVmHandler.for_section(self.resource(**resource), credentials)
        self.addCleanup(handler.close)
        return handler

    def vm_node(self, infra_id: str, node_id: str | None = None, *, name: str = "web",
                context: str | None = CONTEXT, **resource: Any) -> ResolvedNode:
        return ResolvedNode(infra_id, f"{infra_id}-name", OWNER, node_id or uuid.uuid4().hex,
                            name, self.resource(**resource), context=context)

    def left(self) -> list[str]:
        """Everything the fake holds (each test starts with nothing), as type/name."""
        return sorted(f"{resource.kind.type}/{resource.name}"
                      for resource in self.cloud.resources())

    def of_node(self, node_id: str, type_name: str) -> list[Resource]:
        """The live resources of a type tagged for a node."""
        return [resource for resource in self.cloud.resources(type_name)
                if resource.tags.get(NODE_TAG) == node_id]

    def vm_body(self, instance: Instance) -> dict[str, Any]:
        """The VM as the fake stored its create (with what Azure never answers)."""
        resource = self.cloud.resource(instance.instance_id)
        assert resource is not None, f"no VM {instance.instance_id}"
        return resource.body
