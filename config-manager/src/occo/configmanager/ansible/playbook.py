"""One playbook run against one node, with ansible-runner, in a private folder removed after.

The folder (0700) holds the plays, the inventory, the private key (0600) and
what ansible-runner writes of the run; nothing of it outlives the run, and
the key is never in an argument or an environment variable. ansible's ssh is
told to use the infrastructure's known hosts and to require the key found
there (Occopus checked or recorded it just before), and never to share a
connection between runs (no ControlMaster): runs of many nodes go on in
parallel, each with its own connections.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from occo.util.redact import redact_url

from ..base import Configured

if TYPE_CHECKING:
    from occo.util.ssh import SshAccess

HOST = "node"                   # the one host of a node's inventory
MAX_DETAIL = 2000               # characters of ansible's message kept in a failure
MAX_FACT = 1000                 # characters of a fact's value kept as an attribute
FAILED_EVENTS = ("runner_on_failed", "runner_on_unreachable")


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
    except Exception as error:          # ansible-runner's own failures, a full disk
        return Configured(False, redact_url(f"ansible could not run: "
                                            f"{type(error).__name__}: {error}"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(run: PlaybookRun, folder: Path) -> Configured:
    import ansible_runner         # loads ansible's modules: only nodes that use it pay

    key = folder / "ssh_key"
    key.touch(0o600)
    key.write_text(run.access.login.private_key.rstrip("\n") + "\n")   # OpenSSH needs the \n
    (folder / "ansible.cfg").write_text("")     # none of the user's settings
    project = folder / "project"
    project.mkdir()
    (project / "site.yml").write_text(json.dumps(list(run.plays)))
    variables = folder / "variables.yml"
    variables.touch(0o600)
    variables.write_text(yaml.dump(_untemplated(dict(run.variables)), Dumper=_UnsafeDumper))
    with warnings.catch_warnings():     # ansible-runner's own deprecations
        warnings.simplefilter("ignore")
        runner = ansible_runner.run(
            private_data_dir=str(folder), playbook="site.yml", inventory=_inventory(run, key),
            cmdline=f"-e @{variables}", envvars=_environment(folder), quiet=True,
            timeout=int(run.timeout))
    events = list(runner.events)
    if runner.status == "successful":
        stats = runner.stats or {}
        counts = " ".join(f"{what}={(stats.get(what) or {}).get(HOST, 0)}"
                          for what in ("ok", "changed", "skipped"))
        return Configured(True, counts, facts=_facts(events))
    with runner.stdout as output:
        printed = output.read()
    return Configured(False, _failure(events, runner.status, run.timeout, _tail(printed)),
                      facts=_facts(events))


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
    ssh_options = ["-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
                   "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
                   "-o", f"ConnectTimeout={int(run.access.options.connect_timeout)}",
                   "-F", "/dev/null"]
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


def _tail(output: str) -> str:
    """The last lines ansible printed, but Python's warnings."""
    lines = [line for line in output.splitlines()
             if line.strip() and "Warning" not in line and not line.startswith("  from ")]
    return " / ".join(lines[-3:])[-MAX_DETAIL // 2:]


def _failure(events: Iterable[Mapping[str, Any]], status: str, timeout: float,
             printed: str) -> str:
    """The first failed or unreachable task, by name, with ansible's message."""
    for event in events:
        if event.get("event") in FAILED_EVENTS:
            data = event.get("event_data") or {}
            result = data.get("res") or {}
            message = (result.get("msg") or result.get("stderr") or result.get("reason")
                       or "no message")
            what = "unreachable" if event["event"] == "runner_on_unreachable" else "failed"
            detail = f"task '{data.get('task', '?')}' {what}: {message}"
            stderr = result.get("stderr")
            if stderr and stderr not in detail:
                detail += f" ({stderr})"
            return redact_url(detail)[:MAX_DETAIL]
    if status == "timeout":
        return f"the playbook did not end within its timeout of {timeout:g} s"
    return redact_url(f"the playbook run ended as {status}: {printed or 'it printed nothing'}")


def _facts(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The node's scalar `ansible_*` facts (its hostname, distribution, ...), as gathered."""
    facts: dict[str, Any] = {}
    for event in events:
        result = (event.get("event_data") or {}).get("res") or {}
        if event.get("event") == "runner_on_ok" and isinstance(result.get("ansible_facts"), dict):
            facts.update((name, value if not isinstance(value, str) else value[:MAX_FACT])
                         for name, value in result["ansible_facts"].items()
                         if name.startswith("ansible_")
                         and isinstance(value, (str, int, float, bool)))
    return facts
