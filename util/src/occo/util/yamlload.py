"""Loading Occopus YAML files safely, keeping the source position of every value.

Mappings load as `YamlMap` and sequences as `YamlList`: a `dict` and a `list`
that also remember where they, their keys and their items stood, so a checker
can say `file:line:column` about any value. Only plain YAML is built (the safe
loader): a Python-object tag such as `!!python/object` is an error, not code.

Two tags of the original Occopus are honoured:
- `!yaml_import {url: file://PATH}` is the parsed YAML of PATH,
- `!text_import {url: file://PATH}` is the raw text of PATH,
with PATH relative to the including file. An import may read only inside the
folder of the file loaded (and below it) and the folders the settings add.
Anchors, aliases and merge keys (`<<`) work as in any YAML (an alias is the very
same object as its anchor).

Loading is bounded (`occo.util.limits.LoadLimits`): the bytes read, the values
held (an alias counting as a full copy of its anchor, so that an alias bomb is
refused while it is read), the nesting depth and the import chain. Past a
bound, or on any value a tag cannot read, a `YamlError` says where and why.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from .errors import OccoError, SourceLocation
from .gcpause import gc_paused
from .limits import DEFAULT_LIMITS, LoadLimits
from .textfile import FileTooLarge, UnreadableFile, read_text

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
IMPORT_TAGS = ("!yaml_import", "!text_import")


class YamlError(OccoError):
    """A file is not valid YAML, or an import in it cannot be followed."""


class YamlLimitError(YamlError):
    """Loading a file would pass one of the bounds of `LoadLimits`."""


class YamlTagError(YamlError):
    """A value has a tag that this load does not read (`!!python/...`, or `!UDS` and the
    other tags of the original config format when they are not read leniently)."""


Position = tuple[int, int]  # line and column, counted from 1


class YamlMap(dict):
    """A mapping from YAML, with the position of itself, its keys and its values.

    Positions are kept as (line, column) pairs with the file name held once, and
    turned into `SourceLocation`s only when asked: a large file has many values
    and few errors.
    """

    __slots__ = ("source", "position", "key_positions", "value_positions")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source, self.position = None, None
        self.key_positions: dict[Any, Position] = {}
        self.value_positions: dict[Any, Position] = {}

    @property
    def location(self) -> SourceLocation:
        return _location(self.source, self.position)


class YamlList(list):
    """A sequence from YAML, with the position of itself and of each item."""

    __slots__ = ("source", "position", "item_positions")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.source, self.position = None, None
        self.item_positions: list[Position] = []

    @property
    def location(self) -> SourceLocation:
        return _location(self.source, self.position)


def _location(source: str | None, position: Position | None) -> SourceLocation:
    line, column = position or (None, None)
    return SourceLocation(source, line, column)


def location_of(container: Any, key: Any = None) -> SourceLocation | None:
    """Where `container[key]` (or the container itself, without a key) came from."""
    if key is None:
        return getattr(container, "location", None)
    if isinstance(container, YamlMap):
        return _location(container.source, container.value_positions.get(key, container.position))
    if isinstance(container, YamlList) and isinstance(key, int) and 0 <= key < len(container.item_positions):
        return _location(container.source, container.item_positions[key])
    return getattr(container, "location", None)


def key_location(mapping: Any, key: Any) -> SourceLocation | None:
    """Where a mapping's key was written (for errors about the key itself)."""
    if isinstance(mapping, YamlMap):
        return _location(mapping.source, mapping.key_positions.get(key, mapping.position))
    return getattr(mapping, "location", None)


class _Budget:
    """What one load (a file and its imports) may still spend, and where imports may read."""

    def __init__(self, limits: LoadLimits, roots: tuple[Path, ...],
                 import_errors: list[YamlError] | None) -> None:
        self.limits = limits
        self.roots = roots
        self.import_errors = import_errors
        self.values = 0
        self.bytes = 0

    def spend_bytes(self, text: str, where: SourceLocation) -> None:
        self.bytes += len(text.encode("utf-8", "surrogatepass"))
        if self.bytes > self.limits.max_bytes:
            raise YamlLimitError(f"more than {self.limits.max_bytes:,} bytes to read for one "
                                 "file and its imports", location=where, hint=_RAISE_HINT.format(
                                     "max_bytes"))


