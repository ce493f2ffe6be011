"""SSH to nodes and hosts: commands and files on many at once, host keys checked per
infrastructure (ADR 0019)."""
from .hostkeys import HostKey, HostKeyPolicy, HostKeyRefused, KnownHosts, known_hosts_path
from .sessions import MAX_OUTPUT, Ran, Ssh, SshError, SshLogin, SshOptions, SshTarget

__all__ = ["MAX_OUTPUT", "HostKey", "HostKeyPolicy", "HostKeyRefused", "KnownHosts", "Ran",
           "Ssh", "SshError", "SshLogin", "SshOptions", "SshTarget", "known_hosts_path"]
