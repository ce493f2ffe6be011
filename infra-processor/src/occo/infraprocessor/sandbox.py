"""Jinja's sandbox with every growing operation and every loop of a template counted.

Jinja's sandbox bounds `range` (100,000 items, its `MAX_RANGE`) but neither the
values that operators, filters and methods make nor how long a template runs.
`BoundedSandbox` hooks where a template makes or repeats something, refuses
what `bounds` estimates too large before it is built, and counts the rest in
the rendering's `budget`:

- the operators `*`, `+`, `**`, `%` (Jinja's `intercepted_binops`) and `~`;
- every filter (its size, or the text of its value; a step, and one per item of
  the value for those that go through items: `map`, `list`, `join`, ...);
- every call (a step): the methods of strings and bytes that make text
  (`format`, `center`, `replace`, `join`, `translate`, ...), the methods that
  add to a list, dict or set (`append`, `insert`, `extend`, `update`,
  `setdefault`, `add`: the text of what they add), macros, `lipsum`;
- every `{% for %}` (a step per round: the length of a list up front, one by
  one for an iterator) and every `loop(...)` of a recursive loop;
- the text a macro, a call block or `{% set %}...{% endset %}` collects, and
  the text of each value `{{ ... }}` writes out;
- what a comparison (`==`, `in`, ...), a test (`is in`), a slice or a method of
  a string reads (a step per `READ_CHARACTERS` characters or `READ_ITEMS`
  items), and the value a slice makes: such operations make little or
  nothing, yet a loop of them over a large value would run for minutes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sized
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, operators
from jinja2.environment import Template
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg, pass_context

from . import budget
from .bounds import (FILTER_COSTS, FilterCost, binop_size, concat_size, method_size,
                     method_steps, number_asked, read_steps, refuse, weight)

_LISTED_ARGUMENTS = frozenset({"join", "extend", "update"})   # methods that go through an iterable
_JINJA_KEYWORDS = frozenset({"_loop_vars", "_block_vars"})    # what Jinja passes to every call


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles `~`, the iterable of each loop and the buffers of macros and blocks to checked
    forms (Jinja's own have no hooks for them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._iterables: set[int] = set()   # the iterables of loops, by identity

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self._iterables.add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) not in self._iterables:
            return super().visit(node, *args, **kwargs)
        self.write("environment.counted(context, ")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat(context, (")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("(environment.read(context, ")
        self.visit(node.expr, frame)
        self.write(")")
        for operand in node.ops:
            self.write(f" {operators[operand.op]} environment.read(context, ")
            self.visit(operand.expr, frame)
            self.write(")")
        self.write(")")

    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):     # Jinja's slices bypass its getitem
            super().visit_Getitem(node, frame)
            return
        self.write("environment.sliced(context, ")
        self.visit(node.node, frame)
        self.write(", slice(")
        for index, part in enumerate((node.arg.start, node.arg.stop, node.arg.step)):
            self.write(", " if index else "")
            if part is None:
                self.write("None")
            else:
                self.visit(part, frame)
        self.write("))")

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.bounded_buffer(context)")


class _Buffer(list):  # type: ignore[type-arg]
    """The text a macro or a block collects, counted as it grows."""

    def __init__(self, context: Context) -> None:
        super().__init__()
        self._budget = budget.of(context)
        self._size = 0

    def append(self, text: str) -> None:
        self._grow(len(text))
        super().append(text)

    def extend(self, texts: Iterable[str]) -> None:
        texts = tuple(texts)
        self._grow(sum(map(len, texts)))
        super().extend(texts)

    def _grow(self, size: int) -> None:
        self._size += size
        refuse(self._size, "the text a macro or block collects")
        self._budget.make(size, "the text a macro or block collects")


class _BudgetedTemplate(Template):
    """A template whose every rendering starts a budget of its own."""

    def new_context(self, vars: dict[str, Any] | None = None, shared: bool = False,  # noqa: A002
                    locals: dict[str, Any] | None = None) -> Context:  # noqa: A002
        context = super().new_context(vars, shared, locals)
        budget.start(context)
        return context


_PASSED: dict[Any, Callable[[Context], tuple[Any, ...]]] = {
    _PassArg.context: lambda context: (context,),
    _PassArg.eval_context: lambda context: (context.eval_ctx,),
    _PassArg.environment: lambda context: (context.environment,),
    None: lambda context: (),
}


def _passing(function: Callable[..., Any]) -> Callable[[Context], tuple[Any, ...]]:
    """What Jinja passes before the arguments of `function` (`pass_context`, ...)."""
    return _PASSED[_PassArg.from_obj(function)]


def _listed(value: Any) -> Any:
    """An iterator as a list (to size it and still use it), anything else as it is."""
    return list(value) if isinstance(value, Iterator) else value


def _bounded_filter(filter_: Callable[..., Any], name: str) -> Callable[..., Any]:
    cost = FILTER_COSTS.get(name, FilterCost())
    passed = _passing(filter_)
    what = f"the filter {name}"

    @pass_context
    def bounded(context: Context, *args: Any, **kwargs: Any) -> Any:
        spent = budget.of(context)
        spent.step()
        if cost.items and args:
            args = (_listed(args[0]), *args[1:])
            spent.step(len(args[0]) if isinstance(args[0], Sized) else 0)
        spent.make(cost.size(*args, **kwargs) if cost.size else weight(args[0] if args else None),
                   what)
        return filter_(*passed(context), *args, **kwargs)

    bounded.__name__ = getattr(filter_, "__name__", name)
    bounded.__wrapped__ = filter_  # type: ignore[attr-defined]
    return bounded


def _bounded_test(test: Callable[..., Any], name: str) -> Callable[..., Any]:
    passed = _passing(test)

    @pass_context
    def bounded(context: Context, *args: Any, **kwargs: Any) -> Any:
        budget.of(context).step(1 + read_steps(*args))
        return test(*passed(context), *args, **kwargs)

    bounded.__name__ = getattr(test, "__name__", name)
    bounded.__wrapped__ = test  # type: ignore[attr-defined]
    return bounded


class _BoundedTests(dict):  # type: ignore[type-arg]
    """The tests of a bounded sandbox (`is in`, `is eq`, ...): each call counted as it reads."""

    def __setitem__(self, name: str, test: Callable[..., Any]) -> None:
        super().__setitem__(name, _bounded_test(test, name))


class _BoundedFilters(dict):  # type: ignore[type-arg]
    """The filters of a bounded sandbox: each one set is counted (`b64encode`, ...)."""

    def __setitem__(self, name: str, filter_: Callable[..., Any]) -> None:
        super().__setitem__(name, _bounded_filter(filter_, name))


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with every growing operation checked before it runs and every
    rendering's work counted in a budget of its own."""

    code_generator_class = _BoundedCodeGenerator
    template_class = _BudgetedTemplate
    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def __init__(self, **options: Any) -> None:
        finalize = options.pop("finalize", None)
        super().__init__(finalize=self._written_out(finalize), **options)
        filters = _BoundedFilters()
        for name, filter_ in self.filters.items():
            filters[name] = filter_
        self.filters = filters
        tests = _BoundedTests()
        for name, test in self.tests.items():
            tests[name] = test
        self.tests = tests
        lipsum = self.globals["lipsum"]

        @pass_context
        def bounded_lipsum(context: Context, n: int = 5, html: bool = True, min: int = 20,
                           max: int = 100) -> str:
            budget.of(context).make(number_asked(n) * number_asked(max) * 16, "lipsum")
            return lipsum(n, html, min, max)

        self.globals["lipsum"] = bounded_lipsum

    @staticmethod
    def _written_out(finalize: Callable[..., Any] | None) -> Callable[..., Any]:
        """Jinja's `finalize`: checks the text of each `{{ ... }}` before `finalize` (if any)."""
        passed = _passing(finalize) if finalize else None

        @pass_context
        def written_out(context: Context, value: Any) -> Any:
            refuse(weight(value), "writing out a value")
            return finalize(*passed(context), value) if finalize and passed else value
        return written_out

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        budget.of(context).make(binop_size(operator_, left, right), f"the operator {operator_}")
        return super().call_binop(context, operator_, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any,  # noqa: N805
             **kwargs: Any) -> Any:
        spent = budget.of(__context)
        spent.step()
        name = getattr(__obj, "__name__", "")
        arguments = {key: value for key, value in kwargs.items() if key not in _JINJA_KEYWORDS}
        if args and (name in _LISTED_ARGUMENTS or isinstance(__obj, LoopContext)):
            args = (_listed(args[0]), *args[1:])
        if isinstance(__obj, LoopContext):       # `loop(children)` of a recursive loop
            args = (__self.counted(__context, args[0]), *args[1:]) if args else args
        else:
            spent.make(method_size(__obj, args, arguments), f"the method {name}")
            spent.step(method_steps(__obj, args))
        return super().call(__context, __obj, *args, **kwargs)

    def counted(self, context: Context, iterable: Any) -> Any:
        """The iterable of a loop, its rounds counted (up front if it has a length)."""
        spent = budget.of(context)
        if isinstance(iterable, Sized):
            spent.step(len(iterable))
            return iterable
        return _counting(iterable, spent)

    def read(self, context: Context, value: Any) -> Any:
        """An operand of a comparison, its reading counted."""
        budget.of(context).step(read_steps(value))
        return value

    def sliced(self, context: Context, value: Any, part: slice) -> Any:
        """`value[part]`, its reading and the value it makes counted before it is made."""
        if isinstance(value, Sized) and not isinstance(value, range):
            size = len(range(*part.indices(len(value))))
            spent = budget.of(context)
            spent.step(read_steps(value))
            spent.make(size, "a slice")
        return value[part]

    def bounded_concat(self, context: Context, parts: tuple[Any, ...]) -> str:
        budget.of(context).make(concat_size(parts), "joining values with ~")
        return "".join(map(str, parts))

    def bounded_buffer(self, context: Context) -> list[str]:
        return _Buffer(context)


def _counting(iterable: Any, spent: budget.Budget) -> Iterator[Any]:
    for item in iterable:
        spent.step()
        yield item