_RAISE_HINT = "if the file is right, raise yaml: {{{}: ...}} in occopus_config.yaml"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_STR_TAG = "tag:yaml.org,2002:str"
_NO_KEY = object()


class _Loader(_BaseLoader):
    """The safe loader, building YamlMap/YamlList and following Occopus imports.

    Composing (events to nodes) is done here rather than by PyYAML: it counts the
    values as it goes, an alias as a full copy of its anchor, and stops at the
    bounds (`LoadLimits`) before the data grows; PyYAML's own composer has no
    bounds, and libyaml's recurses in C until the process crashes.
    """

    def __init__(self, stream: str, path: Path | None, budget: _Budget,
                 stack: tuple[Path, ...], depth: int, lenient_tags: bool) -> None:
        super().__init__(stream)
        self.path = path
        self.budget = budget
        self.stack = stack
        self.depth = depth          # the nesting depth of the import this file is loaded by
        self.lenient_tags = lenient_tags
        self.imported: dict[int, Any] = {}   # id of an import node: what it imported
        self.source = str(path) if path else "<string>"

    def where(self, mark: Any) -> SourceLocation:
        return SourceLocation(self.source, mark.line + 1, mark.column + 1)

    # --- composing, within the bounds ---------------------------------------

    def get_single_node(self) -> yaml.Node | None:
        self.get_event()                                  # stream start
        node = None
        if not self.check_event(yaml.StreamEndEvent):
            self.get_event()                              # document start
            node = self._compose_tree()
            self.get_event()                              # document end
        if not self.check_event(yaml.StreamEndEvent):
            raise YamlError("not valid YAML: a second document starts here",
                            location=self.where(self.get_event().start_mark),
                            hint="an Occopus file holds one document: remove the '---' line "
                                 "and what follows, or split the file")
        self.get_event()
        return node

    def _compose_tree(self) -> yaml.Node:
        """The document's node graph, built without recursion."""
        anchors: dict[str, yaml.Node] = {}
        sizes: dict[str, int] = {}      # an anchor's value count, once its value is complete
        stack: list[list] = []          # open collections: [node, value count, anchor, key]
        max_depth = self.budget.limits.max_depth - self.depth
        while True:
            event = self.get_event()
            kind = type(event)
            if kind is yaml.AliasEvent:
                node = anchors.get(event.anchor)
                if node is None:
                    raise YamlError(f"alias *{event.anchor} names no anchor before it",
                                    location=self.where(event.start_mark),
                                    hint=f"write &{event.anchor} on a value above this line")
                size = sizes.get(event.anchor)
                if size is None:
                    raise YamlError(f"alias *{event.anchor} is inside the value it names",
                                    location=self.where(event.start_mark),
                                    hint="a value cannot contain itself")
                self._spend(size, event, f"alias *{event.anchor} repeats {size:,} values and ")
            elif kind is yaml.ScalarEvent:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = self.resolve(yaml.ScalarNode, event.value, event.implicit)
                node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                                       style=event.style)
                self._spend(1, event, "")
                size = self._import(node, len(stack)) if tag in IMPORT_TAGS else 1
                self._anchor(event, node, anchors)
                if event.anchor is not None:
                    sizes[event.anchor] = size
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                if len(stack) >= max_depth:
                    raise YamlLimitError(
                        f"lists and mappings nested more than {self.budget.limits.max_depth} "
                        "deep", location=self.where(event.start_mark),
                        hint="no Occopus file needs nesting this deep: flatten the data")
                node_class = yaml.SequenceNode if kind is yaml.SequenceStartEvent else \
                    yaml.MappingNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = self.resolve(node_class, None, event.implicit)
                node = node_class(tag, [], event.start_mark, None, flow_style=event.flow_style)
                self._spend(1, event, "")
                self._anchor(event, node, anchors)
                stack.append([node, 1, event.anchor, _NO_KEY])
                continue
            else:                                          # the end of a list or mapping
                node, size, anchor, _ = stack.pop()
                node.end_mark = event.end_mark
                if node.tag in IMPORT_TAGS:
                    size = self._import(node, len(stack))
                if anchor is not None:
                    sizes[anchor] = size
            if not stack:
                return node
            frame = stack[-1]
            frame[1] += size
            parent = frame[0]
            if type(parent) is yaml.SequenceNode:
                parent.value.append(node)
            elif frame[3] is _NO_KEY:
                frame[3] = node
            else:
                parent.value.append((frame[3], node))
                frame[3] = _NO_KEY

    def _anchor(self, event: Any, node: yaml.Node, anchors: dict[str, yaml.Node]) -> None:
        if event.anchor is None:
            return
        if event.anchor in anchors:
            first = self.where(anchors[event.anchor].start_mark)
            raise YamlError(f"anchor &{event.anchor} is defined twice (first at {first})",
                            location=self.where(event.start_mark), hint="rename one of them")
        anchors[event.anchor] = node

    def _spend(self, values: int, event: Any, what: str) -> None:
        budget = self.budget
        budget.values += values
        if budget.values > budget.limits.max_values:
            raise YamlLimitError(f"{what}the file holds more than {budget.limits.max_values:,} "
                                 "values", location=self.where(event.start_mark),
                                 hint=("an alias counts as a copy of its anchor; "
                                       + _RAISE_HINT.format("max_values")))

    # --- imports, read while composing so that their values count too --------

    def _import(self, node: yaml.Node, depth: int) -> int:
        """Follow an import node; the number of values it adds."""
        try:
            target, text = self._read_import(node)
        except YamlLimitError:
            raise
        except YamlError as error:
            if self.budget.import_errors is None:
                raise
            self.budget.import_errors.append(error)     # the caller reports it with the rest
            self.imported[id(node)] = _empty_map(self, node) if node.tag == "!yaml_import" else ""
            return 1
        if node.tag == "!text_import":
            self.imported[id(node)] = text
            return 1
        before = self.budget.values
        self.imported[id(node)] = _load_with(text, target, self.budget, self.stack,
                                             self.depth + depth + 1, self.lenient_tags)
        return 1 + self.budget.values - before

    def _read_import(self, node: yaml.Node) -> tuple[Path, str]:
        """The file an import node names, and its text, if it may and can be read."""
        tag = node.tag
        where = self.where(node.start_mark)
        target = self._confined(_import_path(self, node, tag), tag, where)
        if len(self.stack) > self.budget.limits.max_import_depth:
            raise YamlLimitError(f"{tag}: more than {self.budget.limits.max_import_depth} files "
                                 "importing each other", location=where,
                                 hint="import the files from fewer levels")
        if target in self.stack:
            chain = " -> ".join(str(p) for p in (*self.stack, target))
            raise YamlError(f"{tag} cycle: {chain}", location=where)
        try:
            text = read_text(target, self.budget.limits.max_bytes - self.budget.bytes)
        except FileTooLarge:
            raise YamlLimitError(f"{tag}: {target} would make more than "
                                 f"{self.budget.limits.max_bytes:,} bytes to read for one file "
                                 "and its imports", location=where,
                                 hint=_RAISE_HINT.format("max_bytes")) from None
        except UnreadableFile as problem:
            raise YamlError(f"{tag}: {problem.message}", location=where,
                            hint=problem.hint or "the path is relative to the file that "
                                                 "imports it") from None
        self.budget.spend_bytes(text, where)
        return target, text

    def _confined(self, target: Path, tag: str, where: SourceLocation) -> Path:
        """The real path of an import target, if it is inside a folder imports may read."""
        try:
            resolved = target.resolve()
        except (OSError, RuntimeError, ValueError) as error:   # a symlink loop, a NUL byte
            raise YamlError(f"{tag}: cannot follow the path {str(target)!r}: {error}",
                            location=where, hint="name a regular file") from None
        if any(resolved.is_relative_to(root) for root in self.budget.roots):
            return resolved
        if not self.budget.roots:
            raise YamlError(f"{tag}: imports need the folder of the file they are in, and this "
                            "text comes from no file", location=where,
                            hint="load the text from a file, or list the folder under "
                                 "yaml: {import_paths: [...]} in occopus_config.yaml")
        folders = ", ".join(str(root) for root in self.budget.roots)
        shown = str(target) if resolved == target.absolute() else f"{target} (that is {resolved})"
        raise YamlError(f"{tag}: {shown} is outside the folders imports may read ({folders})",
                        location=where,
                        hint="keep imported files next to the importing file or below it, or "
                             "list their folder under yaml: {import_paths: [...]} in "
                             "occopus_config.yaml")

    # --- constructing ----------------------------------------------------------

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, LookupError, AttributeError, OverflowError):
            raise _bad_value(self, node) from None


