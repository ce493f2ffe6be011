"""Hostile YAML texts for fuzzing the loader, the checker and the compiler.

Shared by tests/test_fuzz.py (a short, seeded run in the suite) and
bench/fuzz.py (a long run). `run_pipeline` feeds one text through every stage
and lets through only the project's own errors (`OccoError`): any other
exception is a bug, and hypothesis reports the text that raised it.

Texts are built two ways: structured (an infrastructure description or node
definitions, each value possibly replaced by something hostile: wrong types,
tags such as !!int or !!timestamp with bad values, anchors and aliases, merge
keys, deep nesting, odd keys, unicode) and by mutating such a text at random
(deleting, repeating or inserting pieces), for what no structure foresees.
"""
from __future__ import annotations

import json

from hypothesis import strategies as st

from occo.compiler import SchemaRegistry, check_node_definitions, compile_description
from occo.util.errors import OccoError
from occo.util.limits import LoadLimits
from occo.util.schema import Field, Problems, Schema
from occo.util.yamlload import load_text

_TYPE = Field("str", required=True)
REGISTRY = SchemaRegistry({
    "resource": {
        "cloud": Schema("resource cloud", {
            "type": _TYPE, "endpoint": Field("url", required=True, connection=True),
            "flavor": Field("scalar"), "count": Field("int"), "ratio": Field("number"),
            "tags": Field("list", items="str"), "extra": Field("mapping")}),
        "other": Schema("resource other", {"type": _TYPE}, open=True),
    },
    "contextualisation": {"cloudinit": Schema("contextualisation cloudinit", {
        "type": _TYPE, "context_template": Field("text", required=True)})},
    "config_management": {"dummy": Schema("config_management dummy", {"type": _TYPE})},
    "health_check": {"basic": Schema("health_check basic", {
        "type": Field("str"), "ping": Field("bool"), "ports": Field("list", items="port"),
        "urls": Field("list", items="url")})},
})
# small bounds, so that a generated alias bomb or deep nesting is refused quickly
LIMITS = LoadLimits(max_bytes=200_000, max_values=20_000, max_depth=40)

_WORDS = ["a", "db", "web-1", "node_def:web", "<<", "=", "~", "null", "yes", "No", "0x1F",
          "1e400", ".nan", "-.inf", "0o17", "1_000", "2024-01-31", "12:30:45", "é", "日本",
          "\U0001F600", "{{ variables.x }}", "{% if %}", "name", "type", "scaling", "min",
          "max", "variables", "nodes", "dependencies", "infra_name", "user_id", "resource",
          "contextualisation", "health_check", "config_management", "endpoint",
          "context_template", "url", "file://x.yaml", "http://h:1", "ports", "urls"]

# values that load, though of odd types (sets, bytes, dates, huge or odd numbers)
_ODD = ["!!timestamp 2024-01-31", "!!binary aGk=", "!!null x", "!!str 12", "!!set {a, b}",
        "!!omap [{a: 1}, {b: 2}]", "!!pairs [{a: 1}]", "2024-01-31 10:00:00", "2024-01-31",
        "1e400", "-.inf", ".nan", "0b101", "0o777", "9" * 300]
# values the loader must refuse (with a YamlError, not a crash)
_FATAL = ["!!int abc", "!!int 0x", "!!int " + "9" * 5000, "!!float x", "!!float ''",
          "!!timestamp 2020-13-45", "!!timestamp nope", "!!bool maybe", "!!binary '%%%'",
          "!!omap [1]", "!!str {a: 1}", "!!map [1]", "!!seq {a: 1}",
          "!!python/object:os.system x", "!yaml_import {url: 'file:///etc/passwd'}",
          "!text_import {url: 'file://../x'}", "!text_import {url: 'file://a%00b'}",
          "!yaml_import {url: 'file://fuzz.yaml'}", "!yaml_import 3", "!text_import {url: 3}",
          "9" * 5000, "[" * 60 + "]" * 60, "!UDS {a: 1}"]


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)     # a JSON string is a YAML string too


