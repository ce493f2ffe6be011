"""The `ansible` config manager: a playbook run against each node once it is up, over SSH.

The playbook is data in the node definition (`playbook:`, usually
`!yaml_import {url: file://site.yml}`, which the compiler reads next to the
file): it is stored with the infrastructure, so that every Occopus process,
the REST service's included, runs the same plays. Each node is its own
inventory, one host named after the node, reached at its first address with
the `ssh` login of the auth file that fits its resource and the
infrastructure's known hosts (ADR 0019; the host key is checked by Occopus
first, then required by ansible's ssh). Its variables: the node's own
(`variables` of the infrastructure description), then `extra_vars`, then
`occopus` (the node's name, id, infrastructure id, addresses, and the
addresses of every node's instances by node name, for a node that must find
its dependencies).

The result: configured when every task passed; otherwise the first failed or
unreachable task, by name, with ansible's message, and the node is replaced.
The node's scalar `ansible_*` facts go to its record, where
`get_node_attribute` answers from. The variables are data, never templates
(`!unsafe`); plays must target the node and run nothing on the Occopus
machine (`delegate_to`, `local_action`, a local connection). Running the
playbook again (a node configured anew) changes nothing a playbook made
idempotent by ansible's own modules.
"""
from occo.util.plugins import Declared

from ..schemas import ANSIBLE

PLUGIN = Declared(ANSIBLE, "occo.configmanager.ansible.manager:AnsibleManager")