def _empty_map(loader: _Loader, node: yaml.Node) -> YamlMap:
    data = YamlMap()
    data.source = loader.source
    data.position = (node.start_mark.line + 1, node.start_mark.column + 1)
    return data


_VALUE_HINTS = {
    "int": "write a whole number such as 42, or quote the value to keep it as text",
    "float": "write a number such as 1.5, or quote the value to keep it as text",
    "bool": "write true or false",
    "timestamp": "write a date as 2024-01-31, or a time as 2024-01-31T12:00:00Z",
}


def _bad_value(loader: _Loader, node: yaml.Node) -> YamlError:
    """A scalar its tag cannot read, such as `!!int abc` (PyYAML raises a bare ValueError)."""
    name = str(node.tag).replace("tag:yaml.org,2002:", "")
    if not isinstance(node, yaml.ScalarNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
        return YamlError(f"{kind} cannot be read as !!{name}",
                         location=loader.where(node.start_mark), hint=f"remove the !!{name} tag")
    value = node.value
    shown = repr(value if len(value) <= 40 else value[:40] + "...")
    return YamlError(f"{shown} is not a valid !!{name} value",
                     location=loader.where(node.start_mark),
                     hint=_VALUE_HINTS.get(name, "quote the value to keep it as text"))


def _merge_sources(loader: _Loader, node: yaml.MappingNode) -> list[yaml.MappingNode]:
    """The mappings that `<<` keys merge into a mapping, those that win first.

    As in YAML 1.1 and PyYAML: in `<<: [*a, *b]` the first wins, and of two `<<`
    keys the later wins; the mapping's own keys win over all of them.
    """
    groups = []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE_TAG:
            continue
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode) or source.tag in IMPORT_TAGS:
                raise YamlError("a merge key (<<) takes a mapping or a list of mappings",
                                location=loader.where(source.start_mark),
                                hint="write <<: *anchor or <<: [*first, *second]")
        groups.append(sources)
    return [source for group in reversed(groups) for source in group]


