"""Rendering the Jinja2 templates of node definitions, safely and with clear errors.

Templates come from users' files, so they run in Jinja's sandbox with
`StrictUndefined`: a misspelt variable is an error, not an empty string that
would boot a broken machine. Autoescape is off (the output is YAML, shell or
plain text, never HTML) and `{% raw %}` works as in any Jinja template.

Every failure is a `TemplateError` whose location is the template's source
(e.g. "node_def:web[0] contextualisation") and the template line, found from
the template frame of the traceback Jinja rewrites. An `OccoError` raised by a
template function keeps its class and gets the line of the call. What a
template makes is bounded in size (`bounds`): a value too large is refused
before it is built, naming the template and its line.
"""
from __future__ import annotations

import base64
import bisect
import functools
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CodeType
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from occo.util.errors import OccoError, SourceLocation
from occo.util.templated import is_template

from .bounds import MAX_OUTPUT, TemplateTooLarge
from .sandbox import BoundedSandbox

Functions = Mapping[str, Callable[..., Any]]

_TEMPLATE_FILE = "<template>"   # the file name Jinja gives frames of a template made from a string
_SHOWN = 120                    # at most this much of a template line goes into a hint


class TemplateError(OccoError):
    """A template cannot be rendered: bad syntax, an undefined name, a failing expression."""


def b64encode(value: Any) -> str:
    """The `b64encode` filter of the original docker resolver: base64 of the UTF-8 text."""
    return base64.b64encode(str(value).encode()).decode("ascii")


@functools.lru_cache(maxsize=8)
def _environment(finalize: Callable[[Any], Any] | None = None) -> SandboxedEnvironment:
    """The sandbox for templates finalized by `finalize`, one per process.

    Building one takes longer than rendering a short template, and a level
    of hundreds of nodes renders several each; a sandbox keeps no state of
    its own renderings, and Jinja lets threads share one.
    """
    environment = BoundedSandbox(undefined=jinja2.StrictUndefined, autoescape=False,
                                 keep_trailing_newline=True, finalize=finalize)
    environment.filters["b64encode"] = b64encode
    return environment


@functools.lru_cache(maxsize=1024)
def _compiled(environment: SandboxedEnvironment, template: str) -> CodeType:
    """Jinja's code for a template: compiling a long cloud-init file takes milliseconds, and
    every node of a type renders the same templates (each with its own functions)."""
    return environment.compile(template)


@dataclass(frozen=True)
class Rendered:
    """A rendered text that knows which template line produced each of its lines."""

    text: str
    # (first output line, template line, literal?) for each chunk of output, in order
    _origins: tuple[tuple[int, int, bool], ...] = ()

    def template_line(self, line: int) -> int:
        """The template line that produced output `line` (both count from 1).

        Literal template text keeps its line structure; the output of an
        expression, however many lines, comes from the expression's line.
        """
        index = bisect.bisect_right(self._origins, (line, float("inf"))) - 1
        if index < 0:
            return line
        start, origin, literal = self._origins[index]
        return origin + (line - start if literal else 0)


def render(template: str, context: Mapping[str, Any], *, source: str,
           functions: Functions | None = None) -> str:
    """`template` rendered with `context`; `functions` are callable from it by name."""
    return render_traced(template, context, source=source, functions=functions).text


def render_traced(template: str, context: Mapping[str, Any], *, source: str,
                  functions: Functions | None = None,
                  environment: SandboxedEnvironment | None = None) -> Rendered:
    """Like `render`, keeping where each output line came from (to place errors found later).

    `environment` is the sandbox, finalizing as it says (`render_data`'s).
    """
    environment = environment or _environment()
    try:
        code = _compiled(environment, template)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"template syntax error: {error.message}",
                            location=SourceLocation(source, error.lineno),
                            hint=_quote(template, error.lineno)) from None
    compiled = environment.template_class.from_code(
        environment, code, environment.make_globals(dict(functions or {})), None)
    chunks: list[str] = []
    origins: list[tuple[int, int, bool]] = []
    line = 1
    size = 0
    try:
        generator = compiled.generate(context)
        for chunk in generator:
            if not chunk:
                continue
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateTooLarge(f"the template renders more than {MAX_OUTPUT:,} characters",
                                       hint="templates make text for a node, not bulk data: "
                                            "ship large files another way")
            frame = _template_frame(generator)
            literal = any(chunk is constant for constant in frame.f_code.co_consts)
            origins.append((line, compiled.get_corresponding_lineno(frame.f_lineno), literal))
            chunks.append(chunk)
            line += chunk.count("\n")
    except OccoError as error:   # a template function's own error: keep its class, add the line
        if error.location is None:
            error.location = SourceLocation(source, _failing_line(error))
        raise
    except Exception as error:   # a template may fail in any way; each is the user's to fix
        raise _translated(error, template, source) from error
    return Rendered("".join(chunks), tuple(origins))


