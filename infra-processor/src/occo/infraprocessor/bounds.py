"""Size bounds of what a template makes, checked before the value is built.

A template comes from a user's file and runs during a build; `{{ 'x' * 2000000000 }}`
once took 6-8 GB. Jinja's sandbox bounds `range` (100,000 items, its
`MAX_RANGE`) but not the values operators, filters and methods make. The
`BoundedSandbox` checks, from the sizes of the operands alone, that no value
would exceed `MAX_VALUE` items (characters of a string, items of a list), and
no number `MAX_INT_BITS`, and refuses the expression with `TemplateTooLarge`
otherwise, so memory stays bounded however the template is written:

- the operators `*` (repeat), `+` (join two strings or lists), `**`, `%`
  (printf widths) and `~` (concatenation);
- the filters `center`, `indent`, `format`, `join`, `replace`, `batch`, `slice`
  and the `lipsum` global;
- the methods of strings and lists that grow them: `center`, `ljust`,
  `rjust`, `zfill`, `expandtabs`, `replace`, `join`, `format`, `extend`.

The text a template renders is bounded too (`MAX_OUTPUT`, in `templates`).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sized
from typing import Any

from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Concat
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from occo.util.errors import OccoError

MAX_VALUE = 16 * 1024 * 1024      # characters of a string, items of a list
MAX_OUTPUT = MAX_VALUE            # characters one template renders
MAX_INT_BITS = 1 << 20            # about 315,000 decimal digits

_SIZED = (str, bytes, list, tuple)
# a printf width or precision (`%-2000000000s`, `%.*f`), and a format spec (`{:>99999}`)
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\d+)?(?:\.(\d+))?")
_SPEC_NUMBER = re.compile(r"\d+")


class TemplateTooLarge(OccoError):
    """A template expression would make a value larger than the bounds allow."""


def refuse(size: int, what: str) -> None:
    """`TemplateTooLarge` if a value of `size` items is more than `MAX_VALUE`."""
    if size > MAX_VALUE:
        raise TemplateTooLarge(
            f"{what} would make a value of {size:,} items, more than the {MAX_VALUE:,} a "
            "template may make",
            hint="templates make text for a node, not bulk data: ship large files another way")


def _refuse_bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateTooLarge(f"{what} would make a number of about {bits:,} bits, more than "
                               f"the {MAX_INT_BITS:,} a template may make")


def _length(value: Any) -> int:
    return len(value) if isinstance(value, Sized) else len(str(value))


def _count(value: Any) -> int:
    """How many items, when a number of them is asked (`batch(items, N)`): 0 if not a number."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse `left op right` if its result would be too large."""
    if op == "*":
        if isinstance(left, _SIZED) and isinstance(right, int):
            refuse(len(left) * max(right, 0), f"repeating a value {right:,} times")
        elif isinstance(right, _SIZED) and isinstance(left, int):
            refuse(len(right) * max(left, 0), f"repeating a value {left:,} times")
        elif isinstance(left, int) and isinstance(right, int):
            _refuse_bits(left.bit_length() + right.bit_length(), "a multiplication")
    elif op == "+" and isinstance(left, _SIZED) and isinstance(right, _SIZED):
        refuse(len(left) + len(right), "adding two values")
    elif op == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        _refuse_bits(right * max(abs(left).bit_length() - 1, 0), "a power")
    elif op == "%" and isinstance(left, str):
        check_printf(left)


def check_printf(text: str) -> None:
    """Refuse a printf-style format whose width or precision is beyond the bound."""
    for width, precision in _PRINTF.findall(text):
        refuse(max(int(width or 0), int(precision or 0)), "a format width")


def check_format_spec(text: str) -> None:
    """Refuse a `str.format` string with a width or precision beyond the bound."""
    for field in re.findall(r"\{[^{}]*?:([^{}]*)\}", text):
        for number in _SPEC_NUMBER.findall(field):
            refuse(int(number), "a format width")


def check_concat(parts: Iterable[Any]) -> None:
    refuse(sum(_length(part) for part in parts), "joining values with ~")


def _joined(items: Any, separator: str) -> int:
    items = list(items) if not isinstance(items, Sized) else items
    return sum(_length(item) for item in items) + len(separator) * max(len(items) - 1, 0)


def _replaced(text: Any, old: Any, new: Any, count: Any = None) -> int:
    text, old, new = str(text), str(old), str(new)
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _indented(text: Any, width: Any = 4, *args: Any, **kwargs: Any) -> int:
    text = str(text)
    pad = len(width) if isinstance(width, str) else _count(width)
    return len(text) + pad * (text.count("\n") + 1)


def _check_method(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a call of a growing method of a string or a list before it runs."""
    target = getattr(getattr(method, "__wrapped__", method), "__self__", None)
    name = getattr(getattr(method, "__wrapped__", method), "__name__", "")
    first = args[0] if args else None
    if isinstance(target, str):
        if name in ("center", "ljust", "rjust", "zfill"):
            refuse(_count(first), f"str.{name}")
        elif name == "expandtabs":
            tab = _count(first if args else kwargs.get("tabsize", 8))
            refuse(len(target) + target.count("\t") * tab, "str.expandtabs")
        elif name == "replace" and len(args) >= 2:
            refuse(_replaced(target, args[0], args[1], args[2] if len(args) > 2 else None),
                   "str.replace")
        elif name == "join" and args:
            refuse(_joined(first, target), "str.join")
        elif name in ("format", "format_map"):
            check_format_spec(target)
    elif isinstance(target, list) and name == "extend" and isinstance(first, Sized):
        refuse(len(target) + len(first), "list.extend")


def _bounded_filter(filter_: Callable[..., Any], size: Callable[..., int], name: str
                    ) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        refuse(size(*args, **kwargs), f"the filter {name}")
        return filter_(*args, **kwargs)
    bounded.__name__ = getattr(filter_, "__name__", name)
    # keep how Jinja passes the context or environment to it (pass_eval_context, ...)
    if hasattr(filter_, "jinja_pass_arg"):
        bounded.jinja_pass_arg = filter_.jinja_pass_arg  # type: ignore[attr-defined]
    return bounded


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> int:
    check_printf(str(value))
    return 0


# filter name -> the size of its result, from its arguments (as Jinja passes them)
_FILTER_SIZES: dict[str, Callable[..., int]] = {
    "center": lambda value, width=80: max(_count(width), _length(value)),
    "indent": _indented,
    "format": _format_filter,
    "replace": lambda eval_ctx, text, old, new, count=None: _replaced(text, old, new, count),
    "join": lambda eval_ctx, value, d="", attribute=None: _joined(value, str(d)),
    "batch": lambda value, linecount, fill_with=None: _count(linecount),
    "slice": lambda value, slices, fill_with=None: _count(slices),
}


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles `a ~ b` to a checked join (Jinja's own has no hook for it)."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with every growing operation checked before it runs."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for name, size in _FILTER_SIZES.items():
            self.filters[name] = _bounded_filter(self.filters[name], size, name)
        lipsum = self.globals["lipsum"]
        self.globals["lipsum"] = lambda n=5, html=True, min=20, max=100: (
            refuse(_count(n) * _count(max), "lipsum"), lipsum(n, html, min, max))[1]

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        check_binop(operator_, left, right)
        return super().call_binop(context, operator_, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any,  # noqa: N805
             **kwargs: Any) -> Any:
        _check_method(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def bounded_concat(self, parts: tuple[Any, ...]) -> str:
        check_concat(parts)
        return "".join(map(str, parts))