def _own_pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    pairs = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        if key_node.tag == _VALUE_TAG:        # the key `=`: plain text, as PyYAML reads it
            key_node.tag = _STR_TAG
        pairs.append((key_node, value_node))
    return pairs


def _merged_pairs(loader: _Loader, node: yaml.MappingNode):
    """Every pair a mapping gets from its `<<` keys, those that win first.

    The merged mappings are walked depth first from an explicit stack: a chain of
    merges is as long as the file makes it, and must not exhaust Python's stack.
    A mapping merged a second time is skipped, as every pair of it lost already.
    """
    walked: set[int] = set()
    pending = _merge_sources(loader, node)[::-1]
    while pending:
        source = pending.pop()
        if id(source) in walked:
            continue
        walked.add(id(source))
        yield from _own_pairs(source)
        pending.extend(_merge_sources(loader, source)[::-1])


def _construct_map(loader: _Loader, node: yaml.MappingNode):
    data = YamlMap()
    data.source = loader.source
    data.position = (node.start_mark.line + 1, node.start_mark.column + 1)
    yield data
    for key_node, value_node in _own_pairs(node):
        key = _construct_key(loader, key_node)
        if key in data:
            raise YamlError(f"duplicate key {key!r} (first at {key_location(data, key)})",
                            location=loader.where(key_node.start_mark),
                            hint="remove or rename one of them")
        _put(loader, data, key, key_node, value_node)
    for key_node, value_node in _merged_pairs(loader, node):
        key = _construct_key(loader, key_node)
        if key not in data:
            _put(loader, data, key, key_node, value_node)


