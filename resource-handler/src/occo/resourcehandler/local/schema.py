"""The `resource` section of type `local`."""
from __future__ import annotations

from ..schemas import resource_schema, text

LOCAL = resource_schema("local", "Processes on this machine, each node on its own loopback "
                        "address: the embedded default.", {}, {
    "workdir": text("where node folders are made (default ~/.occopus/local)", connection=True),
    "address_range": text("loopback addresses to give out (default 127.0.1.0/24)",
                          connection=True),
})
