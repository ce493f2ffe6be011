"""The `hosts` resource handler: machines that already exist, reached over SSH.

Bring your own hosts: the section's `pool` lists machines by address (and
port); a node's create claims a free one, its drop cleans it and gives it
back. The login is the `resource` entry of the auth file that fits the
section (`user`, and `private_key` or `private_key_file`); host keys are
checked against the infrastructure's known hosts, as `host_keys` says
(`strict` by default, or `trust-first-use`).

Everything is kept on the hosts themselves, so that every Occopus process
sees the same claims: the claim is a symbolic link, `~/.occopus-host.claim`,
to `INFRA_ID/NODE_ID` (made in one step, which only one claimant can do),
and `~/.occopus-host/` holds the node's bootstrap script, its log, its
status and the files it made. Config managers and `occopus-run` reach a
node's machine on port 22: a pool machine with another SSH port can be
claimed and bootstrapped, not yet configured over SSH.

Contextualisation applies the node's `#cloud-config` as the `local` backend
reads it (`bootcmd`, `write_files`, `runcmd`, `environment`), on the host
itself: files at their paths, commands in a session of their own with the
`OCCOPUS_*` variables, in the background while the engine polls. Its state:
PENDING while the bootstrap runs, READY once it exited 0, FAILED when a step
failed (with the log's tail), SHUTDOWN once the claim is gone or another
node's, UNKNOWN while the host cannot be reached. A drop stops the node's
processes (those that carry its `OCCOPUS_INSTANCE_ID`), removes the files
its cloud-config wrote, then the claim.
"""
from occo.util.plugins import Declared

from .schema import HOSTS

PLUGIN = Declared(HOSTS, "occo.resourcehandler.hosts.plugin:HostsHandler")
