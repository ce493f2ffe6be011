"""`PuppetSoloManager`: the node's manifests applied on it over SSH (see the package)."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import shlex
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from occo.util.nodes import ResolvedNode

from ..base import ConfigTarget, Configured
from ..overssh import SshConfigManager
from ..schemas import PUPPET_SOLO

if TYPE_CHECKING:
    from occo.util.ssh import Ran, SshAccess

log = logging.getLogger("occo.configmanager.puppet")

FOLDER = ".occopus-puppet"
# Puppet's exit codes with --detailed-exitcodes: 0 nothing to do, 2 changes made
APPLIED = {0: "applied, nothing changed", 2: "applied, changes made"}
MAX_DETAIL = 2000
FIND_PUPPET = ('PATH="$PATH:/opt/puppetlabs/bin:/usr/local/bin"; command -v puppet >/dev/null '
               '|| { echo "no puppet on this machine: install puppet-agent" >&2; exit 127; }')


class PuppetSoloManager(SshConfigManager):
    type_name = "puppet_solo"
    schema = PUPPET_SOLO

    def resolve_attributes(self, node: ResolvedNode) -> dict[str, Any]:
        """The original's template data: each list as text, its items joined by spaces."""
        section = node.config_management
        return {"puppet": {key: " ".join(str(item) for item in _listed(section.get(key)))
                           for key in ("modules", "manifests", "attributes")}}

    def apply(self, target: ConfigTarget, access: SshAccess) -> Configured:
        bounded = dataclasses.replace(access, options=dataclasses.replace(
            access.options, command_timeout=self.timeout))
        log.info("node %s: applying its manifests", target.node_id)
        ran = _run_script(bounded, apply_script(self.section))
        if ran.error is not None:
            return Configured(False, ran.error)
        if ran.exit_status in APPLIED:
            return Configured(True, APPLIED[ran.exit_status])
        return Configured(False, failure(ran.exit_status, ran.stdout + ran.stderr))


def _run_script(access: SshAccess, script: str) -> Ran:
    """`script` copied to the node (SFTP, 0600: it holds the hiera data, which must not be
    in a command line the node's other users can read), run, then removed."""
    from occo.util.ssh import Ran, SshError
    ssh, target = access.session(), access.target
    with tempfile.TemporaryDirectory(prefix="occo-puppet-") as folder:
        local = Path(folder, "apply.sh")
        local.touch(0o600)
        local.write_text(script)

        async def run() -> Ran:
            made = await ssh.run(target, f"mkdir -p {FOLDER} && chmod 700 {FOLDER}")
            if not made.ok:
                return made
            await ssh.put(target, local, f"{FOLDER}/apply.sh")
            return await ssh.run(target, f"sh {FOLDER}/apply.sh; status=$?; "
                                         f"rm -f {FOLDER}/apply.sh; exit $status")
        try:
            return asyncio.run(run())
        except SshError as error:
            return Ran(target, None, error=error.message)


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
            url = shlex.quote(text.strip())
            said = shlex.quote(f"cannot download manifest {index + 1}: {text.strip()}")
            lines.append(f"curl -fsSL {url} -o {path} || wget -qO {path} {url} || "
                         f"{{ echo {said} >&2; exit 1; }}")
        else:
            lines.append(f"printf %s {shlex.quote(text)} > {path}")
    lines.append(f"printf %s {shlex.quote(_hiera_data(section.get('attributes')))} > "
                 '"$d/data/common.yaml"')
    lines.append('cat > "$d/hiera.yaml" <<EOF\nversion: 5\ndefaults: {datadir: $d/data, '
                 'data_hash: yaml_data}\nhierarchy: [{name: common, path: common.yaml}]\nEOF')
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
