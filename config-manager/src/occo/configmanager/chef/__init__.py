"""The `chef` config manager: the node's run list and attributes on a Chef Infra Server.

As in the original, Occopus prepares the server and the machine's own
chef-client does the work: an environment per infrastructure (named by its
id), a role per node (`<infra_id>_<node name>`, which the `connect`
cookbook searches by), and a Chef node per instance (named by its node id)
in that environment, whose run list is the role, `recipe[connect]` and the
section's `run_list`, and whose normal attributes are the node's rendered
attributes. The node's cloud-init runs chef-client with
`environment: "{{infra_id}}"` and `node_name: "{{node_id}}"`; it is ready
once the server has heard from that run (`ohai_time`).

Every request is signed with the client's key (Chef's authentication
protocol v1.3, `signing`); the credentials are the auth file's
`client_name` and `client_key` for the section's `endpoint`.
"""
from occo.util.plugins import Declared

from ..schemas import CHEF

PLUGIN = Declared(CHEF, "occo.configmanager.chef.manager:ChefManager")
