"""The `config_management` section of each manager the original Occopus knew, as data.

Registered, with each manager's class, in `declared.py` (entry-point group
`occo.config_management_plugins`), through which the compiler reads them.
A node definition without this section gets the `dummy` manager.
"""
from __future__ import annotations

from occo.util.schema import Field, Schema

_TYPE = Field("str", required=True, doc="the config manager type")
_NAME = Field("scalar", doc="a name for this manager in logs and auth-data filters")
_REAPPLY = Field("number", doc="seconds after which a maintain pass applies the configuration "
                               "again on each ready node (default 300; 0: every pass)")

DUMMY = Schema("config_management dummy", {"type": _TYPE, "name": _NAME},
               "Does nothing; every node counts as configured.")

CHEF = Schema("config_management chef", {
    "type": _TYPE, "name": _NAME,
    "endpoint": Field("scalar", required=True, doc="the Chef server URL"),
    "run_list": Field("list", required=True, items="scalar", doc="recipes and roles to run"),
}, "A Chef server: an environment per infrastructure, a role per node.")

PUPPET_SOLO = Schema("config_management puppet_solo", {
    "type": _TYPE, "name": _NAME,
    "manifests": Field("list", required=True, items="scalar",
                       doc="Puppet code (!text_import {url: file://site.pp}), or an http(s) "
                           "URL the node downloads"),
    "modules": Field("list", items="scalar", doc="Puppet Forge modules to install on the node"),
    "attributes": Field("any", doc="the hiera data the manifests look up"),
    "timeout": Field("number", doc="seconds puppet apply may run on a node (default 1800)"),
    "reapply": _REAPPLY,
}, "Server-less Puppet: Occopus applies the node's manifests on it, over SSH.")

ANSIBLE = Schema("config_management ansible", {
    "type": _TYPE, "name": _NAME,
    "playbook": Field("list", required=True, items="mapping", verbatim=True,
                      doc="the plays to run, as data: !yaml_import {url: file://site.yml}; "
                          "their templates are ansible's, not rendered by Occopus"),
    "extra_vars": Field("mapping", doc="variables for the plays, over the node's own"),
    "timeout": Field("number", doc="seconds the playbook may run on a node (default 1800)"),
    "reapply": _REAPPLY,
}, "Ansible: a playbook run against each node once it is up, over SSH.")
