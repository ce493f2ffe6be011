"""occopus-import FILE: check node definitions and store them for later builds.

A node type this installation cannot build (its plugin is missing here) is
stored with a warning naming it and why.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from occo.compiler import SchemaRegistry, load_node_definitions
from occo.util.yamlload import load_file

from ..buildable import file_warnings
from ..cli import EXIT_OK, add_version_option
from ..session import connect, load


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-import",
                                     description="Check and store node definitions.")
    add_version_option(parser)
    parser.add_argument("--cfg", metavar="CFG_PATH", help="the occopus_config.yaml to use")
    parser.add_argument("datafile", help="the node definition file (YAML)")
    return parser


def body(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    # every problem of the file is reported before anything is stored
    settings = load(args.cfg)
    data = load_file(args.datafile, limits=settings.yaml)
    definitions = load_node_definitions(data, SchemaRegistry.from_entry_points())
    # stored all the same: another installation sharing the store may have the plugin
    for warning in file_warnings(data, definitions):
        print(f"occopus-import: warning: {warning}", file=sys.stderr)
    store = connect(settings)
    try:
        store.put_node_definitions(definitions)
    finally:
        store.close()
    print(f"Successfully imported nodes: {', '.join(sorted(definitions))}")
    return EXIT_OK
