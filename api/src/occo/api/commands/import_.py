"""occopus-import FILE: check node definitions and store them for later builds."""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from occo.compiler import SchemaRegistry, load_node_definitions
from occo.util.yamlload import load_file

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
    definitions = load_node_definitions(load_file(args.datafile), SchemaRegistry.from_entry_points())
    store = connect(load(args.cfg))
    try:
        store.put_node_definitions(definitions)
    finally:
        store.close()
    print(f"Successfully imported nodes: {', '.join(sorted(definitions))}")
    return EXIT_OK
