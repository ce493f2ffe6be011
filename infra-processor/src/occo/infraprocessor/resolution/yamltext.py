"""Reading the YAML a text template rendered, with positions on the template's lines.

A value inserted by a template can break the YAML around it (a `: ` in a
plain scalar, a multi-line value in an indented block); the user sees the
template, not the rendered text, so errors point at the template line.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from occo.util.errors import SourceLocation

from ..templates import Rendered
from .base import ContextError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class RenderedYaml:
    """The data of a rendered YAML text, and where each part of it came from."""

    data: Any
    root: yaml.Node | None
    rendered: Rendered
    source: str

    def location(self, path: Sequence[str | int]) -> SourceLocation:
        """The template line of the value at `path` (of its deepest existing part)."""
        node = self.root
        for step in path:
            child = _child(node, step)
            if child is None:
                break
            node = child
        if node is None:
            return SourceLocation(self.source)
        return SourceLocation(self.source, self.rendered.template_line(node.start_mark.line + 1))


def load_rendered(rendered: Rendered, source: str) -> RenderedYaml:
    """Parse a rendered text as YAML; `ContextError` at the template line if it is not."""
    loader = _Loader(rendered.text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:
        line = _error_line(error, rendered.text)
        lines = rendered.text.splitlines()
        shown = lines[line - 1].strip()[:120] if line and line <= len(lines) else None
        problem = error.problem or error.context
        if error.context and error.problem:
            problem += f" ({error.context})"
        raise ContextError(
            f"the rendered template is not valid YAML: {problem}",
            location=SourceLocation(source, rendered.template_line(line) if line else None),
            hint=f"rendered line {line} reads: {shown}; a value inserted by a template may "
                 "need quoting" if shown else None) from None
    except yaml.YAMLError as error:
        raise ContextError(f"the rendered template is not valid YAML: {error}",
                           location=SourceLocation(source)) from None
    finally:
        loader.dispose()
    return RenderedYaml(data, root, rendered, source)


def _error_line(error: yaml.MarkedYAMLError, text: str) -> int | None:
    """The rendered line to blame: where the parser gave up or, when it gave up only at
    the end of the text, where the construct it could not finish began."""
    mark = error.problem_mark
    if error.context_mark is not None and (mark is None or mark.index >= len(text.rstrip())):
        mark = error.context_mark
    return mark.line + 1 if mark is not None else None


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((value for key, value in node.value
                     if isinstance(key, yaml.ScalarNode) and key.value == str(step)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        return node.value[step] if 0 <= step < len(node.value) else None
    return None
