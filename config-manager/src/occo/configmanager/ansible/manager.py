"""`AnsibleManager`: runs the section's playbook against one node at a time (see the package)."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..base import ConfigTarget, Configured
from ..overssh import SshConfigManager
from ..schemas import ANSIBLE
from .playbook import PlaybookRun, run_playbook

if TYPE_CHECKING:
    from occo.util.ssh import SshAccess

log = logging.getLogger("occo.configmanager.ansible")


class AnsibleManager(SshConfigManager):
    type_name = "ansible"
    schema = ANSIBLE

    def apply(self, target: ConfigTarget, access: SshAccess) -> Configured:
        plays = self.section["playbook"]
        log.info("node %s: running its playbook (%d play(s))", target.node_id, len(plays))
        return run_playbook(PlaybookRun(plays, access, _variables(self.section, target),
                                        self.timeout))


def _variables(section: Mapping[str, Any], target: ConfigTarget) -> dict[str, Any]:
    """The node's variables, then the section's `extra_vars`, then what Occopus knows."""
    node = target.node
    return {**target.variables, **(section.get("extra_vars") or {}),
            "occopus": {"node_name": node.name, "node_id": node.node_id,
                        "infra_id": node.infra_id, "addresses": list(target.addresses),
                        "nodes": {name: list(found) for name, found in target.peers.items()}}}
