"""Libcloud handlers for tests: the OpenStack driver pointed at the fake OpenStack
(`nova.testing.FakeOpenStack`), and Libcloud's own Dummy driver."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.anydriver.handler import LibcloudHandler
from occo.resourcehandler.nova import testing as fake

from .nova_support import CONTEXT, FakeOpenStackCase

OPENSTACK_CREDENTIALS = {"key": fake.USER["username"], "secret": fake.USER["password"]}
DUMMY_CREDENTIALS = {"key": "0"}        # the Dummy driver's `creds`: its two sample nodes


def dummy_resource(**overrides: Any) -> dict[str, Any]:
    return {"type": "libcloud", "driver": "dummy", "image": "1", "size": "Small", **overrides}


def node_of(resource: Mapping[str, Any], infra_id: str, node_id: str, *,
            context: str | None = None) -> ResolvedNode:
    return ResolvedNode(infra_id, f"{infra_id}-name", "tester@example.org", node_id, "web",
                        dict(resource), context=context)


class LibcloudOpenStackCase(FakeOpenStackCase):
    """The fake OpenStack per class; `libcloud_handler` reaches it through Libcloud."""

    def libcloud_resource(self, **overrides: Any) -> dict[str, Any]:
        return {"type": "libcloud", "driver": "openstack", "image": fake.IMAGE_ID,
                "size": fake.FLAVORS["1"][0],
                "driver_args": {"ex_force_auth_url": self.cloud.auth_url,
                                "ex_force_auth_version": "3.x_password",
                                "ex_tenant_name": fake.PROJECT_NAME,
                                "ex_domain_name": "Default"}, **overrides}

    def libcloud_handler(self, credentials: Mapping[str, Any] = OPENSTACK_CREDENTIALS,
                         **resource: Any) -> LibcloudHandler:
        handler = LibcloudHandler.for_section(self.libcloud_resource(**resource), credentials)
        self.addCleanup(handler.close)
        return handler

    def libcloud_node(self, infra_id: str, node_id: str, *, context: str | None = CONTEXT,
                      **resource: Any) -> ResolvedNode:
        return node_of(self.libcloud_resource(**resource), infra_id, node_id, context=context)
