"""The contract of a contextualisation resolver, and finding one by type.

A resolver turns a node definition's `contextualisation` section into what
the plugins receive: the section with its templates rendered, the context
text (cloud-init's user data) and the attributes for config managers. One is
registered per type in the entry-point group `occo.resolvers` (type -> class).
"""
from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from occo.util.errors import OccoError
from occo.util.plugins import load_plugin

from .scope import TemplateScope

ENTRY_POINT_GROUP = "occo.resolvers"
DEFAULT_TYPE = "basic"


class ContextError(OccoError):
    """A rendered contextualisation is not what the node would accept."""


@dataclass(frozen=True)
class Contextualised:
    """What a resolver makes of a `contextualisation` section."""

    contextualisation: dict[str, Any]          # the section, rendered, without its template
    context: str | None = None                 # e.g. the cloud-init user data
    attributes: dict[str, Any] = field(default_factory=dict)


class Resolver(abc.ABC):
    """Renders one type of `contextualisation` section."""

    @abc.abstractmethod
    def resolve(self, section: Mapping[str, Any], scope: TemplateScope) -> Contextualised:
        """The section rendered in `scope`; `OccoError`s name the template and line."""


def resolver_for(type_name: str) -> Resolver:
    """A resolver for a contextualisation type, built with its defaults."""
    return load_plugin(ENTRY_POINT_GROUP, type_name, "contextualisation type")()
