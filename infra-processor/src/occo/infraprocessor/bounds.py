"""Size bounds of what a template makes, estimated before the value is built.

A template comes from a user's file and runs during a build; `{{ 'x' * 2000000000 }}`
once took 6-8 GB. The size of a value is the length of its text, what `{{ value }}`
would write: characters of a string, and for a list or a mapping the text of its
items (a list of sixteen references to one long string writes it sixteen times).
`weight` estimates it without building the text, and the estimates here give the
size of what an operation would make from the sizes of its operands and arguments
alone, so `BoundedSandbox` (`sandbox`) can refuse it with `TemplateTooLarge` before
it runs. An estimate is never below the real size but may be above it by a small
factor (a format counts every argument for each of its fields); the escapes of
`repr`, HTML and URLs may make a text a few times longer than its size.

The bounds: a value of at most `MAX_VALUE` characters, a number of at most
`MAX_INT_BITS`; per rendering (`budget`), `MAX_MADE` characters made in all and
`MAX_STEPS` loop rounds and calls; and `MAX_OUTPUT` characters rendered (`templates`).
"""
from __future__ import annotations

import re
from collections.abc import Callable, ItemsView, KeysView, Mapping, Sized, ValuesView
from typing import Any, NamedTuple

from _string import formatter_parser  # type: ignore[import-not-found]  # str.format's own parser
from jinja2.utils import Namespace

from occo.util.errors import OccoError

MAX_VALUE = 16 * 1024 * 1024      # characters of a value's text
MAX_OUTPUT = MAX_VALUE            # characters one template renders
MAX_INT_BITS = 1 << 20            # about 315,000 decimal digits
MAX_MADE = 64 * 1024 * 1024       # characters one rendering makes in all
MAX_STEPS = 256 * 1024            # loop rounds and calls of one rendering
READ_CHARACTERS = 4096            # characters one step may read (compare, search, slice)
READ_ITEMS = 64                   # items one step may go through (`in`, `==` on lists)

HINT = "templates make text for a node, not bulk data: ship large files another way"

_ITEM = 4           # the quotes, comma and space around an item in a container's text
_OTHER = 32         # the text of a number, a function, a loop, ...: short
_SEQUENCES = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)
_CONTAINERS = frozenset({list, tuple, dict, set, frozenset})
_REPEATABLE = (str, bytes, list, tuple)
_LONG = 10 ** 19    # a number of more digits is no width a format takes
_SPEC_NUMBER = re.compile(r"\d+")


class TemplateTooLarge(OccoError):
    """A template would make a value, or do work, beyond the bounds."""


def refuse(size: int, what: str) -> None:
    """`TemplateTooLarge` if a value of `size` characters is more than `MAX_VALUE`."""
    if size > MAX_VALUE:
        raise TemplateTooLarge(f"{what} would make a value of {size:,} characters, more than "
                               f"the {MAX_VALUE:,} a template may make", hint=HINT)


def _refuse_bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateTooLarge(f"{what} would make a number of about {bits:,} bits, more than "
                               f"the {MAX_INT_BITS:,} a template may make", hint=HINT)


# --- the size of a value --------------------------------------------------------------------

