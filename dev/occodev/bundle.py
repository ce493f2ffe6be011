"""Joining a package of standard-library-only modules into one runnable file.

The single-file installer is written as small modules (dev/occopus_installer),
reviewed and unit-tested like any code; this makes them one script:
- modules come in the order of their imports of each other (`from .ui import
  Console`), and those imports are dropped: all top-level names share one
  namespace, so a name defined in two modules is refused;
- their imports are hoisted after a version check that comes first, and the
  file must parse as Python 3.6, so an old python3 prints that check's message
  rather than a SyntaxError;
- a module named `pins` has its assignments replaced by given values.
Anything beyond the standard library, `from . import x`, or a `__future__`
import is refused: each would break in the joined file.
"""
from __future__ import annotations

import ast
import graphlib
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import DevError

PINS_MODULE = "pins"
OLDEST_PARSER = (3, 6)


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module
    needs: tuple[str, ...]          # sibling modules it imports from

    @classmethod
    def read(cls, path: Path) -> Module:
        try:
            tree = ast.parse(path.read_text(), filename=str(path), feature_version=OLDEST_PARSER)
        except SyntaxError as error:
            raise DevError(f"{path}:{error.lineno}: {error.msg} (the installer must parse "
                           f"as Python {'.'.join(map(str, OLDEST_PARSER))})") from None
        needs = sorted({node.module for node in tree.body
                        if isinstance(node, ast.ImportFrom) and node.level and node.module})
        return cls(path.stem, path, tree, tuple(needs))

    def where(self, node: ast.AST) -> str:
        return f"{self.path}:{getattr(node, 'lineno', 1)}"

    def defined(self) -> set[str]:
        names = set()
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
        return names


def _check_imports(module: Module, modules: dict[str, Module]) -> None:
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.module not in modules:
                raise DevError(f"{module.where(node)}: write `from .<module> import name` "
                               "with one of the package's modules; the joined file has no "
                               "modules to import")
            missing = {a.name for a in node.names} - modules[node.module].defined()
            if missing:
                raise DevError(f"{module.where(node)}: {node.module} defines no "
                               f"{', '.join(sorted(missing))}")
            continue
        if isinstance(node, ast.ImportFrom):
            roots = [(node.module or "").split(".")[0]]
        elif isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        else:
            continue
        if "__future__" in roots:
            raise DevError(f"{module.where(node)}: no __future__ imports: the version check "
                           "must be the first statement of the joined file")
        foreign = [root for root in roots if root not in sys.stdlib_module_names]
        if foreign:
            raise DevError(f"{module.where(node)}: imports {', '.join(foreign)}, which is not "
                           "in the standard library; the installer may use nothing else")


def _order(modules: dict[str, Module]) -> list[Module]:
    sorter = graphlib.TopologicalSorter({m.name: m.needs for m in modules.values()})
    try:
        return [modules[name] for name in sorter.static_order()]
    except graphlib.CycleError as error:
        raise DevError("the installer's modules import each other in a cycle: "
                       + " -> ".join(error.args[1])) from None


def _imports(module: Module) -> dict[str, str]:
    """Top-level name -> what it is bound to, for the module's standard-library imports."""
    bound = {}
    for node in module.tree.body:
        if isinstance(node, ast.Import):
            bound.update({a.asname or a.name.split(".")[0]: a.name for a in node.names})
        elif isinstance(node, ast.ImportFrom) and not node.level:
            bound.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
    return bound


def _check_names(ordered: list[Module]) -> None:
    """Every top-level name means one thing in the joined file."""
    defined: dict[str, str] = {}
    imported: dict[str, str] = {}
    for module in ordered:
        for name in module.defined():
            other = defined.setdefault(name, module.name)
            if other != module.name:
                raise DevError(f"{module.path}: '{name}' is also defined in {other}.py; the "
                               "joined file has one namespace, so rename one of them")
        for name, target in _imports(module).items():
            if imported.setdefault(name, target) != target:
                raise DevError(f"{module.path}: '{name}' is imported as {target} here and as "
                               f"{imported[name]} elsewhere; import it under another name")
    clashes = sorted(set(defined) & set(imported))
    if clashes:
        raise DevError(f"{', '.join(clashes)}: both defined in {defined[clashes[0]]}.py and "
                       "imported by a module; the joined file has one namespace")


def _literal(value: object) -> str:
    """Python source for a pinned value; a long tuple gets one item a line."""
    if isinstance(value, tuple) and len(repr(value)) > 80:
        return "(\n" + "".join(f"    {item!r},\n" for item in value) + ")"
    return repr(value)


def _body(module: Module, source: str, pins: dict[str, object]) -> str:
    """The module's text without its imports; for `pins`, with the given values."""
    lines = source.splitlines()
    if module.name == PINS_MODULE:
        assigned = {t.id: node for node in module.tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
        if set(assigned) != set(pins):
            raise DevError(f"{module.path} assigns {sorted(assigned)}, the bundle fills in "
                           f"{sorted(pins)}; make them agree")
        for name, node in sorted(assigned.items(), key=lambda item: -item[1].lineno):
            lines[node.lineno - 1:node.end_lineno] = [f"{name} = {_literal(pins[name])}"]
    else:
        for node in reversed(module.tree.body):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                del lines[node.lineno - 1:node.end_lineno]
    return "\n".join(lines).strip() + "\n"


def _hoisted(ordered: list[Module]) -> list[str]:
    found = []
    for module in ordered:
        source = module.path.read_text()
        for node in module.tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
                found.append(ast.get_source_segment(source, node))
    return sorted(set(found) - {"import sys"}, key=lambda line: (line.startswith("from"), line))


def join(package: Path, pins: dict[str, object], entry: str, minimum: tuple[int, int],
         script: str) -> str:
    """One file of `package`'s modules that checks for Python `minimum`, then calls `entry()`."""
    modules = {m.name: m for m in map(Module.read, sorted(package.glob("*.py")))
               if m.name != "__init__"}
    for module in modules.values():
        _check_imports(module, modules)
    ordered = _order(modules)
    _check_names(ordered)
    if not any(entry in module.defined() for module in ordered):
        raise DevError(f"no module of {package} defines {entry}(), the entry point")
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    wanted = ".".join(map(str, minimum))
    parts = [
        "#!/usr/bin/env python3\n",
        f'"""{doc}\n\nGenerated by ./occo-dev bundle-installer from dev/{package.name}/; '
        'edit those modules, not this file.\n"""\n',
        "import sys\n\n",
        f"if sys.version_info < {tuple(minimum)!r}:\n"
        f"    sys.exit(\"{script} needs Python >= {wanted} (this is %d.%d); \"\n"
        f"             \"run it with python{wanted} or newer.\" % sys.version_info[:2])\n\n",
        "\n".join(_hoisted(ordered)) + "\n",
    ]
    for module in ordered:
        parts.append(f"\n\n# ---- {module.name}.py " + "-" * (60 - len(module.name)) + "\n\n")
        parts.append(_body(module, module.path.read_text(), pins))
    parts.append(f"\n\nif __name__ == \"__main__\":\n    sys.exit({entry}())\n")
    text = "".join(parts)
    ast.parse(text, feature_version=OLDEST_PARSER)
    return text
