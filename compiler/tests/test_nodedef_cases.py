from occo.compiler import SchemaRegistry, load_node_definitions
from occo.util.schema import Field, Schema

from .casefiles import case_tests

TYPE = Field("str", required=True)
REGISTRY = SchemaRegistry({
    "resource": {
        "cloud": Schema("resource cloud", {"type": TYPE, "name": Field("scalar"),
                                           "endpoint": Field("scalar", required=True),
                                           "flavor": Field("scalar")}),
        "other": Schema("resource other", {"type": TYPE}),
    },
    "contextualisation": {"cloudinit": Schema("contextualisation cloudinit", {
        "type": TYPE, "context_template": Field("text", required=True)})},
    "config_management": {"dummy": Schema("config_management dummy", {"type": TYPE})},
    "health_check": {"basic": Schema("health_check", {"type": Field("str"), "ping": Field("bool"),
                                                      "ports": Field("list", items="scalar")})},
})

NodeDefinitionCases = case_tests("nodedefs", lambda data: load_node_definitions(data, REGISTRY),
                                 lambda definitions: definitions)
