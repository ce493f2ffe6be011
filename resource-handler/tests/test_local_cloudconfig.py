"""Reading a node's cloud-config into what a local node applies, and refusing what it cannot."""
from __future__ import annotations

import base64
import gzip
import json
import textwrap
import unittest

from occo.resourcehandler.base import PermanentError
from occo.resourcehandler.local.cloudconfig import ContextError, FileToWrite, Plan, parse


def cloud_config(body: str) -> str:
    return "#cloud-config\n" + textwrap.dedent(body)


class CloudConfigTest(unittest.TestCase):
    def assertRefused(self, context: str, *words: str) -> None:
        with self.assertRaises(ContextError) as raised:
            parse(context)
        self.assertIsInstance(raised.exception, PermanentError)
        self.assertTrue(raised.exception.hint)
        for word in words:
            self.assertIn(word, raised.exception.message)

    def test_no_context_is_an_empty_plan(self) -> None:
        for context in (None, "", "  \n", "#cloud-config\n"):
            with self.subTest(context):
                self.assertEqual(parse(context), Plan())

    def test_only_cloud_config_is_applied(self) -> None:
        self.assertRefused("#!/bin/sh\necho hi\n", "#cloud-config")
        self.assertRefused("runcmd: [ls]\n", "#cloud-config")
        self.assertRefused("#cloud-config\nruncmd: [ls\n", "not valid YAML")
        self.assertRefused("#cloud-config\n- ls\n", "mapping")

    def test_a_line_runs_in_a_shell_and_a_list_without(self) -> None:
        plan = parse(cloud_config("""\
            bootcmd: ["echo $HOME"]
            runcmd:
            - [printf, "%s", 8080]
            - cd /tmp && ls
            """))
        self.assertEqual(plan.bootcmd, (("/bin/sh", "-c", "echo $HOME"),))
        self.assertEqual(plan.runcmd, (("printf", "%s", "8080"),
                                       ("/bin/sh", "-c", "cd /tmp && ls")))

    def test_commands_must_be_lines_or_lists_of_words(self) -> None:
        self.assertRefused(cloud_config("runcmd: echo hi\n"), "runcmd must be a list")
        self.assertRefused(cloud_config("runcmd: [[]]\n"), "runcmd[0]")
        self.assertRefused(cloud_config("bootcmd: ['ok', {a: b}]\n"), "bootcmd[1]")

    def test_file_paths_are_rebased_under_the_node_root(self) -> None:
        plan = parse(cloud_config("""\
            write_files:
            - {path: /etc/app/app.conf}
            - {path: relative/file}
            - {path: /../../etc/./passwd}
            """))
        self.assertEqual([item.path for item in plan.write_files],
                         ["etc/app/app.conf", "relative/file", "etc/passwd"])
        self.assertRefused(cloud_config("write_files: [{path: /}]\n"), "write_files[0].path")
        self.assertRefused(cloud_config("write_files: [{path: /..}]\n"), "write_files[0].path")
        self.assertRefused(cloud_config("write_files: [{content: x}]\n"), "write_files[0].path")

    def test_permissions_are_read_as_cloud_init_reads_them(self) -> None:
        plan = parse(cloud_config("""\
            write_files:
            - {path: /a, permissions: '0600'}
            - {path: /b, permissions: 0755}
            - {path: /c}
            """))
        self.assertEqual([item.mode for item in plan.write_files], [0o600, 0o755, 0o644])
        self.assertRefused(cloud_config("write_files: [{path: /a, permissions: '0988'}]\n"),
                           "write_files[0].permissions")
        self.assertRefused(cloud_config("write_files: [{path: /a, permissions: 99999}]\n"),
                           "permissions")

    def test_contents_are_decoded(self) -> None:
        packed = base64.b64encode(gzip.compress(b"zipped")).decode()
        plan = parse(cloud_config(f"""\
            write_files:
            - {{path: /text, content: "caf\u00e9\\n"}}
            - {{path: /b64, content: aGVsbG8=, encoding: b64}}
            - {{path: /gz, content: {packed}, encoding: gz+base64}}
            - {{path: /binary, content: !!binary aGVsbG8=}}
            - {{path: /number, content: 42}}
            - {{path: /empty}}
            """))
        self.assertEqual([item.data for item in plan.write_files],
                         ["café\n".encode(), b"hello", b"zipped", b"hello", b"42", b""])
        self.assertRefused(cloud_config("write_files: [{path: /a, content: x, encoding: rot13}]\n"),
                           "rot13")
        self.assertRefused(cloud_config("write_files: [{path: /a, content: x, encoding: gz}]\n"),
                           "cannot be decoded")

    def test_append_must_be_a_boolean(self) -> None:
        plan = parse(cloud_config("write_files: [{path: /log, content: x, append: true}]\n"))
        self.assertEqual(plan.write_files, (FileToWrite("log", b"x", 0o644, True),))
        self.assertRefused(cloud_config("write_files: [{path: /log, append: 'yes'}]\n"), "append")

    def test_environment_is_an_extension_key_of_variables(self) -> None:
        plan = parse(cloud_config("environment: {PORT: 8080, DEBUG: false, NAME: db}\n"))
        self.assertEqual(plan.environment, {"PORT": "8080", "DEBUG": "false", "NAME": "db"})
        self.assertRefused(cloud_config("environment: {'BAD-NAME': 1}\n"), "BAD-NAME")
        self.assertRefused(cloud_config("environment: {LIST: [1, 2]}\n"), "LIST")
        self.assertRefused(cloud_config("environment: [A=1]\n"), "environment")

    def test_keys_a_machine_cannot_apply_are_noted(self) -> None:
        plan = parse(cloud_config("""\
            users: [default]
            packages: [nginx]
            write_files:
            - {path: /a, owner: 'root:root', defer: true}
            """))
        self.assertEqual(plan.ignored, ("packages", "users", "write_files[0].owner"))

    def test_a_plan_survives_its_json_form(self) -> None:
        plan = parse(cloud_config("""\
            bootcmd: [[echo, boot]]
            write_files: [{path: /a, content: !!binary AAEC, permissions: '0600', append: true}]
            runcmd: [ls]
            environment: {A: 1}
            packages: [x]
            """))
        self.assertEqual(Plan.from_dict(json.loads(json.dumps(plan.to_dict()))), plan)
