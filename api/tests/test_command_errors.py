"""Exit codes and messages of the occopus-* commands when something is wrong.

1 for an error (one line naming what is wrong, with its file:line:column when
it is in a file, and a hint), 2 for a usage error; never a traceback (every
`run_command` checks stderr for one, and every test for a crash log).
"""
from __future__ import annotations

import re
import sqlite3

from occo.infobroker.store import PendingScaling

from .support import CommandCase, SimCloudCommandCase

UNKNOWN = "0badc0de-0000-4000-8000-000000000000"
POSITION = r"{file}:\d+:\d+: "


class UnknownInfrastructureTest(CommandCase):

    def test_every_command_names_the_unknown_id_with_exit_1(self) -> None:
        description = self.write("infra.yaml", "infra_name: x\nnodes:\n  - {name: a, type: t}\n")
        self.write("nodes.yaml", "'node_def:t':\n  - resource: {type: local}\n")
        self.run_command("occopus-import", self.work / "nodes.yaml", code=0)
        for args in (("occopus-destroy", "-i", UNKNOWN),
                     ("occopus-maintain", "-i", UNKNOWN),
                     ("occopus-maintain", "-i", UNKNOWN, "-r"),
                     ("occopus-scale", "-i", UNKNOWN, "-n", "a", "-c", "1"),
                     ("occopus-build", "-i", UNKNOWN, description)):
            with self.subTest(args[0] + " " + args[2]):
                result = self.run_command(*args, code=1)
                [first, *_] = result.stderr.splitlines()
                self.assertTrue(first.startswith(f"{args[0]}: error: "), result.stderr)
                self.assertIn(UNKNOWN, first)
                self.assertEqual(result.stdout, "")
        # nothing was made on the way: no infrastructure, and no local node
        self.assertEqual(self.stored_ids(), [])
        self.assertFalse((self.home / ".occopus" / "local").exists())


class UsageErrorTest(CommandCase):

    def assert_usage(self, *args: str, says: str) -> None:
        result = self.run_command(*args, code=2)
        self.assertIn("usage: " + args[0], result.stderr)
        self.assertIn(says, result.stderr)

    def test_usage_errors_exit_2_before_anything_is_read(self) -> None:
        self.assert_usage("occopus-scale", "-i", UNKNOWN, "-n", "app", "-c", "0",
                          says="argument -c/--changescale: must not be 0")
        self.assert_usage("occopus-maintain", says="give an infrastructure with -i ID, or -l")
        self.assert_usage("occopus-maintain", "-i", UNKNOWN, "-c", "-t", "0",
                          says="argument -t/--interval: must be more than 0")
        for interval in ("nan", "inf"):    # each passed `<= 0`, then broke a pass
            self.assert_usage("occopus-maintain", "-i", UNKNOWN, "-c", "-t", interval,
                              says="argument -t/--interval: must be more than 0 (a finite "
                                   f"number of seconds), not '{interval}'")
        self.assert_usage("occopus-maintain", "-i", UNKNOWN, "-c", "-t", "soon",
                          says="argument -t/--interval: not a number of seconds: 'soon'")
        # a usage error is found before the store: none was made
        self.assertFalse(self.state_db.exists())


