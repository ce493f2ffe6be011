"""The `basic` resolver: attributes only, and what a node without contextualisation gets."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Contextualised, Resolver
from .scope import TemplateScope


class BasicResolver(Resolver):
    def resolve(self, section: Mapping[str, Any], scope: TemplateScope) -> Contextualised:
        rendered = scope.render_data(section, "contextualisation")
        return Contextualised(rendered, None, rendered.get("attributes") or {})