def render_data(data: Any, context: Mapping[str, Any], *, source: str,
                functions: Functions | None = None,
                finalize: Callable[[Any], Any] | None = None) -> Any:
    """A copy of `data` with every string in it, keys too, rendered as a template.

    Each string is its own template, named by its path: `source` "resource"
    and key `server_name` give "resource.server_name". Unlike dumping the data
    to YAML, rendering and loading it back, a rendered value can never break
    the YAML around it, and an error names the value it is in. `finalize`
    (Jinja's) is applied to the value of every `{{ ... }}` before it is written.
    """
    environment = _environment(finalize)

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, str):
            if not is_template(value):
                return value
            return render_traced(value, context, source=path, functions=functions,
                                 environment=environment).text
        if isinstance(value, Mapping):
            return {walk(key, f"{path}.{key}"): walk(item, f"{path}.{key}")
                    for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(item, f"{path}[{index}]") for index, item in enumerate(value)]
        return value

    return walk(data, source)


def has_templates(data: Any) -> bool:
    """Whether any string in `data`, keys too, is a template (`render_data` would change it)."""
    if isinstance(data, str):
        return is_template(data)
    if isinstance(data, Mapping):
        return any(has_templates(key) or has_templates(value) for key, value in data.items())
    if isinstance(data, (list, tuple)):
        return any(has_templates(item) for item in data)
    return False


ADDRESS_FUNCTIONS = frozenset({"getip", "getprivip", "getipall"})


def addresses_asked(data: Any) -> frozenset[str]:
    """The nodes whose addresses the templates in `data` ask for by a literal name
    (`getip('db')`): a node must not be resolved before those have addresses. A template
    that does not parse asks for none here (rendering it says what is wrong)."""
    if isinstance(data, str):
        if not is_template(data):
            return frozenset()
        try:
            tree = _environment().parse(data)
        except jinja2.TemplateSyntaxError:
            return frozenset()
        return frozenset(
            call.args[0].value for call in tree.find_all(jinja2.nodes.Call)
            if isinstance(call.node, jinja2.nodes.Name) and call.node.name in ADDRESS_FUNCTIONS
            and call.args and isinstance(call.args[0], jinja2.nodes.Const)
            and isinstance(call.args[0].value, str))
    if isinstance(data, Mapping):
        return frozenset().union(*map(addresses_asked, data.values()))
    if isinstance(data, (list, tuple)):
        return frozenset().union(*map(addresses_asked, data))
    return frozenset()


def _template_frame(generator: Any) -> Any:
    """The frame of the template code that yielded the generator's last chunk."""
    while getattr(generator, "gi_yieldfrom", None) is not None:
        generator = generator.gi_yieldfrom
    return generator.gi_frame


def _translated(error: Exception, template: str, source: str) -> TemplateError:
    """`error` as a `TemplateError` placed at the template line it happened on."""
    line = _failing_line(error)
    location = SourceLocation(source, line)
    if isinstance(error, jinja2.UndefinedError):
        hint = _quote(template, line, "define it (e.g. under 'variables') or check its spelling")
        return TemplateError(error.message or str(error), location=location, hint=hint)
    if isinstance(error, jinja2.TemplateError):
        return TemplateError(error.message or str(error), location=location,
                             hint=_quote(template, line))
    return TemplateError(f"{type(error).__name__}: {error}", location=location,
                         hint=_quote(template, line))


def _failing_line(error: BaseException) -> int | None:
    """The template line of the innermost template frame in the traceback."""
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
             if frame.filename == _TEMPLATE_FILE]
    return lines[-1] if lines else None


def _quote(template: str, line: int | None, advice: str | None = None) -> str | None:
    """A hint showing the template line (and advice, when there is some)."""
    lines = template.splitlines()
    if line is None or not 1 <= line <= len(lines):
        return advice
    text = lines[line - 1].strip()
    text = text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
    return f"the line reads: {text}" + (f"; {advice}" if advice else "")
