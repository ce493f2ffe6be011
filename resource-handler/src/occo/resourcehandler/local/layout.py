"""The folder of one node instance, and the status its bootstrap leaves there.

    <workdir>/nodes/<instance_id>/     the commands' working folder (OCCOPUS_NODE_DIR)
        root/                          where write_files land (OCCOPUS_NODE_ROOT)
        node.log                       stdout and stderr of the bootstrap and its commands
        plan.json                      what the bootstrap does, with its variables
        status.json                    written once the bootstrap has finished

The status is a file, not something held by the process that started the
node, so that any later Occopus process can tell the node's state.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .cloudconfig import Plan
from .files import remove_tree, tail, write_atomically

TAIL_LINES = 20


@dataclass(frozen=True)
class Status:
    """How a bootstrap ended: exit code 0, or why it failed and the log's last lines."""

    exit_code: int | None           # None: it stopped without saying (it was killed)
    message: str = ""
    log_tail: str = ""

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class NodeFolder:
    """The paths of one node instance's folder."""

    path: Path

    @property
    def root(self) -> Path:
        return self.path / "root"

    @property
    def log(self) -> Path:
        return self.path / "node.log"

    @property
    def plan_file(self) -> Path:
        return self.path / "plan.json"

    @property
    def status_file(self) -> Path:
        return self.path / "status.json"

    def exists(self) -> bool:
        return self.path.is_dir()

    def create(self, plan: Plan, environment: Mapping[str, str]) -> None:
        """Make the folder and its root, and write the plan (it may hold secrets: owner only)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path.mkdir(mode=0o700)
        self.root.mkdir()
        document = {"plan": plan.to_dict(), "environment": dict(environment)}
        write_atomically(self.plan_file, json.dumps(document).encode())

    def read_plan(self) -> tuple[Plan, dict[str, str]]:
        document = json.loads(self.plan_file.read_bytes())
        return Plan.from_dict(document["plan"]), document["environment"]

    def write_status(self, status: Status) -> None:
        write_atomically(self.status_file, json.dumps(asdict(status)).encode(), mode=0o644)

    def read_status(self) -> Status | None:
        """The bootstrap's status; None while it runs (or if it never wrote one)."""
        try:
            data: dict[str, Any] = json.loads(self.status_file.read_bytes())
        except FileNotFoundError:
            return None
        return Status(**data)

    def log_tail(self) -> str:
        return tail(self.log, TAIL_LINES)

    def remove(self) -> None:
        remove_tree(self.path)