_printable = st.characters(blacklist_categories=("Cc", "Cs"))
_scalars = st.integers(0, 999).flatmap(lambda roll: (
    st.sampled_from(_FATAL) if 500 <= roll < 504 else    # rare: each refuses the whole file
    st.sampled_from(_ODD) if roll < 100 else
    st.integers(min_value=-10**30, max_value=10**30).map(str) if roll < 200 else
    st.floats(allow_nan=True).map(repr) if roll < 250 else
    st.text(_printable, max_size=12).map(_quoted) if roll < 350 else
    st.sampled_from(_WORDS).map(_quoted) if roll < 700 else
    st.sampled_from(["1", "0", "-3", "true", "false", "null", "~", "''", "a", "web", "yes",
                     "0x1F", "1_000", "12:30:45", "é"])))


@st.composite
def _value(draw, anchors: list[str], depth: int = 0) -> str:
    """A YAML value in flow style; it may define an anchor, or be an alias of one."""
    if anchors and draw(st.integers(0, 9)) == 0:
        return "*" + draw(st.sampled_from(anchors))
    choice = draw(st.integers(0, 9)) if depth < 4 else 0
    if choice <= 5:
        text = draw(_scalars)
    elif choice <= 7:
        items = draw(st.lists(_value(anchors, depth + 1), max_size=4))
        text = "[" + ", ".join(items) + "]"
    else:
        text = draw(_mapping(anchors, depth + 1))
    if draw(st.integers(0, 7)) == 0 and not text.startswith("!"):
        name = f"{'m' if text.startswith('{') else 'a'}{len(anchors)}"   # m: a mapping
        anchors.append(name)
        return f"&{name} {text}"
    return text


@st.composite
def _mapping(draw, anchors: list[str], depth: int = 0, keys: list[str] | None = None) -> str:
    """A flow mapping, with the given keys (mostly) and odd ones."""
    wanted = [key for key in (keys or []) if draw(st.integers(0, 5))]
    odd = draw(st.lists(st.one_of(st.sampled_from(_WORDS).map(_quoted),
                                  st.sampled_from(["1", "null", "true", "!!binary aGk=",
                                                   "2024-01-31", "1.5"])),
                        max_size=2))
    pairs = [f"{_quoted(key)}: {draw(_value(anchors, depth))}" for key in wanted]
    pairs += [f"{key}: {draw(_value(anchors, depth))}" for key in odd]
    mappings = [name for name in anchors if name.startswith("m")]
    if mappings and draw(st.integers(0, 3)) == 0:
        merged = draw(st.lists(st.sampled_from(mappings), min_size=1, max_size=3))
        pairs.append("<<: " + ("*" + merged[0] if len(merged) == 1 else
                               "[" + ", ".join("*" + name for name in merged) + "]"))
    return "{" + ", ".join(pairs) + "}"


def _slot(draw, anchors: list[str], hostility: int, valid: str, depth: int = 2) -> str:
    """A valid value, or (one time in `hostility`) a hostile one in its place."""
    if hostility and draw(st.integers(0, hostility - 1)) == 0:
        return draw(_value(anchors, depth))
    return valid


# how hostile a document is: 0 none (it is valid), else one value in this many
_hostility = st.sampled_from([0, 2, 5, 20])


@st.composite
def descriptions(draw) -> str:
    """The text of an infrastructure description: valid, with hostile values here and there."""
    hostility = draw(_hostility)
    anchors: list[str] = []

    def slot(valid: str, depth: int = 2) -> str:
        return _slot(draw, anchors, hostility, valid, depth)

    lines = [f"infra_name: {slot('fuzz')}", f"user_id: {slot('someone')}",
             f"variables: {slot('{region: eu, size: 3}', 1)}", "nodes:"]
    count = draw(st.integers(0 if hostility else 1, 4))
    for index in range(count):
        low = draw(st.integers(0, 3))
        high = low + draw(st.integers(0, 2))
        scaling = slot(f"{{min: {slot(str(low))}, max: {slot(str(high))}}}")
        node = (f"{{name: {slot(f'n{index}')}, type: {slot(draw(st.sampled_from(['web', 'db'])))}, "
                f"scaling: {scaling}, variables: {slot('{port: 80}')}}}")
        if hostility and draw(st.integers(0, hostility)) == 0:
            node = node[:-1] + ", " + draw(_mapping(anchors, 2, ["filter", "create_timeout"]))[1:]
        lines.append(f"  - &n{index} {node}")
        anchors.append(f"n{index}")
    if count > 1:
        lines.append("dependencies:")
        for _ in range(draw(st.integers(0, 3))):
            later = draw(st.integers(1, count - 1))
            pair = f"[*n{later}, *n{draw(st.integers(0, later - 1))}]"
            if draw(st.integers(0, 9)) == 0:
                pair = f"[*n{draw(st.integers(0, later - 1))}, *n{later}]"   # maybe a cycle
            lines.append(f"  - {slot(pair)}")
    return "\n".join(lines) + "\n"


