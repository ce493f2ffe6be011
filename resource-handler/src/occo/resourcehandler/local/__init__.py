"""The `local` resource handler: nodes as process groups on this machine, the embedded default.

A node instance here is what a VM is on a cloud, made of what one machine has:

- **An address of its own.** Each instance gets the lowest free address of
  `address_range` (default `127.0.1.0/24`; it must lie in `127.0.0.0/8`, and
  `127.0.0.1` is never given out). Linux routes all of `127.0.0.0/8` to the
  loopback device, so services can bind to it with no set-up, and
  `getip('db')` names each node's own address, its only address and its
  private one.
- **A folder of its own**, `<workdir>/nodes/<instance id>/` (workdir default
  `~/.occopus/local`): the working folder of its commands, with `node.log`
  (all their output), and `root/`, the node's stand-in for `/`.
- **A process group of its own.** A bootstrap process leads a new session and
  applies the node's cloud-config; what `runcmd` starts in the background
  (`cmd &`) stays in that group, as services stay up on a VM after cloud-init.

Contextualisation applies the part of `#cloud-config` that makes sense on one
machine, in cloud-init's order. It stops at the first step that fails (where
cloud-init would run the rest of `runcmd`), so that a later success never
hides a failure:

1. `bootcmd`, then `write_files`, then `runcmd`. A string runs with
   `/bin/sh -c`; a list runs as it is, without a shell.
2. `write_files` honours `path`, `content`, `encoding` (`b64`, `base64`, `gz`,
   `gzip` and their `+` forms), `permissions` (octal, default 0644) and
   `append`. Paths are rebased under the node's root: `/etc/app.conf` is written
   to `$OCCOPUS_NODE_ROOT/etc/app.conf`, and `..` stops at that root, so
   nodes never write over the machine's files or each other's.
3. Commands get a clean environment, not Occopus's (which may hold cloud
   credentials): `PATH`, `HOME`, `USER`, `LOGNAME`, `SHELL`, `LANG`,
   `LANGUAGE`, `LC_*`, `TZ` and `TMPDIR` are passed on; then the variables of
   the extension key `environment: {NAME: value}` (cloud-init ignores unknown
   keys, so one template still serves clouds); then, not overridable,
   `OCCOPUS_NODE_ADDRESS`, `OCCOPUS_NODE_ID`, `OCCOPUS_NODE_NAME`,
   `OCCOPUS_INFRA_ID`, `OCCOPUS_INFRA_NAME`, `OCCOPUS_NODE_DIR` (the working
   folder), `OCCOPUS_NODE_ROOT` and `OCCOPUS_INSTANCE_ID`.
   A service binds to its node's address, e.g.
   `python3 -m http.server --bind "$OCCOPUS_NODE_ADDRESS" 8080 &`.
4. Other cloud-init keys (`packages`, `users`, a file's `owner`, ...) are not
   applied; the node's log names them. A context that is not `#cloud-config`,
   or that breaks these rules, fails the create call with `ContextError`.

States: PENDING while the bootstrap runs, READY once it finished with exit
code 0, FAILED when a step failed or the bootstrap was killed (the status's
`detail` then gives the exit code, the error and the log's tail), SHUTDOWN once dropped or
its folder is gone. Dropping sends SIGTERM to the group, SIGKILL after a short
grace, then frees the address and removes the folder and registry entry.

Everything is on disk, shared by every Occopus process of the machine:
`<workdir>/registry.json` lists the instances (node and infrastructure ids,
recorded before anything is started, so `list_owned` finds them after a
crash), changed under a file lock and written atomically; each bootstrap
leaves a `status.json` in its folder. A node's processes carry
`OCCOPUS_INSTANCE_ID` in their environment, so that a recorded group id is
never mistaken for a stranger's after its processes are gone.
Two workdirs should not share an address range.
"""
from occo.util.plugins import Declared

from .schema import LOCAL

PLUGIN = Declared(LOCAL, "occo.resourcehandler.local.plugin:LocalHandler")
