"""`PuppetSoloManager`: the node's manifests applied on it over SSH (see the package)."""
from __future__ import annotations

import logging
import shlex
from collections.abc import Mapping
from typing import Any

import yaml

from occo.util.errors import ConfigurationError
from occo.util.nodes import NodeState, ResolvedNode

from ..base import ConfigManager, ConfigTarget, Configured, NotReachableYet
from ..schemas import PUPPET_SOLO

log = logging.getLogger("occo.configmanager.puppet")

DEFAULT_TIMEOUT = 1800.0
FOLDER = ".occopus-puppet"
# Puppet's exit codes with --detailed-exitcodes: 0 nothing to do, 2 changes made
APPLIED = {0: "applied, nothing changed", 2: "applied, changes made"}
MAX_DETAIL = 2000
FIND_PUPPET = ('PATH="$PATH:/opt/puppetlabs/bin:/usr/local/bin"; command -v puppet >/dev/null '
               '|| { echo "no puppet on this machine: install puppet-agent" >&2; exit 127; }')


class PuppetSoloManager(ConfigManager):
    """Keeps nothing of its own: what a node's run gave is in `target.configured`."""

    type_name = "puppet_solo"
    schema = PUPPET_SOLO
    configures = True

    def __init__(self, section: Mapping[str, Any],
                 auth_data: Mapping[str, Any] | None = None) -> None:
        super().__init__(section, auth_data)
        self.timeout = float(self.section.get("timeout") or DEFAULT_TIMEOUT)

    def create_infrastructure(self, infra_id: str) -> None:
        """Nothing is kept per infrastructure."""

    def drop_infrastructure(self, infra_id: str) -> None:
        """Nothing is kept per infrastructure."""

    def infrastructure_exists(self, infra_id: str) -> bool:
        return True

    def register_node(self, node: ResolvedNode) -> None:
        """Nothing to register before the machine exists."""

    def drop_node(self, infra_id: str, node_id: str) -> None:
        """Nothing kept of a node."""

    def resolve_attributes(self, node: ResolvedNode) -> dict[str, Any]:
        """The original's template data: each list as text, its items joined by spaces."""
        section = node.config_management
        return {"puppet": {key: " ".join(str(item) for item in _listed(section.get(key)))
                           for key in ("modules", "manifests", "attributes")}}

    def configure(self, target: ConfigTarget) -> Configured:
        access = target.access
        if access is None:
            raise ConfigurationError(
                f"node {target.node.name} cannot be reached: no ssh entry of the auth file "
                f"fits its resource (type {target.node.resource.get('type')})",
                hint="add an ssh entry with user and private_key whose filter fits it")
        from occo.util.ssh import SshAccess, SshError, SshOptions, SshUnreachable
        try:
            access.verify()
        except SshUnreachable as error:
            raise NotReachableYet(error.message) from None
        except SshError as error:
            return Configured(False, error.message)
        bounded = SshAccess(access.target, access.login, access.known_hosts,
                            SshOptions(parallel=1, connect_timeout=access.options.connect_timeout,
                                       command_timeout=self.timeout))
        log.info("node %s: applying its manifests", target.node_id)
        ran = bounded.run(apply_script(self.section))
        if ran.error is not None:
            return Configured(False, ran.error)
        if ran.exit_status in APPLIED:
            return Configured(True, APPLIED[ran.exit_status])
        return Configured(False, failure(ran.exit_status, ran.stdout + ran.stderr))

    def get_node_state(self, target: ConfigTarget) -> NodeState:
        if target.configured is None:
            return NodeState.PENDING
        return NodeState.READY if target.configured.ok else NodeState.FAILED


def apply_script(section: Mapping[str, Any]) -> str:
    """The shell that lays the manifests, modules and hiera data out in the node's folder and
    applies them; its exit status is Puppet's (`--detailed-exitcodes`)."""
    folder = f"$HOME/{FOLDER}"
    lines = [FIND_PUPPET, f'd="{folder}"', 'rm -rf "$d/manifests" && mkdir -p "$d/manifests" '
             '"$d/modules" "$d/data" && chmod 700 "$d" || exit 1']
    for index, manifest in enumerate(_listed(section.get("manifests"))):
        path = f'"$d/manifests/{index:03d}.pp"'
        text = str(manifest)
        if text.startswith(("http://", "https://")) and "\n" not in text.strip():
            lines.append(f"curl -fsSL {shlex.quote(text.strip())} -o {path} || wget -qO {path} "
                         f"{shlex.quote(text.strip())} || {{ echo 'cannot download manifest "
                         f"{index}: {shlex.quote(text.strip())[1:-1]}' >&2; exit 1; }}")
        else:
            lines.append(f"printf %s {shlex.quote(text)} > {path}")
    lines.append(f"printf %s {shlex.quote(_hiera_data(section.get('attributes')))} > "
                 '"$d/data/common.yaml"')
    lines.append(f'cat > "$d/hiera.yaml" <<EOF\nversion: 5\ndefaults: {{datadir: $d/data, '
                 f'data_hash: yaml_data}}\nhierarchy: [{{name: common, path: common.yaml}}]\nEOF')
    options = ('--confdir "$d/conf" --vardir "$d/var" --codedir "$d/code" --logdir "$d/log" '
               '--rundir "$d/run" --modulepath "$d/modules"')
    for module in _listed(section.get("modules")):
        lines.append(f"puppet module install {options} {shlex.quote(str(module))} || exit 1")
    lines.append(f'puppet apply --detailed-exitcodes {options} --hiera_config "$d/hiera.yaml" '
                 '--color false --logdest console "$d/manifests"')
    return "\n".join(lines) + "\n"


def failure(exit_status: int | None, printed: str) -> str:
    """What failed: the first resource Puppet says failed (`/Stage[main]/.../Package[x]`),
    with its message; else Puppet's first error; else its exit status."""
    errors = [line[len("Error: "):].strip() for line in printed.splitlines()
              if line.startswith("Error: ") and not line.startswith("Error: Facter:")]
    resource = next((line for line in errors if line.startswith("/")), None)
    chosen = resource or next(iter(errors), None)
    if chosen is None:
        lines = [line.strip() for line in printed.splitlines() if line.strip()]
        chosen = f"puppet exited {exit_status}" + (f": {lines[-1]}" if lines else "")
    return chosen[:MAX_DETAIL]


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _hiera_data(attributes: Any) -> str:
    """The hiera data: a mapping, or the original's list of one-key mappings merged."""
    if isinstance(attributes, Mapping):
        return yaml.safe_dump(dict(attributes), default_flow_style=False)
    data: dict[str, Any] = {}
    for item in _listed(attributes):
        if isinstance(item, Mapping):
            data.update(item)
    return yaml.safe_dump(data, default_flow_style=False)