_VALID_SECTIONS = {
    "resource": "{type: cloud, endpoint: 'https://cloud.example:5000', flavor: small, "
                "count: 2, tags: [a, b]}",
    "contextualisation": "{type: cloudinit, context_template: {runcmd: [echo hi]}}",
    "config_management": "{type: dummy}",
    "health_check": "{ping: false, ports: [22, '{{ variables.port }}'], "
                    "urls: ['http://{{ ip }}:80']}",
}


@st.composite
def node_definitions(draw) -> str:
    """The text of a node definition file: valid, with hostile values here and there."""
    hostility = draw(_hostility)
    anchors: list[str] = []
    lines = []
    for index in range(draw(st.integers(1, 3))):
        key = f"node_def:t{index}"
        if hostility and draw(st.integers(0, hostility)) == 0:
            key = draw(st.sampled_from([f"t{index}", "node_def:" + " " * index, str(index)]))
        lines.append(f"{_quoted(key)}:")
        for _ in range(draw(st.integers(1, 2))):
            sections = []
            for section, valid in _VALID_SECTIONS.items():
                if section != "resource" and draw(st.booleans()):
                    continue
                if hostility and draw(st.integers(0, hostility)) == 0:
                    chosen = draw(st.sampled_from(["cloud", "other", "nova", "cloudinit", "1"]))
                    valid = "{type: " + chosen + ", " + draw(_mapping(anchors, 2, ["endpoint"]))[1:]
                sections.append(f"{section}: {_slot(draw, anchors, hostility, valid)}")
            lines.append("  - {" + ", ".join(sections) + "}")
    return "\n".join(lines) + "\n"


_INSERTS = ["&x ", "*x", "*a0", "<<: *a0\n", "!!int ", "!!timestamp ", "!!set ", "!!binary ",
            "[", "]", "{", "}", ": ", "\n  ", "\n- ", "- ", "? ", "---\n", "'", '"', "#",
            "\t", "\x00", "\ufeff", "\\", "%YAML 1.1\n", "!yaml_import ", "é", "\U0001F600"]


@st.composite
def mutated(draw, texts: st.SearchStrategy[str]) -> str:
    """A text changed at random: pieces deleted, repeated, or inserted."""
    text = draw(texts)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        operation = draw(st.integers(0, 2))
        if operation == 0:
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        elif operation == 1:
            end = min(len(text), at + draw(st.integers(1, 40)))
            text = text[:end] + text[at:end] * draw(st.integers(1, 3)) + text[end:]
        else:
            text = text[:at] + draw(st.one_of(st.sampled_from(_INSERTS), st.text(max_size=3))) \
                + text[at:]
    return text


documents = st.one_of(descriptions(), node_definitions())
mutated_documents = mutated(documents)
raw_texts = st.text(max_size=300)


def run_pipeline(text: str) -> None:
    """Load, check and compile a text; only `OccoError` may come out of any stage."""
    try:
        data = load_text(text, source="fuzz.yaml", limits=LIMITS)
    except OccoError:
        return
    try:
        static = compile_description(data, source="fuzz.yaml")
    except OccoError:
        pass
    else:
        json.dumps(static.to_dict())            # what is stored must be JSON
    problems = Problems()
    definitions = check_node_definitions(data, REGISTRY, problems)
    json.dumps(definitions)
