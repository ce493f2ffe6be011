"""The `contextualisation` and `health_check` sections, as data.

Read by the compiler through the entry-point groups
`occo.contextualisation_schemas` and `occo.health_check_schemas`. A node
definition without `contextualisation` is resolved with `basic`; a
`health_check` without `type` is `basic`.
"""
from __future__ import annotations

from occo.util.schema import Field, Schema

_TYPE = Field("str", required=True, doc="the contextualisation type")

CLOUDINIT = Schema("contextualisation cloudinit", {
    "type": _TYPE,
    "context_template": Field("text", required=True,
                              doc="the cloud-init template: text, or YAML from !yaml_import"),
    "attributes": Field("mapping", doc="attributes for the config manager, rendered"),
}, "Renders a cloud-init file with Jinja2 and passes it to the node.")

DOCKER = Schema("contextualisation docker", {
    "type": _TYPE,
    "env": Field("list", required=True, items="scalar", doc="environment entries KEY=value"),
    "command": Field("any", doc="the command: a string, or a list for azure_aci"),
    "context_variables": Field("any", doc="extra template variables: a mapping or YAML text"),
}, "Passes environment and command to a container.")

BASIC = Schema("contextualisation basic", {
    "type": _TYPE,
    "attributes": Field("mapping", required=True, doc="attributes, rendered"),
}, "Renders attributes only.")

HEALTH_CHECK = Schema("health_check", {
    "type": Field("str", default="basic", doc="the health check type; only basic"),
    "ping": Field("bool", default=True, doc="the node must answer a ping"),
    "ports": Field("list", items="port",
                   doc="TCP ports that must accept connections; a template is rendered"),
    "urls": Field("list", items="url", doc="URLs that must answer 2xx or 3xx; {{ip}} is the node"),
    "mysqldbs": Field("list", items="mapping", doc="databases {name, user, pass} to connect to"),
    "timeout": Field("scalar", default=600,
                     doc="seconds a failing node is tolerated before it counts as failed"),
}, "Checks that decide when a node is ready, and when it has failed.")