def _construct_key(loader: _Loader, key_node: yaml.Node) -> Any:
    key = loader.construct_object(key_node, deep=True)
    try:
        hash(key)
    except TypeError:
        raise YamlError("a mapping key must be a plain value, not a list or mapping",
                        location=loader.where(key_node.start_mark)) from None
    return key


def _put(loader: _Loader, data: YamlMap, key: Any, key_node: yaml.Node,
         value_node: yaml.Node) -> None:
    data[key] = loader.construct_object(value_node, deep=True)
    data.key_positions[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    data.value_positions[key] = (value_node.start_mark.line + 1, value_node.start_mark.column + 1)


def _construct_list(loader: _Loader, node: yaml.SequenceNode):
    data = YamlList()
    data.source = loader.source
    data.position = (node.start_mark.line + 1, node.start_mark.column + 1)
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_positions.append((item.start_mark.line + 1, item.start_mark.column + 1))


def _import_path(loader: _Loader, node: yaml.Node, tag: str) -> Path:
    """The file an import names, relative to the including file's folder."""
    where = loader.where(node.start_mark)
    url = None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == "url" and \
                    isinstance(value_node, yaml.ScalarNode):
                url = value_node.value
    if not url:
        raise YamlError(f"{tag} needs a mapping with a 'url' key", location=where,
                        hint=f"write: {tag} {{url: file://other.yaml}}")
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise YamlError(f"{tag} supports only file:// URLs, not {url!r}", location=where)
    base = loader.path.parent if loader.path else Path.cwd()
    return base / unquote(parsed.netloc + parsed.path)


def _imported(loader: _Loader, node: yaml.Node) -> Any:
    """What an import node read while the file was composed."""
    return loader.imported[id(node)]


def _lenient_tag(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    """A tag of the original config format (`!UDS`, `!python_import`, ...): its plain value."""
    if isinstance(node, yaml.MappingNode):
        return _finish(_construct_map(loader, node))
    if isinstance(node, yaml.SequenceNode):
        return _finish(_construct_list(loader, node))
    return loader.construct_scalar(node)


def _finish(generator) -> Any:
    """Run a two-step constructor to the end, as PyYAML does for deep construction."""
    data = next(generator)
    for _ in generator:
        pass
    return data


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_list)
_Loader.add_constructor("!yaml_import", _imported)
_Loader.add_constructor("!text_import", _imported)


class _LenientLoader(_Loader):
    """For config files of the original format, whose tags named Python classes."""


_LenientLoader.add_multi_constructor("!", _lenient_tag)


def _load_with(text: str, path: Path | None, budget: _Budget, stack: tuple[Path, ...],
               depth: int, lenient_tags: bool) -> Any:
    loader_class = _LenientLoader if lenient_tags else _Loader
    own_stack = (*stack, path.resolve()) if path else stack
    loader = loader_class(text, path, budget, own_stack, depth, lenient_tags)
    try:
        with gc_paused():   # loading makes many objects and frees none: collecting is waste
            return loader.get_single_data()
    except yaml.constructor.ConstructorError as error:
        if error.problem and "could not determine a constructor" in error.problem:
            tag = error.problem.split("tag ")[-1].replace("tag:yaml.org,2002:", "!!")
            if tag == "'!!merge'":
                raise YamlError("'<<' is a merge key: it cannot stand as a value",
                                location=_mark(loader, error),
                                hint="quote it ('<<') to keep it as text") from None
            raise YamlTagError(f"unsupported tag {tag}", location=_mark(loader, error),
                               hint="Occopus loads YAML safely: only plain YAML, !yaml_import "
                                    "and !text_import are allowed") from None
        raise YamlError(error.problem or str(error), location=_mark(loader, error)) from None
    except yaml.MarkedYAMLError as error:
        hint = error.context or None
        raise YamlError(f"not valid YAML: {error.problem}", location=_mark(loader, error),
                        hint=hint) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        character = error.character if isinstance(error.character, int) else ord(error.character)
        raise YamlError(f"not valid YAML: the character U+{character:04X} is not allowed",
                        location=SourceLocation(loader.source, line, column),
                        hint="remove the control character") from None
    except yaml.YAMLError as error:
        raise YamlError(f"not valid YAML: {error}",
                        location=SourceLocation(loader.source)) from None
    finally:
        loader.dispose()


def _mark(loader: _Loader, error: yaml.MarkedYAMLError) -> SourceLocation:
    mark = error.problem_mark or error.context_mark
    return loader.where(mark) if mark else SourceLocation(str(loader.path or "<string>"))


def _load(text: str, path: Path | None, limits: LoadLimits | None, lenient_tags: bool,
          import_errors: list[YamlError] | None) -> Any:
    limits = limits or DEFAULT_LIMITS
    roots = tuple(folder.expanduser().resolve() for folder in limits.import_paths)
    if path is not None:
        roots = (path.absolute().parent.resolve(), *roots)
    budget = _Budget(limits, roots, import_errors)
    budget.spend_bytes(text, SourceLocation(str(path) if path else "<string>"))
    return _load_with(text, path, budget, (), 0, lenient_tags)


def load_file(path: str | Path, *, lenient_tags: bool = False, limits: LoadLimits | None = None,
              import_errors: list[YamlError] | None = None) -> Any:
    """Load a YAML file; `YamlError` (with file:line:column) if it cannot be read.

    `lenient_tags` reads the tags of the original Occopus config format
    (`!UDS`, `!python_import`, ...) as their plain values. `limits` bounds the
    cost of loading (the defaults of `LoadLimits` without it). With a list as
    `import_errors`, an import whose file cannot be read (missing, outside the
    allowed folders, not a regular file, a cycle) is added to it and loads as
    an empty value, so that a checker can still report the rest of the file;
    without one it is raised. Errors inside an imported file are raised.
    """
    path = Path(path)
    return _load(read_file(path, limits), path, limits, lenient_tags, import_errors)


def read_file(path: str | Path, limits: LoadLimits | None = None) -> str:
    """The text of a file to load, read within `limits.max_bytes`; `YamlError` if it cannot be.

    Only a regular file is read: a FIFO or a device is refused without waiting on it.
    For a caller that looks at the text itself before loading it with `load_text`.
    """
    limits = limits or DEFAULT_LIMITS
    where = SourceLocation(str(path))
    try:
        return read_text(Path(path), limits.max_bytes)
    except FileTooLarge:
        raise YamlLimitError(f"{path} is larger than {limits.max_bytes:,} bytes", location=where,
                             hint=_RAISE_HINT.format("max_bytes")) from None
    except UnreadableFile as problem:
        raise YamlError(problem.message, location=where, hint=problem.hint) from None


def load_text(text: str, *, source: str | Path | None = None, lenient_tags: bool = False,
              limits: LoadLimits | None = None,
              import_errors: list[YamlError] | None = None) -> Any:
    """Load YAML from a string as `load_file` loads a file's; imports resolve relative to
    `source`'s folder (the file the text was read from).

    Without a `source`, imports may read only the folders of `limits.import_paths`.
    """
    return _load(text, Path(source) if source else None, limits, lenient_tags, import_errors)


def to_plain(data: Any) -> Any:
    """The same data as plain dicts and lists (for storing or comparing)."""
    if isinstance(data, dict):
        return {key: to_plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [to_plain(item) for item in data]
    return data
