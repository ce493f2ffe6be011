"""Loading Occopus YAML files safely, keeping the source position of every value.

Mappings load as `YamlMap` and sequences as `YamlList`: a `dict` and a `list`
that also remember where they, their keys and their items stood, so a checker
can say `file:line:column` about any value. Only plain YAML is built (the safe
loader): a Python-object tag such as `!!python/object` is an error, not code.

Two tags of the original Occopus are honoured:
- `!yaml_import {url: file://PATH}` is the parsed YAML of PATH,
- `!text_import {url: file://PATH}` is the raw text of PATH,
with PATH relative to the including file. Anchors and aliases work as in any
YAML (an alias is the very same object as its anchor).
"""
from __future__ import annotations

import gc
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from .errors import OccoError, SourceLocation

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
IMPORT_TAGS = ("!yaml_import", "!text_import")


class YamlError(OccoError):
    """A file is not valid YAML, or an import in it cannot be followed."""


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


class _Loader(_BaseLoader):
    """The safe loader, building YamlMap/YamlList and following Occopus imports."""

    def __init__(self, stream: str, path: Path | None, stack: tuple[Path, ...],
                 lenient_tags: bool) -> None:
        super().__init__(stream)
        self.path = path
        self.stack = stack
        self.lenient_tags = lenient_tags

        self.source = str(path) if path else "<string>"

    def where(self, mark: Any) -> SourceLocation:
        return SourceLocation(self.source, mark.line + 1, mark.column + 1)


def _construct_map(loader: _Loader, node: yaml.MappingNode):
    data = YamlMap()
    data.source = loader.source
    data.position = (node.start_mark.line + 1, node.start_mark.column + 1)
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise YamlError("a mapping key must be a plain value, not a list or mapping",
                            location=loader.where(key_node.start_mark)) from None
        if key in data:
            raise YamlError(f"duplicate key {key!r} (first at {key_location(data, key)})",
                            location=loader.where(key_node.start_mark),
                            hint="remove or rename one of them")
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


def _import_target(loader: _Loader, node: yaml.Node, tag: str) -> Path:
    where = loader.where(node.start_mark)
    if not isinstance(node, yaml.MappingNode):
        raise YamlError(f"{tag} needs a mapping with a 'url' key", location=where,
                        hint=f"write: {tag} {{url: file://other.yaml}}")
    spec = loader.construct_mapping(node, deep=True)
    url = spec.get("url")
    if not isinstance(url, str):
        raise YamlError(f"{tag} needs a 'url' key", location=where,
                        hint=f"write: {tag} {{url: file://other.yaml}}")
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise YamlError(f"{tag} supports only file:// URLs, not {url!r}", location=where)
    base = loader.path.parent if loader.path else Path.cwd()
    target = base / unquote(parsed.netloc + parsed.path)
    if not target.is_file():
        raise YamlError(f"{tag}: file not found: {target}", location=where,
                        hint="the path is relative to the file that imports it")
    return target


def _yaml_import(loader: _Loader, node: yaml.Node) -> Any:
    target = _import_target(loader, node, "!yaml_import")
    if target.resolve() in loader.stack:
        chain = " -> ".join(str(p) for p in (*loader.stack, target.resolve()))
        raise YamlError(f"!yaml_import cycle: {chain}", location=loader.where(node.start_mark))
    return _load(target.read_text(), target, loader.stack, loader.lenient_tags)


def _text_import(loader: _Loader, node: yaml.Node) -> str:
    return _import_target(loader, node, "!text_import").read_text()


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
_Loader.add_constructor("!yaml_import", _yaml_import)
_Loader.add_constructor("!text_import", _text_import)


class _LenientLoader(_Loader):
    """For config files of the original format, whose tags named Python classes."""


_LenientLoader.add_multi_constructor("!", _lenient_tag)


def _load(text: str, path: Path | None, stack: tuple[Path, ...], lenient_tags: bool) -> Any:
    loader_class = _LenientLoader if lenient_tags else _Loader
    own_stack = (*stack, path.resolve()) if path else stack
    loader = loader_class(text, path, own_stack, lenient_tags)
    collecting = gc.isenabled()
    gc.disable()  # loading makes many objects and frees none; collecting meanwhile is waste
    try:
        return loader.get_single_data()
    except yaml.constructor.ConstructorError as error:
        if error.problem and "could not determine a constructor" in error.problem:
            tag = error.problem.split("tag ")[-1].replace("tag:yaml.org,2002:", "!!")
            raise YamlError(f"unsupported tag {tag}", location=_mark(loader, error),
                            hint="Occopus loads YAML safely: only plain YAML, !yaml_import and "
                                 "!text_import are allowed") from None
        raise YamlError(error.problem or str(error), location=_mark(loader, error)) from None
    except yaml.MarkedYAMLError as error:
        hint = error.context or None
        raise YamlError(f"not valid YAML: {error.problem}", location=_mark(loader, error),
                        hint=hint) from None
    except yaml.YAMLError as error:
        raise YamlError(f"not valid YAML: {error}",
                        location=SourceLocation(str(path) if path else "<string>")) from None
    finally:
        loader.dispose()
        if collecting:
            gc.enable()


def _mark(loader: _Loader, error: yaml.MarkedYAMLError) -> SourceLocation:
    mark = error.problem_mark or error.context_mark
    return loader.where(mark) if mark else SourceLocation(str(loader.path or "<string>"))


def load_file(path: str | Path, *, lenient_tags: bool = False) -> Any:
    """Load a YAML file; `YamlError` (with file:line:column) if it cannot be read.

    `lenient_tags` reads the tags of the original Occopus config format
    (`!UDS`, `!python_import`, ...) as their plain values.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise YamlError(f"file not found: {path}", location=SourceLocation(str(path))) from None
    except (OSError, UnicodeDecodeError) as error:
        raise YamlError(f"cannot read {path}: {error}", location=SourceLocation(str(path))) from None
    return _load(text, path, (), lenient_tags)


def load_text(text: str, *, source: str | Path | None = None) -> Any:
    """Load YAML from a string; imports resolve relative to `source`'s folder."""
    return _load(text, Path(source) if source else None, (), False)


def to_plain(data: Any) -> Any:
    """The same data as plain dicts and lists (for storing or comparing)."""
    if isinstance(data, dict):
        return {key: to_plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [to_plain(item) for item in data]
    return data
