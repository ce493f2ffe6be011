"""The shell a `hosts` node runs on its machine: claim, bootstrap, state and cleaning.

The claim is a symbolic link, `~/.occopus-host.claim`, to `INFRA_ID/NODE_ID`:
making one either succeeds or finds one there, in one step, so two
claimants never both win, and a claimant that stopped half-way still owns
what it made. The rest lives in `~/.occopus-host/`: the bootstrap script,
`status` (`running`, `booted`, or `failed STEP`), `node.log` and `files`,
the paths the cloud-config wrote, removed when the node is dropped.
"""
from __future__ import annotations

import base64
import posixpath
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from ..local.cloudconfig import Plan

CLAIM = ".occopus-host.claim"
FOLDER = ".occopus-host"
LOCK = ".occopus-host.lock"         # held while a bootstrap is started
LOG_TAIL = 2000                 # bytes of a failed node's log in its state's detail
SAFE_ID = re.compile(r"[A-Za-z0-9._-]+\Z")


def owner(infra_id: str, node_id: str) -> str:
    """What a claim points to; ids are checked, since they go into shell commands."""
    for value in (infra_id, node_id):
        if not SAFE_ID.match(value):
            raise ValueError(f"not an id Occopus makes: {value!r}")
    return f"{infra_id}/{node_id}"


def claim(owned_by: str) -> str:
    """Claim the machine: prints `claimed`, or what the claim found points to."""
    return (f"cd && ln -s {shlex.quote(owned_by)} {CLAIM} 2>/dev/null && echo claimed "
            f"|| readlink {CLAIM} || echo gone")


def read_claim() -> str:
    return f"cd && readlink {CLAIM} || true"


def look(owned_by: str) -> str:
    """Three lines: the claim, the bootstrap's status, then the tail of its log."""
    return (f"cd && readlink {CLAIM} || echo; cat {FOLDER}/status 2>/dev/null || echo; "
            f"[ \"$(readlink {CLAIM})\" = {shlex.quote(owned_by)} ] && "
            f"tail -c {LOG_TAIL} {FOLDER}/node.log 2>/dev/null; true")


def start(owned_by: str, instance_id: str, script: str) -> str:
    """Write the bootstrap and start it in a session of its own, once: a create made again,
    or at the same time (under `flock`), finds it started. What an earlier owner left in the
    folder is removed first."""
    encoded = base64.b64encode(script.encode()).decode()
    owner_file = f"{FOLDER}/owner"
    quoted = shlex.quote(owned_by)
    steps = (f"[ \"$(readlink {CLAIM})\" = {quoted} ] || "
             f"{{ echo 'the claim is not ours' >&2; exit 3; }}; "
             f"[ -e {FOLDER}/status ] && [ \"$(cat {owner_file} 2>/dev/null)\" = {quoted} ] "
             f"&& exit 0; rm -rf {FOLDER} && mkdir -m 700 {FOLDER} && "
             f"echo {quoted} > {owner_file} && "
             f"echo {encoded} | base64 -d > {FOLDER}/bootstrap.sh && "
             f"echo running > {FOLDER}/status && "
             f"{{ env OCCOPUS_INSTANCE_ID={shlex.quote(instance_id)} setsid sh "
             f"{FOLDER}/bootstrap.sh > {FOLDER}/node.log 2>&1 < /dev/null 9>&- & }}")
    return f"cd && ( flock 9 || exit 4; {steps} ) 9> {LOCK}"


def clean(owned_by: str, instance_id: str) -> str:
    """Stop the node's processes, remove what its cloud-config wrote, then the claim; nothing
    when the machine is not (or no longer) this node's."""
    marker = shlex.quote(f"OCCOPUS_INSTANCE_ID={instance_id}")
    signal_all = ("for p in /proc/[0-9]*; do "
                  f"tr '\\0' '\\n' < $p/environ 2>/dev/null | grep -qx {marker} && "
                  "kill -{} ${{p#/proc/}} 2>/dev/null; done")
    return (f"cd && [ \"$(readlink {CLAIM})\" = {shlex.quote(owned_by)} ] || exit 0; "
            f"{signal_all.format('TERM')}; sleep 1; {signal_all.format('KILL')}; "
            f"[ -f {FOLDER}/files ] && while IFS= read -r f; do rm -f -- \"$f\"; done "
            f"< {FOLDER}/files; rm -rf {FOLDER} && rm -f {CLAIM} {LOCK}")


@dataclass(frozen=True)
class Seen:
    """What `look` printed."""

    claim: str
    status: str
    log: str

    @classmethod
    def parse(cls, printed: str) -> Seen:
        claim, _, rest = printed.partition("\n")
        status, _, log = rest.partition("\n")
        return cls(claim.strip(), status.strip(), log)


def bootstrap(plan: Plan, variables: Mapping[str, str]) -> str:
    """The script that applies a cloud-config plan on the machine, in cloud-init's order,
    stopping at the first step that fails (which `status` then names)."""
    lines = ["#!/bin/sh", "cd", f"folder=\"$HOME/{FOLDER}\"",
             "fail() { echo \"failed $1\" > \"$folder/status\"; exit 1; }"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in
              {**plan.environment, **variables}.items()]
    for index, argv in enumerate(plan.bootcmd):
        lines.append(f"{shlex.join(argv)} || fail bootcmd[{index}]")
    for index, item in enumerate(plan.write_files):
        path = "/" + item.path
        redirect = ">>" if item.append else ">"
        encoded = base64.b64encode(item.data).decode()
        step = f"write_files[{index}]"
        # a file that was there before (appended to, or overwritten) is the machine's: the
        # drop removes only the files the node made
        lines += [f"mkdir -p {shlex.quote(posixpath.dirname(path))} || fail {step}",
                  f"[ -e {shlex.quote(path)} ] || echo {shlex.quote(path)} >> \"$folder/files\"",
                  f"echo {encoded} | base64 -d {redirect} {shlex.quote(path)} || fail {step}",
                  f"chmod {item.mode:o} {shlex.quote(path)} || fail {step}"]
    for index, argv in enumerate(plan.runcmd):
        lines.append(f"{shlex.join(argv)} || fail runcmd[{index}]")
    lines.append("echo booted > \"$folder/status\"")
    return "\n".join(lines) + "\n"