class _Weigher:
    """Adds up the text of values, giving up once past `limit` (the estimate is refused then);
    walking a container costs a step per item, so no more than `limit` steps."""

    def __init__(self, limit: int, numbers_in_text: bool = False) -> None:
        self.limit = limit
        self.total = 0
        self.largest = 0            # the largest whole number seen: a width a format may take
        self._numbers_in_text = numbers_in_text   # a width may be given as text, too
        self._open: set[int] = set()   # containers being walked: a cycle writes as `[...]`

    def add(self, value: Any) -> None:
        if self.total > self.limit:
            return
        kind = type(value)        # the common types first: isinstance of an ABC is slow
        if kind is str or kind is bytes or isinstance(value, (str, bytes, bytearray)):
            self.total += len(value)
            if self._numbers_in_text and isinstance(value, str):
                self.largest = max(self.largest, _largest_number(value))
        elif kind is int or kind is bool or isinstance(value, int):
            self.largest = max(self.largest, value)
            self.total += _digits(value)
        elif kind is float or value is None:
            self.total += _OTHER
        elif kind in _CONTAINERS or isinstance(value, (Mapping, Namespace, *_SEQUENCES)):
            self._add_items(value)
        else:
            self.total += _OTHER

    def _add_items(self, value: Any) -> None:
        if id(value) in self._open:
            self.total += _ITEM
            return
        self._open.add(id(value))
        if isinstance(value, Namespace):
            value = object.__getattribute__(value, "_Namespace__attrs")
        items = value.items() if isinstance(value, (dict, Mapping)) else value
        self.total += 2 + _ITEM * len(items)
        for item in items:
            if type(item) is str:
                self.total += len(item)
            else:
                self.add(item)
            if self.total > self.limit:
                break
        self._open.discard(id(value))


def _largest_number(text: str) -> int:
    numbers = [number.lstrip("0") for number in _SPEC_NUMBER.findall(text)]
    return max((int(number) if len(number) < 20 else _LONG for number in numbers), default=0)


def _digits(number: int) -> int:
    return abs(number).bit_length() * 3 // 10 + 2


def weight(value: Any, limit: int = MAX_VALUE) -> int:
    """About how many characters `str(value)` has; once past `limit`, a number past it."""
    if type(value) is str:
        return len(value)
    weigher = _Weigher(limit)
    weigher.add(value)
    return weigher.total


