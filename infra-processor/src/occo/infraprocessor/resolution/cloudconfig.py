"""Checking a rendered cloud-config against cloud-init's own JSON schema.

cloud-init ignores or rejects a misspelt module or a value of the wrong type
only on the node, long after it was created; checking here fails the node at
once with the path of the problem. The schema is the one the cloud-init
package installs; where it is not installed the check is skipped.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema

log = logging.getLogger("occo.infraprocessor.resolution")

CLOUD_INIT_SCHEMA = Path(
    "/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json")

DataPath = tuple[str | int, ...]


def schema_problems(data: Any, schema_file: Path) -> list[tuple[DataPath, str]]:
    """(path, message) of each way `data` breaks the schema, in path order.

    None are found when the schema file is absent or unreadable: the check is
    a help, and a node must not fail because of the Occopus host's packages.
    """
    try:
        schema = json.loads(schema_file.read_text())
        validator = jsonschema.validators.validator_for(schema)(schema)
        errors = list(validator.iter_errors(data))
    except FileNotFoundError:
        log.debug("no cloud-init schema at %s: cloud-config is not validated", schema_file)
        return []
    except (OSError, ValueError, jsonschema.SchemaError) as error:
        log.warning("cloud-init schema %s cannot be used, cloud-config is not validated: %s",
                    schema_file, error)
        return []
    return sorted(((tuple(error.absolute_path), error.message) for error in errors),
                  key=lambda problem: [str(step) for step in problem[0]])


def dotted(path: Sequence[str | int]) -> str:
    """A path as written in messages: `write_files[0].path`."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else str(step)
    return text
