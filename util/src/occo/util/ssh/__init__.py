"""SSH to nodes and hosts: commands and files on many at once, host keys checked per
infrastructure (ADR 0019).

The sessions (and asyncssh with them) are loaded on first use, so that code that only
names a host keys file (a destroy removing it) does not load them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .hostkeys import HostKey, HostKeyPolicy, HostKeyRefused, KnownHosts, known_hosts_path

if TYPE_CHECKING:
    from .sessions import (MAX_OUTPUT, Ran, Ssh, SshAccess, SshError, SshLogin, SshOptions,
                           SshTarget, SshUnreachable)

_SESSIONS = ("MAX_OUTPUT", "Ran", "Ssh", "SshAccess", "SshError", "SshLogin", "SshOptions",
             "SshTarget", "SshUnreachable")

__all__ = ["HostKey", "HostKeyPolicy", "HostKeyRefused", "KnownHosts", "known_hosts_path",
           "MAX_OUTPUT", "Ran", "Ssh", "SshAccess", "SshError", "SshLogin", "SshOptions",
           "SshTarget", "SshUnreachable"]


def __getattr__(name: str) -> Any:
    if name in _SESSIONS:
        from . import sessions
        return getattr(sessions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
