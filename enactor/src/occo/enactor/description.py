"""The stored description of an infrastructure, as the passes and the commands read it."""
from __future__ import annotations

from occo.compiler import StaticDescription
from occo.infobroker.store import Store


def stored_description(store: Store, infra_id: str) -> StaticDescription:
    """The infrastructure's stored description; `InfrastructureNotFound` if unknown."""
    return StaticDescription.from_dict(store.get_infrastructure(infra_id))
