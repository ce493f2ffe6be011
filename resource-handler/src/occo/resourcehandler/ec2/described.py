"""Reading DescribeInstances: instances found by filters, and what one of them says.

Instances are always asked for by filters, never by `InstanceIds`: EC2
refuses a whole `InstanceIds` call when one of the ids is unknown or
malformed, while a filter simply matches nothing for it.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from botocore.client import BaseClient

from ..base import NODE_TAG

# states in which an instance exists (a stopped one can be started again)
LIVE_STATES = ("pending", "running", "stopping", "stopped")


def described(client: BaseClient,
              filters: Sequence[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every instance DescribeInstances finds with `filters`, page after page."""
    for page in client.get_paginator("describe_instances").paginate(Filters=list(filters)):
        for reservation in page.get("Reservations", ()):
            yield from reservation.get("Instances", ())


def tag_filter(key: str, *values: str) -> dict[str, Any]:
    return {"Name": f"tag:{key}", "Values": list(values)}


def state_name(item: Mapping[str, Any]) -> str:
    return str(item.get("State", {}).get("Name", ""))


def tags_of(item: Mapping[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in item.get("Tags", ())}


def node_id_of(item: Mapping[str, Any]) -> str | None:
    return tags_of(item).get(NODE_TAG)


def addresses_of(item: Mapping[str, Any]) -> tuple[str, ...]:
    """Public DNS name, public IP, private IP: those it has, each once, in that order."""
    found = (item.get("PublicDnsName"), item.get("PublicIpAddress"), item.get("PrivateIpAddress"))
    return tuple(dict.fromkeys(str(address) for address in found if address))


def state_reason(item: Mapping[str, Any]) -> str | None:
    """What the cloud says of the instance's last change of state, if anything."""
    reason = item.get("StateReason") or {}
    return str(reason.get("Message") or reason.get("Code") or "") or None


def newest_first(items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Live instances before others, the most recently launched first in each group."""
    return sorted(items, key=lambda item: (state_name(item) in LIVE_STATES,
                                           str(item.get("LaunchTime", ""))), reverse=True)
