"""The `cloudinit` resolver: the node's cloud-init user data, rendered from a template.

The template is text (written inline or with `!text_import`), rendered as a
whole, or a YAML document (`!yaml_import`), rendered value by value and
written out under a `#cloud-config` header. A text that is a cloud-config
must be YAML; any cloud-config must follow cloud-init's schema where it is
installed. Every problem names the template line or the value.

Occopus 1.10 wrote a document out as quoted YAML and rendered that text, so a
multi-line value inserted into it was folded as YAML folds a quoted string,
and files written for it (the tutorials' SSH keys among them) double-space
such values. Inserted values are folded the same way here. What 1.10 got
wrong is not kept: a quote in a value no longer breaks the template (the
dump doubled `'` inside `{{ getip('master') }}`), nor an inserted `: ` the YAML.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from occo.util.errors import OccoError, SchemaError, SourceLocation

from .base import ContextError, Contextualised, Resolver
from .cloudconfig import CLOUD_INIT_SCHEMA, DataPath, dotted, schema_problems
from .scope import TemplateScope
from .yamltext import load_rendered

HEADER = "#cloud-config"
TEMPLATE = "contextualisation.context_template"
_SCHEMA_HINT = "cloud-init would reject or ignore it; see its module reference for the keys"


class CloudInitResolver(Resolver):
    """`schema_file` is cloud-init's JSON schema (skipped when the file is absent)."""

    def __init__(self, schema_file: Path = CLOUD_INIT_SCHEMA) -> None:
        self.schema_file = schema_file

    def resolve(self, section: Mapping[str, Any], scope: TemplateScope) -> Contextualised:
        rest = {key: value for key, value in section.items() if key != "context_template"}
        rendered = scope.render_data(rest, "contextualisation")
        template = section["context_template"]
        if isinstance(template, Mapping):
            context = self._from_document(template, scope)
        else:
            context = self._from_text(template, scope)
        return Contextualised(rendered, context, rendered.get("attributes") or {})

    def _from_document(self, template: Mapping[str, Any], scope: TemplateScope) -> str:
        data = scope.render_data(template, TEMPLATE, finalize=fold_inserted)
        self._check(data, lambda path: SourceLocation(scope.source(TEMPLATE)))
        return f"{HEADER}\n" + yaml.dump(data, Dumper=_Dumper, sort_keys=False,
                                          default_flow_style=False, allow_unicode=True,
                                          width=_UNFOLDED)

    def _from_text(self, template: str, scope: TemplateScope) -> str:
        rendered = scope.render(template, TEMPLATE)
        if rendered.text.startswith(HEADER):
            document = load_rendered(rendered, scope.source(TEMPLATE))
            self._check(document.data, document.location)
        return rendered.text

    def _check(self, data: Any, locate: Callable[[DataPath], SourceLocation]) -> None:
        if data is None:     # a bare header: a cloud-config that asks for nothing
            return
        if not isinstance(data, Mapping):
            raise ContextError(f"a cloud-config must be a mapping, not {type(data).__name__}",
                               location=locate(()), hint="start it with keys such as write_files:")
        problems = schema_problems(data, self.schema_file)
        if problems:
            raise SchemaError([OccoError(f"cloud-config {dotted(path) or 'document'}: {message}",
                                         location=locate(path), hint=_SCHEMA_HINT)
                               for path, message in problems])


def fold_inserted(value: Any) -> Any:
    """A multi-line text value folded as YAML folds a quoted string (1.10's behaviour).

    Single line breaks become spaces, each blank line a line break, and white
    space around line breaks goes; line breaks at the end are kept.
    """
    if not isinstance(value, str) or "\n" not in value.rstrip("\n"):
        return value
    body = value.rstrip("\n")
    first, *rest = body.split("\n")
    parts, breaks = [first.rstrip(" \t")], 0
    for line in rest:
        content = line.strip(" \t")
        if not content:
            breaks += 1
            continue
        parts += ["\n" * breaks or " ", content]
        breaks = 0
    return "".join(parts) + value[len(body):]


_UNFOLDED = 2**30   # long lines stay whole: easier to read in the node's user data


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, so the user data stays readable."""


def _literal_multiline(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text,
                                   style="|" if "\n" in text else None)


_Dumper.add_representer(str, _literal_multiline)
