"""What this user keeps of an infrastructure outside the store, forgotten once it is destroyed:
its line in the infralist and its known_hosts file (`occo.util.ssh`)."""
from __future__ import annotations

from occo.util.ssh import known_hosts_path

from .infralist import Infralist


def forget_locally(infra_id: str) -> None:
    """Remove the infrastructure's infralist line and known_hosts file (`OccoError` or
    `OSError` when either cannot be)."""
    Infralist().remove(infra_id)
    known_hosts_path(infra_id).unlink(missing_ok=True)
