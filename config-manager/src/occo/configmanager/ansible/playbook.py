"""One playbook run against one node, with ansible-core's `ansible-playbook`, in a private
folder removed after.

The folder (0700) holds the plays, the inventory, the variables and the
private key (0600); nothing of it outlives the run, and
the key is never in an argument or an environment variable. ansible's ssh is
told to use the infrastructure's known hosts and to require the key found
there (Occopus checked or recorded it just before), and never to share a
connection between runs (no ControlMaster): runs of many nodes go on in
parallel, each with its own connections.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from occo.util.redact import redact_url
from occo.util.ssh.openssh import key_file, openssh_options

from ..base import Configured

if TYPE_CHECKING:
    from occo.util.ssh import SshAccess

HOST = "node"                   # the one host of a node's inventory
MAX_DETAIL = 2000               # characters of ansible's message kept in a failure
MAX_FACT = 1000                 # characters of a fact's value kept as an attribute
TASK = re.compile(r"^TASK \[(?P<name>.*)\] \**$")
FATAL = re.compile(r"^fatal: \[[^\]]+\]: (?P<how>FAILED|UNREACHABLE)! => (?P<result>.*)$")
RECAP = re.compile(r"^node\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
                   r"unreachable=\d+\s+failed=\d+\s+skipped=(?P<skipped>\d+)", re.M)


@dataclass(frozen=True)
class PlaybookRun:
    plays: Sequence[Mapping[str, Any]]
    access: SshAccess
    variables: Mapping[str, Any]
    timeout: float          # seconds the run may take


def run_playbook(run: PlaybookRun) -> Configured:
    """Run the plays against the node; what came of it (never an exception: ansible's own
    failures are the node's)."""
    refused = _refused(run.plays)
    if refused:
        return Configured(False, refused)
    if run.access.login.passphrase is not None:
        return Configured(False, "ansible's ssh cannot use a key with a passphrase (it uses "
                                 "no agent): give the ssh entry a key without one")
    folder = Path(tempfile.mkdtemp(prefix="occo-ansible-"))
    try:
        return _run(run, folder)
    except Exception as error:          # ansible's own failures, a full disk
        return Configured(False, redact_url(f"ansible could not run: "
                                            f"{type(error).__name__}: {error}"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(run: PlaybookRun, folder: Path) -> Configured:
    key = key_file(folder, run.access.login.private_key)
    (folder / "ansible.cfg").write_text("")     # none of the user's settings
    facts = folder / "facts.json"
    (folder / "site.yml").write_text(json.dumps([*run.plays, _facts_play(facts)]))
    inventory = folder / "inventory.json"
    inventory.write_text(json.dumps(_inventory(run, key)))
    variables = folder / "variables.yml"
    variables.touch(0o600)
    variables.write_text(yaml.dump(_untemplated(dict(run.variables)), Dumper=_UnsafeDumper))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
               "-e", f"@{variables}", str(folder / "site.yml")]
    try:
        ran = subprocess.run(command, cwd=folder, env=_environment(folder), text=True,
                             stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=run.timeout)
    except subprocess.TimeoutExpired:
        return Configured(False, f"the playbook did not end within its timeout of "
                                 f"{run.timeout:g} s")
    learned = _facts(facts)
    if ran.returncode == 0:
        return Configured(True, _counts(ran.stdout), facts=learned)
    return Configured(False, _failure(ran.stdout, ran.stderr, ran.returncode), facts=learned)


def _facts_play(path: Path) -> dict[str, Any]:
    """Occopus's own last play: the facts the plays gathered, written where it reads them."""
    return {"name": "occopus: the node's facts", "hosts": "all", "gather_facts": False,
            "tasks": [{"name": "occopus: keep the facts", "delegate_to": "localhost",
                       "changed_when": False,
                       "ansible.builtin.copy": {"dest": str(path), "mode": "0600",
                                                "content": "{{ ansible_facts | to_json }}"}}]}


class _Unsafe(str):
    """A value ansible must never render as a template (the node's variables are data: an
    infrastructure description submitted to the REST service can set them)."""


class _UnsafeDumper(yaml.SafeDumper):
    pass


_UnsafeDumper.add_representer(_Unsafe, lambda dumper, value: dumper.represent_scalar(
    "!unsafe", str(value), style="'"))


def _untemplated(value: Any) -> Any:
    if isinstance(value, str):
        return _Unsafe(value)
    if isinstance(value, Mapping):
        return {str(key): _untemplated(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_untemplated(item) for item in value]
    return value


def _refused(plays: Sequence[Mapping[str, Any]]) -> str | None:
    """Why the plays may not run: each must target the node (`hosts: all`), and nothing in
    them may run on the Occopus machine instead (`delegate_to`, `local_action`, a local
    connection). Lookups still do, as on any ansible controller: plays come from node
    definitions, which only the operator's `occopus-import` stores."""
    for index, play in enumerate(plays):
        if str(play.get("hosts", "")).strip() not in ("all", HOST):
            return (f"play {index + 1} targets hosts {play.get('hosts')!r}: a node's plays "
                    f"run on that node alone (write hosts: all)")
        found = _local_work(play)
        if found:
            return f"play {index + 1} would run a task on the Occopus machine ({found})"
    return None


def _local_work(value: Any) -> str | None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("delegate_to", "local_action") or (
                    key in ("connection", "ansible_connection") and item == "local"):
                return f"{key}: {item}"
            found = _local_work(item)
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _local_work(item)
            if found:
                return found
    return None


def _inventory(run: PlaybookRun, key: Path) -> dict[str, Any]:
    target, known = run.access.target, run.access.known_hosts.path
    ssh_options = openssh_options(known, run.access.options.connect_timeout)
    return {"all": {"hosts": {HOST: {
        "ansible_host": target.address, "ansible_port": target.port,
        "ansible_user": run.access.login.user, "ansible_ssh_private_key_file": str(key),
        "ansible_ssh_common_args": shlex.join(ssh_options),
        "ansible_python_interpreter": "auto_silent"}}}}


def _environment(folder: Path) -> dict[str, str]:
    """ansible's settings for one run: an empty ansible.cfg of its own, no retry files,
    temporary files in the run's folder, and the ansible-playbook of this environment."""
    here = str(Path(sys.executable).parent)
    return {"PATH": os.pathsep.join([here, os.environ.get("PATH", "/usr/bin:/bin")]),
            "ANSIBLE_CONFIG": str(folder / "ansible.cfg"), "ANSIBLE_HOST_KEY_CHECKING": "True",
            # in place of ansible's defaults, whose ControlMaster=auto ssh would take first
            "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPersist=no",
            "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(folder / "tmp"), "ANSIBLE_SSH_CONTROL_PATH_DIR":
            str(folder / "cp"), "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "PYTHONWARNINGS": "ignore"}


def _counts(printed: str) -> str:
    """`ok=.. changed=.. skipped=..` of the node's plays, from the play recap (which counts
    Occopus's own task, always ok, never changed)."""
    found = RECAP.search(printed)
    if found is None:
        return "applied"
    return (f"ok={max(int(found['ok']) - 1, 0)} changed={found['changed']} "
            f"skipped={found['skipped']}")


def _failure(printed: str, errors: str, status: int) -> str:
    """The first failed or unreachable task, by name, with ansible's message; else the last
    lines ansible printed."""
    task = "?"
    for line in printed.splitlines():
        header = TASK.match(line)
        if header:
            task = header["name"]
            continue
        failed = FATAL.match(line)
        if failed:
            try:
                result = json.loads(failed["result"])
            except ValueError:
                result = {"msg": failed["result"]}
            message = (result.get("msg") or result.get("stderr") or "no message") \
                if isinstance(result, dict) else str(result)
            stderr = result.get("stderr") if isinstance(result, dict) else None
            what = "unreachable" if failed["how"] == "UNREACHABLE" else "failed"
            detail = f"task '{task}' {what}: {message}"
            if stderr and stderr not in detail:
                detail += f" ({stderr})"
            return redact_url(detail)[:MAX_DETAIL]
    lines = [line.strip() for line in (printed + "\n" + errors).splitlines()
             if line.strip() and "Warning" not in line]
    return redact_url(f"ansible-playbook exited {status}: "
                      + (" / ".join(lines[-3:]) or "it printed nothing"))[:MAX_DETAIL]


def _facts(path: Path) -> dict[str, Any]:
    """The node's scalar facts (hostname, distribution, ...), named `ansible_*` as plays
    name them, from what Occopus's last play wrote; none if the plays gathered none."""
    try:
        gathered = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(gathered, dict):
        return {}
    return {(name if name.startswith("ansible_") else f"ansible_{name}"):
            value if not isinstance(value, str) else value[:MAX_FACT]
            for name, value in gathered.items() if isinstance(value, (str, int, float, bool))}
