"""The bounds on what loading one YAML file may cost, and where its imports may read;
and on how many instances a description may ask for (`InstanceLimits`).

A file given to Occopus may come from someone else (a shared tutorial, a REST
client): loading it must end quickly in bounded memory whatever it holds, and
its `!yaml_import`/`!text_import` tags must not read the rest of the machine.
`LoadLimits()` holds the defaults; `occopus_config.yaml` can raise the bounds a
real user may reach and widen the import folders (its `yaml:` section).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024


@dataclass(frozen=True)
class LoadLimits:
    """Bounds for one load: the file and everything it imports, together."""

    # the most bytes read: the file and its imports added up
    max_bytes: int = 16 * MIB
    # the most values the loaded data holds, an alias counting as a full copy of its
    # anchor (a description of 10,000 nodes written with aliases holds about 500,000)
    max_values: int = 1_000_000
    # the deepest nesting of lists and mappings, imports included (real files: about 10)
    max_depth: int = 100
    # the longest chain of files importing files
    max_import_depth: int = 10
    # folders, besides the including file's own folder tree, that imports may read
    import_paths: tuple[Path, ...] = ()


DEFAULT_LIMITS = LoadLimits()


@dataclass(frozen=True)
class InstanceLimits:
    """How many instances a description may ask for, so that a typo (`min: 1000000000`)
    cannot make a build create without end; `occopus_config.yaml` can raise them (its
    `limits:` section). The defaults are the largest scale Occopus is measured at."""

    node_instances: int = 10_000            # the largest scaling min or max of one node
    infrastructure_instances: int = 10_000  # the largest sum of the nodes' scaling mins
