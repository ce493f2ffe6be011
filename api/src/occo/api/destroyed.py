"""What this user keeps of an infrastructure outside the store, forgotten once it is destroyed:
its line in the infralist and its known_hosts file (`occo.util.ssh`)."""
from __future__ import annotations

from occo.util.errors import OccoError
from occo.util.ssh import known_hosts_path

from .infralist import Infralist


def forget_locally(infra_id: str) -> None:
    """Remove the infrastructure's infralist line and known_hosts file, each tried; then
    the first `OccoError` or `OSError` met, if any."""
    failed: list[OccoError | OSError] = []
    for forget in (lambda: Infralist().remove(infra_id),
                   lambda: known_hosts_path(infra_id).unlink(missing_ok=True)):
        try:
            forget()
        except (OccoError, OSError) as error:
            failed.append(error)
    if failed:
        raise failed[0]