def number_asked(value: Any) -> int:
    """How many, when a number of something is asked (`batch(items, N)`): 0 if not a number."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- operators ------------------------------------------------------------------------------

def binop_size(op: str, left: Any, right: Any) -> int:
    """The size of `left op right`, 0 for a number (refused here if too large)."""
    if op == "*":
        if isinstance(left, int) and isinstance(right, int):
            _refuse_bits(left.bit_length() + right.bit_length(), "a multiplication")
        elif isinstance(right, int) and isinstance(left, _REPEATABLE):
            return weight(left) * max(right, 0)
        elif isinstance(left, int) and isinstance(right, _REPEATABLE):
            return weight(right) * max(left, 0)
    elif op == "+" and isinstance(left, _REPEATABLE):
        return weight(left) + weight(right)
    elif op == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        _refuse_bits(right * max(abs(left).bit_length() - 1, 0), "a power")
    elif op == "%" and isinstance(left, (str, bytes)):
        return printf_size(left, right)
    return 0


def concat_size(parts: tuple[Any, ...]) -> int:
    """The size of `a ~ b ~ ...`."""
    return sum(weight(part) for part in parts)


# --- formats --------------------------------------------------------------------------------

class _Format(NamedTuple):
    fields: int          # replacement fields (or more: an escaped brace or percent counts)
    widest: int          # the largest width or precision written in the format
    from_arguments: bool  # whether a width comes from an argument (`{:{1}}`, `%*s`)


def _size(text: str | bytes, form: _Format, arguments: Any) -> int:
    """len(format) + fields x (size of all arguments + widest width): each field writes at
    most all of the arguments, padded to at most the widest width."""
    weigher = _Weigher(MAX_VALUE, numbers_in_text=form.from_arguments)
    weigher.add(arguments)
    widest = max(form.widest, weigher.largest if form.from_arguments else 0)
    return len(text) + form.fields * (weigher.total + widest)


def printf_size(text: str | bytes, arguments: Any) -> int:
    """The size of `text % arguments` (also the `format` filter)."""
    return _size(text, _printf_form(text if isinstance(text, str) else text.decode("latin-1")),
                 arguments)


def format_size(text: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """The size of `text.format(*args, **kwargs)` (and `format_map`)."""
    return _size(text, _format_form(text), (args, kwargs))


def _printf_form(text: str) -> _Format:
    widest, from_arguments, at = 0, False, text.find("%")
    fields = text.count("%")
    while at >= 0:
        at += 1
        if text.startswith("(", at):         # a mapping key, whose parentheses nest
            depth = 0
            while at < len(text):
                depth += {"(": 1, ")": -1}.get(text[at], 0)
                at += 1
                if depth == 0:
                    break
        while at < len(text) and text[at] in "-#0 +":
            at += 1
        for _ in range(2):                  # a width, then a precision after a dot
            if text.startswith("*", at):
                from_arguments, at = True, at + 1
            else:
                number = _SPEC_NUMBER.match(text, at)
                if number:
                    widest, at = max(widest, int(number.group())), number.end()
            if not text.startswith(".", at):
                break
            at += 1
        at = text.find("%", at + 1)
    return _Format(fields, widest, from_arguments)


def _format_form(text: str) -> _Format:
    widest, from_arguments = 0, False
    try:
        for _literal, _field, spec, _conversion in formatter_parser(text):
            if spec:
                from_arguments = from_arguments or "{" in spec
                widest = max([widest, *map(int, _SPEC_NUMBER.findall(spec))])
    except ValueError:          # a bad format: str.format says what is wrong with it
        pass
    return _Format(text.count("{"), widest, from_arguments)


# --- filters and methods --------------------------------------------------------------------

def joined_size(items: Any, separator: Any) -> int:
    """The size of `separator.join(items)`."""
    items = items if isinstance(items, Sized) else list(items)
    return weight(items) + weight(separator) * max(len(items) - 1, 0)


def replaced_size(text: Any, old: Any, new: Any, count: Any = None) -> int:
    """The size of `text.replace(old, new, count)`."""
    if not (isinstance(text, bytes) and isinstance(old, bytes) and isinstance(new, bytes)):
        text, old, new = str(text), str(old), str(new)
    found = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def indented_size(text: Any, width: Any = 4, *args: Any, **kwargs: Any) -> int:
    """The size of `text|indent(width)`."""
    text = str(text)
    pad = len(width) if isinstance(width, str) else number_asked(width)
    return len(text) + pad * (text.count("\n") + 1)


def wrapped_size(text: Any, width: Any = 79, break_long_words: Any = True,
                 wrapstring: Any = None, *args: Any, **kwargs: Any) -> int:
    """The size of `text|wordwrap(...)`: at worst a line break after each character."""
    size = weight(text)
    return size + (size + 1) * len(str(wrapstring or "\n"))


def urlized_size(text: Any, trim_url_limit: Any = None, nofollow: Any = False,
                 target: Any = None, rel: Any = None, *args: Any, **kwargs: Any) -> int:
    """The size of `text|urlize`: each word may be a link written twice, with its attributes."""
    text = str(text)
    words = len(text.split()) + 1
    return 2 * len(text) + words * (64 + weight(target or "") + weight(rel or ""))


def translated_size(text: str | bytes, table: Any) -> int:
    """The size of `text.translate(table)`: each character may become the longest replacement."""
    if isinstance(table, Mapping):
        table = table.values()
    longest = max((weight(item) for item in table), default=1) if isinstance(table, Sized) else 1
    return len(text) * max(longest, 1)


class FilterCost(NamedTuple):
    """What a filter costs: its size from its arguments (None: the size of the text of its
    value), and whether it goes through the items of its value (a step each)."""

    size: Callable[..., int] | None = None
    items: bool = False


_REFERENCES = FilterCost(lambda *args, **kwargs: 0)        # makes nothing new, or a number
_ITEMS = FilterCost(lambda *args, **kwargs: 0, items=True)  # goes through items, makes a list


def _summed(value: Any, attribute: Any = None, start: Any = 0) -> int:
    if isinstance(start, (list, tuple)):   # adding lists copies each partial sum
        return weight(value) + weight(start)
    return 0


# filter name -> its cost; a filter not named here costs the text of its value
FILTER_COSTS: dict[str, FilterCost] = {
    **dict.fromkeys(("abs", "attr", "count", "d", "default", "filesizeformat", "first", "float",
                     "int", "last", "length", "random", "round"), _REFERENCES),
    **dict.fromkeys(("dictsort", "groupby", "items", "list", "map", "max", "min", "reject",
                     "rejectattr", "reverse", "select", "selectattr", "sort", "unique"), _ITEMS),
    "batch": FilterCost(lambda value, linecount, fill_with=None: number_asked(linecount), True),
    "slice": FilterCost(lambda value, slices, fill_with=None: number_asked(slices), True),
    "sum": FilterCost(_summed, True),
    "join": FilterCost(lambda value, d="", attribute=None: joined_size(value, str(d)), True),
    "center": FilterCost(lambda value, width=80: max(number_asked(width), weight(value))),
    "indent": FilterCost(indented_size),
    "format": FilterCost(lambda value, *args, **kwargs: printf_size(str(value), kwargs or args)),
    "replace": FilterCost(replaced_size),
    "truncate": FilterCost(lambda value, length=255, killwords=False, end="...", *args,
                           **kwargs: weight(value) + weight(end)),
    "wordwrap": FilterCost(wrapped_size),
    "urlize": FilterCost(urlized_size),
}

_PADDED = frozenset({"center", "ljust", "rjust", "zfill"})
_READS = frozenset({"count", "endswith", "find", "index", "rfind", "rindex", "startswith",
                    "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier",
                    "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper"})
_ADDS = frozenset({"append", "insert", "extend", "update", "setdefault", "add"})


def method_size(method: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """The size of what a call of a method of a string, bytes, list, dict or set makes or adds."""
    method = getattr(method, "__wrapped__", method)     # the sandbox wraps str.format
    target = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    first = args[0] if args else None
    if isinstance(target, (str, bytes)):
        if name in _PADDED:
            return max(number_asked(first), len(target))
        if name == "expandtabs":
            return len(target) + target.count(b"\t" if isinstance(target, bytes) else "\t") * (
                number_asked(first if args else kwargs.get("tabsize", 8)))
        if name == "replace" and len(args) >= 2:
            return replaced_size(target, *args[:3])
        if name == "join" and args:
            return joined_size(first, target)
        if name == "translate" and args:
            return translated_size(target, first)
        if name == "format" and isinstance(target, str):
            return format_size(target, args, kwargs)
        if name == "format_map" and isinstance(target, str) and args:
            return format_size(target, (), first)
        return 0 if name in _READS else len(target)
    if isinstance(target, (list, dict, set)):
        if name in _ADDS:
            if len(target) + _items(name, first) > MAX_VALUE:
                refuse(len(target) + _items(name, first), f"{type(target).__name__}.{name}")
            return sum(map(weight, args)) + (weight(kwargs) if kwargs else 0)
        if name == "copy":
            return weight(target)
    return 0


def read_steps(*values: Any) -> int:
    """The steps reading `values` through costs: a comparison, a search or a slice of a large
    value makes nothing, but a loop of them would run for minutes."""
    steps = 0
    for value in values:
        if isinstance(value, (str, bytes, bytearray)):
            steps += len(value) // READ_CHARACTERS
        elif isinstance(value, (list, tuple, dict, set, frozenset)):
            steps += len(value) // READ_ITEMS
    return steps


def method_steps(method: Any, args: tuple[Any, ...]) -> int:
    """The items a method of a list, dict or set goes through (`sort`, `index`, `extend`, ...),
    and what a method of a string reads (`find`, `count`, `split`, ...)."""
    target = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if isinstance(target, (str, bytes, bytearray)):
        return read_steps(target, *args)
    if not isinstance(target, (list, dict, set)) or name in ("append", "insert", "pop", "get",
                                                              "setdefault", "add", "keys",
                                                              "values", "items", "clear",
                                                              "popitem"):
        return 0
    first = args[0] if args else None
    if name in ("extend", "update"):
        return len(first) if isinstance(first, Sized) else 0
    return len(target)


def _items(name: str, added: Any) -> int:
    if name in ("extend", "update"):
        return len(added) if isinstance(added, Sized) else 0
    return 1
