"""The `docker` resolver: a container's environment and command, rendered.

`context_variables` (a mapping, or YAML text) is rendered first and then
offered to the `env` and `command` templates as `context_variables`, so a
value worked out once can be used in several entries.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from occo.util.errors import SourceLocation

from .base import ContextError, Contextualised, Resolver
from .scope import TemplateScope
from .yamltext import load_rendered

VARIABLES = "contextualisation.context_variables"


class DockerResolver(Resolver):
    def resolve(self, section: Mapping[str, Any], scope: TemplateScope) -> Contextualised:
        variables = self._variables(section.get("context_variables"), scope)
        rest = {key: value for key, value in section.items() if key != "context_variables"}
        rendered = scope.with_values(context_variables=variables).render_data(
            rest, "contextualisation")
        if "context_variables" in section:
            rendered["context_variables"] = variables
        return Contextualised(rendered)

    def _variables(self, given: Any, scope: TemplateScope) -> dict[str, Any]:
        if given is None:
            return {}
        if isinstance(given, Mapping):
            return scope.render_data(dict(given), VARIABLES)
        if isinstance(given, str):
            document = load_rendered(scope.render(given, VARIABLES), scope.source(VARIABLES))
            if document.data is None or isinstance(document.data, dict):
                return document.data or {}
            location = document.location(())
        else:
            location = SourceLocation(scope.source(VARIABLES))
        raise ContextError("context_variables must be a mapping of names to values",
                           location=location, hint="write it as name: value lines")
