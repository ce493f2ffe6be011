"""Node resolution: from a compiled node description to the `ResolvedNode` plugins receive.

`resolve_node` chooses the node's implementation and renders its templates
(a `NodeResolver` resolves many); a resolver per contextualisation type
(`occo.resolvers`) renders that section.
"""
from .base import ContextError, Contextualised, Resolver, resolver_for
from .functions import CommandError, NodeLookupError
from .node import NodeResolver, resolve_node
from .scope import TemplateScope

__all__ = ["CommandError", "ContextError", "Contextualised", "NodeLookupError", "NodeResolver",
           "Resolver", "TemplateScope", "resolve_node", "resolver_for"]
