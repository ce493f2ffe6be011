"""The process that bootstraps a node, as cloud-init would on a fresh VM.

Started by the handler as `python -m occo.resourcehandler.local.bootstrap
<node folder>` at the head of a new session, with the node folder as its
working folder and `node.log` as its output. It runs `bootcmd`, writes
`write_files`, runs `runcmd`, stops at the first step that fails, and then
leaves `status.json`. Services that `runcmd` starts in the background stay in
its process group after it exits, which is how the handler finds them later.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from occo.util.redact import redact_url

from .cloudconfig import Command, FileToWrite, Plan
from .layout import NodeFolder, Status

# what a shell answers when a command cannot be found or run
EXIT_NOT_FOUND = 127
EXIT_NOT_RUNNABLE = 126


def main(argv: list[str]) -> int:
    folder = NodeFolder(Path(argv[1]))
    plan, environment = folder.read_plan()
    if plan.ignored:
        _say("not applied on a local node: " + ", ".join(plan.ignored))
    status = bootstrap(plan, environment, folder)
    _say("bootstrap finished" if status.succeeded else f"bootstrap failed: {status.message}")
    folder.write_status(status)
    return 0 if status.succeeded else 1


def bootstrap(plan: Plan, environment: Mapping[str, str], folder: NodeFolder) -> Status:
    """Apply the plan in cloud-init's order; the status of the first failure, else success."""
    for index, command in enumerate(plan.bootcmd):
        if failure := _run(f"bootcmd[{index}]", command, environment, folder):
            return failure
    for index, item in enumerate(plan.write_files):
        try:
            _write(folder.root, item)
        except OSError as error:
            reason = error.strerror or error
            return _failed(folder, 1, f"write_files[{index}] ({item.path}): {reason}")
    for index, command in enumerate(plan.runcmd):
        if failure := _run(f"runcmd[{index}]", command, environment, folder):
            return failure
    return Status(0)


def _run(step: str, command: Command, environment: Mapping[str, str],
         folder: NodeFolder) -> Status | None:
    text = redact_url(command[2] if command[:2] == ("/bin/sh", "-c") else shlex.join(command))
    _say(f"{step}: {text}")
    try:
        code = subprocess.run(command, cwd=folder.path, env=dict(environment),
                              stdin=subprocess.DEVNULL).returncode
    except OSError as error:
        code = EXIT_NOT_FOUND if isinstance(error, FileNotFoundError) else EXIT_NOT_RUNNABLE
        return _failed(folder, code, f"{step} could not start: {error.strerror or error}: {text}")
    if code == 0:
        return None
    how = f"was killed by signal {-code}" if code < 0 else f"exited with {code}"
    return _failed(folder, code, f"{step} {how}: {text}")


def _write(root: Path, item: FileToWrite) -> None:
    """Write one file; a new one is private until its content is in, then gets its mode."""
    target = root / item.path
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if item.append else os.O_TRUNC)
    with open(os.open(target, flags, 0o600), "wb") as stream:
        stream.write(item.data)
    target.chmod(item.mode)


def _failed(folder: NodeFolder, code: int, message: str) -> Status:
    return Status(code, message, folder.log_tail())


def _say(text: str) -> None:
    """A line in the node's log, flushed before a command adds its own output."""
    print(f"occopus: {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
