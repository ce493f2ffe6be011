"""The virtual networks and subnets of `FakeAzure` (a FAKE of Azure, for tests).

A virtual network PUT with subnets inline makes them as its children, as
Azure does; a subnet is also put on its own. A subnet may be delegated (to
container groups); a GET of a network shows its subnets inline.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .network import NETWORK_TYPE, SUBNET_TYPE
from .testing import FakeAzure, Kind, Resource, refusal

__all__ = ["NETWORK_TYPE", "SUBNET_TYPE", "Subnets", "VirtualNetworks", "network_kinds"]


class VirtualNetworks(Kind):
    type = NETWORK_TYPE

    def check(self, fake: FakeAzure, resource_id: str, body: Mapping[str, Any]) -> None:
        prefixes = ((body.get("properties") or {}).get("addressSpace") or {}).get(
            "addressPrefixes")
        if not prefixes:
            raise refusal(400, "InvalidAddressSpace",
                          f"Virtual network {resource_id} has no address space.")

    def made(self, fake: FakeAzure, resource: Resource) -> None:
        self._put_subnets(fake, resource)

    def updated(self, fake: FakeAzure, resource: Resource, body: Mapping[str, Any]) -> None:
        super().updated(fake, resource, body)
        self._put_subnets(fake, resource)

    @staticmethod
    def _put_subnets(fake: FakeAzure, resource: Resource) -> None:
        for subnet in resource.properties.pop("subnets", None) or ():
            fake.put_child(f"{resource.id}/subnets/{subnet['name']}", subnet)

    def view(self, fake: FakeAzure, resource: Resource, query: Mapping[str, str]) -> dict[str, Any]:
        body = super().view(fake, resource, query)
        body["properties"]["subnets"] = [child.kind.view(fake, child, query)
                                         for child in fake.children(resource.id)
                                         if child.kind.type == SUBNET_TYPE]
        return body

    def deleted(self, fake: FakeAzure, resource: Resource) -> None:
        for child in fake.children(resource.id):
            fake.remove(child.id)


class Subnets(Kind):
    type = SUBNET_TYPE

    def check(self, fake: FakeAzure, resource_id: str, body: Mapping[str, Any]) -> None:
        if not (body.get("properties") or {}).get("addressPrefix"):
            raise refusal(400, "InvalidRequestFormat",
                          f"Subnet {resource_id} has no addressPrefix.")

    def view(self, fake: FakeAzure, resource: Resource, query: Mapping[str, str]) -> dict[str, Any]:
        body = super().view(fake, resource, query)
        body.pop("location", None)
        body["properties"] = copy.deepcopy(body["properties"])
        return body


def network_kinds() -> list[Kind]:
    return [VirtualNetworks(), Subnets()]
