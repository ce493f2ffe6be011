"""Running OpenSSH's own client as Occopus's sessions would connect: for what needs a real
`ssh` (ansible, an interactive login from occopus-shell)."""
from __future__ import annotations

from pathlib import Path


def openssh_options(known_hosts: Path, connect_timeout: float) -> list[str]:
    """OpenSSH client options that hold it to what Occopus's own sessions do: the host key
    checked strictly against `known_hosts` (the infrastructure's), only the key given, no
    user or system configuration, connection sharing or agent."""
    return ["-F", "/dev/null", "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "ControlMaster=no",
            "-o", f"ConnectTimeout={max(1, int(connect_timeout))}"]


def key_file(folder: Path, private_key: str) -> Path:
    """The private key written for OpenSSH's `-i`, 0600 in `folder` (a private one the caller
    removes); OpenSSH refuses a key whose last line has no newline."""
    key = folder / "ssh_key"
    key.touch(0o600)
    key.write_text(private_key.rstrip("\n") + "\n")
    return key
