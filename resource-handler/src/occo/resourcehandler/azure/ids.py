"""Azure Resource Manager's resource ids, read once for every Azure type.

An id is `/subscriptions/<s>/resourceGroups/<group>/providers/<namespace>/`
followed by types and names in turn (`virtualNetworks/<vnet>/subnets/<subnet>`
for a child). Azure ignores the case of ids and answers a group's name in
either case: types are compared without case, names are kept as written.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceId:
    """One resource's place: subscription, resource group, and its type's names and its own
    (a child's after its parent's)."""

    subscription: str
    group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def type(self) -> str:
        """e.g. Microsoft.Network/virtualNetworks/subnets."""
        return "/".join((self.namespace, *self.types))

    @property
    def name(self) -> str:
        return self.names[-1]

    def is_a(self, type_name: str) -> bool:
        return self.type.lower() == type_name.lower()


def parse(resource_id: str) -> ResourceId | None:
    """The parts of an ARM id; None for anything else."""
    segments = resource_id.strip().strip("/").split("/")
    lowered = [segment.lower() for segment in segments]
    if len(segments) < 8 or len(segments) % 2 or lowered[0] != "subscriptions" \
            or lowered[2] != "resourcegroups" or lowered[4] != "providers" \
            or not all(segments):
        return None
    rest = segments[6:]
    return ResourceId(segments[1], segments[3], segments[5], tuple(rest[0::2]),
                      tuple(rest[1::2]))


def of_type(resource_id: str, type_name: str) -> ResourceId | None:
    """The parts of an ARM id of a resource of `type_name`; None for an id of anything else."""
    parsed = parse(resource_id)
    return parsed if parsed is not None and parsed.is_a(type_name) else None
