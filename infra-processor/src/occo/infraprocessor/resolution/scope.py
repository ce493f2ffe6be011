"""What the templates of one node see, and how their errors name them."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .. import templates


@dataclass(frozen=True)
class TemplateScope:
    """The values and functions of one node's templates.

    `label` names the chosen implementation ("node_def:web[0]"); each
    rendering adds where in it the template is ("resource.server_name"), so
    an error reads `node_def:web[0] resource.server_name:1: ...`.
    """

    values: Mapping[str, Any]
    functions: templates.Functions
    label: str

    def source(self, where: str) -> str:
        return f"{self.label} {where}"

    def render(self, template: str, where: str) -> templates.Rendered:
        """One text template, rendered; the result knows its template lines."""
        return templates.render_traced(template, self.values, source=self.source(where),
                                       functions=self.functions)

    def render_data(self, data: Any, where: str,
                    finalize: Callable[[Any], Any] | None = None) -> Any:
        """Every string of `data` rendered (see `templates.render_data`)."""
        return templates.render_data(data, self.values, source=self.source(where),
                                     functions=self.functions, finalize=finalize)

    def with_values(self, **values: Any) -> TemplateScope:
        """The same scope with more (or replaced) values."""
        return TemplateScope(MappingProxyType({**self.values, **values}), self.functions,
                             self.label)