class FileErrorTest(CommandCase):
    """Mistakes in the files a command reads: exit 1, the position, nothing stored."""

    def setUp(self) -> None:
        super().setUp()
        self.write("nodes.yaml", "'node_def:web':\n  - resource: {type: local}\n"
                                 "    health_check: {ping: false}\n")

    def test_yaml_and_schema_errors_in_the_description_are_given_with_their_position(
            self) -> None:
        path = self.write("broken.yaml", "infra_name: shop\nnodes:\n  - {name: web, type: web\n")
        result = self.run_command("occopus-build", path, code=1)
        self.assertRegex(result.stderr, "^occopus-build: error: " + POSITION.format(file=re.escape(
            str(path))) + "not valid YAML")
        path = self.write("typo.yaml", "infra_name: shop\nnodes:\n  - name: web\n"
                                       "    type: web\n    scalng: {min: 2}\n")
        result = self.run_command("occopus-build", path, code=1)
        self.assertIn(f"occopus-build: error: {path}:5:5: unknown key 'scalng' in node 'web'",
                      result.stderr)
        self.assertIn("did you mean 'scaling'?", result.stderr)
        self.assertEqual(self.stored_ids(), [])

    def test_a_node_type_not_imported_is_named_with_the_command_that_imports_it(self) -> None:
        self.run_command("occopus-import", self.work / "nodes.yaml", code=0)
        path = self.write("shop.yaml", "infra_name: shop\nnodes:\n  - {name: web, type: web}\n"
                                       "  - {name: db, type: mysql}\n")
        result = self.run_command("occopus-build", path, code=1)
        self.assertRegex(result.stderr, POSITION.format(file=re.escape(str(path)))
                         + "node 'db': node type 'mysql' has not been imported")
        self.assertIn("occopus-import", result.stderr)
        self.assertNotIn("'web'", result.stderr)
        # neither built nor listed, and the dry run says the same
        self.assertEqual(self.stored_ids(), [])
        self.assertEqual(self.infralist_ids(), [])

    def test_a_bad_node_definition_file_stores_none_of_its_definitions(self) -> None:
        path = self.write("defs.yaml", "'node_def:good':\n  - resource: {type: local}\n"
                                       "'node_def:bad':\n  - resource: {type: local}\n"
                                       "    health_check: {pingg: false}\n")
        result = self.run_command("occopus-import", path, code=1)
        self.assertIn(f"occopus-import: error: {path}:5:20: unknown key 'pingg'", result.stderr)
        self.assertIn("did you mean 'ping'?", result.stderr)
        self.assertNotIn("Successfully", result.stdout)
        self.assertEqual(self.node_types(), [])
        # an unknown resource type
        path = self.write("cloud.yaml", "'node_def:x':\n  - resource: {type: ec3}\n")
        result = self.run_command("occopus-import", path, code=1)
        self.assertRegex(result.stderr, POSITION.format(file=re.escape(str(path))) + ".*'ec3'")
        self.assertEqual(self.node_types(), [])

    def test_a_bad_configuration_file_is_an_error_with_its_position(self) -> None:
        config = self.write("occopus_config.yaml", "store:\n  backend: sqlit\n")
        result = self.run_command("occopus-maintain", "--cfg", config, "-l", code=1)
        self.assertIn(f"{config}:2:12: unknown store backend 'sqlit'", result.stderr)
        result = self.run_command("occopus-maintain", "--cfg", self.work / "none.yaml", "-l",
                                  code=1)
        self.assertIn("Specified configuration file does not exist", result.stderr)

    def node_types(self) -> list[str]:
        if not self.state_db.exists():
            return []
        with sqlite3.connect(self.state_db) as db:
            return [row[0] for row in db.execute("SELECT node_type FROM node_definitions")]


class ErrorsAboutAnInfrastructureTest(SimCloudCommandCase):
    """Mistakes in commands about an infrastructure that exists."""

    def test_scale_refuses_unknown_nodes_and_counts_beyond_the_limits(self) -> None:
        self.import_definitions(plain=self.cloud)
        infra_id = self.build(self.write("shop.yaml", "infra_name: shop\nnodes:\n"
                                         "  - {name: app, type: plain, scaling: {min: 1, max: 2}}\n"
                                         "  - {name: db, type: plain}\n"))
        result = self.run_command("occopus-scale", "-i", infra_id, "-n", "ap", "-c", "1", code=1)
        self.assertIn(f"occopus-scale: error: infrastructure {infra_id} has no node 'ap'",
                      result.stderr)
        self.assertIn("did you mean 'app'?", result.stderr)
        result = self.run_command("occopus-scale", "-i", infra_id, "-n", "app", "-s", "3", code=1)
        self.assertIn("node 'app' may have 1 to 2 instances, not 3", result.stderr)
        # none of those was queued, nor any target changed
        store = self.open_store()
        for node in ("ap", "app"):
            self.assertEqual(store.pending_scaling(infra_id, node), PendingScaling())
        self.assertEqual(store.get_target_count(infra_id, "app"), 1)

        # a report's output file that cannot be written is the user's error, not a crash
        result = self.run_command("occopus-maintain", "-i", infra_id, "-r",
                                  "-o", self.work / "no" / "such" / "folder.txt", code=1)
        self.assertIn("occopus-maintain: error: cannot write the addresses to", result.stderr)
        self.assertIn("No such file or directory", result.stderr)
