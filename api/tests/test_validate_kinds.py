"""occopus-validate on files it could not classify, on cloud-init files, against the
configuration's instance limits, and on files that are no regular files."""
import os
import re
import shutil
import unittest
from unittest import mock

from occo.api.validate import CLOUD_INIT, check_file, validate_file
from occo.util import yamlload

from .support import TUTORIALS, FolderCase

PLACEHOLDER = re.compile(r"replace_with_\w+")


class UnrecognisedFileTest(FolderCase):
    """A file of no known kind is explained: the likely kind and mistake, at its line."""

    def test_node_definitions_without_the_prefix_are_named_at_each_key(self):
        path = self.write("nodes.yaml", "web:\n  - resource: {type: ec2}\n"
                                        "db:\n  - resource: {type: ec2}\n")
        problems = validate_file(str(path))
        self.assertEqual(problems[0].splitlines(), [
            f"{path}:1:1: cannot tell what this file is; it looks like node definitions with "
            "node types without the 'node_def:' prefix",
            "  hint: write each node type as 'node_def:NAME', e.g. 'node_def:web':"])
        # then what occopus-import says of the file, key by key
        self.assertIn(f"{path}:1:1: node definition key 'web' must be 'node_def:<type>'", problems)
        self.assertIn(f"{path}:3:1: node definition key 'db' must be 'node_def:<type>'", problems)

    def test_a_list_at_the_top_is_named_with_what_it_holds(self):
        implementations = self.write("impl.yaml", "# nodes\n- resource: {type: ec2}\n")
        nodes = self.write("nodes.yaml", "\n- {name: a, type: t}\n- {name: b, type: t}\n")
        self.assertEqual(validate_file(str(implementations))[0].splitlines()[0],
                         f"{implementations}:2:1: cannot tell what this file is; it looks like "
                         "node definitions with a list of implementations at the top")
        first = validate_file(str(nodes))[0].splitlines()
        self.assertEqual(first[0], f"{nodes}:2:1: cannot tell what this file is; it looks like "
                                   "an infrastructure description with a list of nodes at the top")
        self.assertEqual(first[1], "  hint: put the list under 'nodes:', next to 'infra_name:'")

    def test_a_misspelt_key_is_named_at_its_line(self):
        path = self.write("infra.yaml", "infraname: x\nnode:\n  - {name: a, type: t}\n")
        problems = validate_file(str(path))
        self.assertEqual(problems[0].splitlines()[0],
                         f"{path}:1:1: cannot tell what this file is; it looks like an "
                         "infrastructure description with a misspelt key 'infraname'")
        self.assertIn(f"{path}:2:1: unknown key 'node' in the infrastructure description\n"
                      "  hint: did you mean 'nodes'?", problems)

    def test_files_that_suggest_no_kind_say_what_they_hold(self):
        empty = self.write("empty.yaml", "")
        other = self.write("other.yaml", "\nfoo: 1\nbar: 2\n")
        for path, what in ((empty, f"{empty}:1:1: cannot tell what this file is: it is empty"),
                           (other, f"{other}:2:1: cannot tell what this file is: none of its "
                                   "keys ('foo', 'bar') is one Occopus reads")):
            with self.subTest(path.name):
                self.assertEqual(validate_file(str(path))[0].splitlines()[0], what)

    def test_the_command_prints_the_explanation_and_exits_1(self):
        path = self.write("nodes.yaml", "web:\n  - resource: {type: ec2}\n")
        result = self.validate(path)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{path}:1:1: cannot tell what this file is; it looks like node "
                      "definitions", result.stdout)
        self.assertNotIn("Traceback", result.stdout + result.stderr)


class CloudInitTest(FolderCase):
    """A cloud-init file, which node definitions import, is recognised and checked as YAML."""

    def test_a_cloud_config_is_recognised_by_its_header_or_its_keys(self):
        header = self.write("a.yaml", "#cloud-config\nsomething_new: {}\n")
        keys = self.write("b.yaml", "write_files:\n  - path: /x\n    content: '{{ a }}'\n"
                                    "runcmd: [echo hi]\n")
        for path in (header, keys):
            with self.subTest(path.name):
                self.assertEqual(check_file(str(path)), (CLOUD_INIT, []))

    def test_a_broken_cloud_config_is_a_positioned_problem(self):
        listed = self.write("list.yaml", "#cloud-config\n- runcmd\n")
        broken = self.write("broken.yaml", "#cloud-config\nruncmd: [a\n")
        unsafe = self.write("unsafe.yaml",
                            "#cloud-config\nruncmd: !!python/object/apply:os.system [x]\n")
        self.assertEqual(validate_file(str(listed)),
                         [f"{listed}:2:1: a cloud-config file is a mapping of cloud-init modules\n"
                          "  hint: write e.g. write_files:, runcmd:, packages: at the top"])
        self.assertTrue(validate_file(str(broken))[0].startswith(f"{broken}:3:1: not valid YAML"))
        self.assertTrue(validate_file(str(unsafe))[0].startswith(f"{unsafe}:2:9: unsupported tag"))

    def test_every_nodes_file_of_every_filled_tutorial_validates(self):
        if not TUTORIALS.is_dir():
            self.skipTest(f"the tutorials corpus is not at {TUTORIALS}")
        kinds = {}
        for source in sorted(TUTORIALS.glob("*/nodes")):
            target = self.folder / source.parent.name / "nodes"
            shutil.copytree(source, target)
            for path in sorted(target.glob("*.yaml")):
                path.write_text(PLACEHOLDER.sub("filled-by-user", path.read_text()))
                with self.subTest(str(path.relative_to(self.folder))):
                    kind, problems = check_file(str(path))
                    self.assertEqual(problems, [])
                    kinds[kind] = kinds.get(kind, 0) + 1
        self.assertEqual(kinds, {"node definitions": 31, CLOUD_INIT: 44})

    def test_the_command_says_ok_for_each_file_of_a_tutorial(self):
        if not TUTORIALS.is_dir():
            self.skipTest(f"the tutorials corpus is not at {TUTORIALS}")
        nodes = self.folder / "ec2-ping" / "nodes"
        shutil.copytree(TUTORIALS / "ec2-ping" / "nodes", nodes)
        files = sorted(nodes.glob("*.yaml"))
        result = self.validate(*files)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for path in files:
            ok = f"{path}: ok" + (" (cloud-init)" if path.name.startswith("cloud_init") else "")
            self.assertIn(ok + "\n", result.stdout)


class LimitsTest(FolderCase):
    """Descriptions are held to the instance limits of the configuration the commands use."""

    HUGE = "infra_name: x\nnodes:\n  - name: a\n    type: t\n    scaling: {min: 1000000000}\n"
    LARGE = "infra_name: x\nnodes:\n  - name: a\n    type: t\n    scaling: {min: 15000}\n"

    def test_a_huge_count_is_refused_at_its_position(self):
        path = self.write("infra.yaml", self.HUGE)
        result = self.validate(path)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{path}:5:20: scaling min of node 'a' is 1,000,000,000, more than the "
                      "10,000 instances a node may have\n  hint: lower it, or raise "
                      "limits.node_instances in occopus_config.yaml", result.stdout)
        self.assertNotIn("Traceback", result.stdout + result.stderr)

    def test_the_configuration_can_raise_the_limits(self):
        path = self.write("infra.yaml", self.LARGE)
        config = self.write("raised.yaml", "limits:\n  node_instances: 20000\n"
                                           "  infrastructure_instances: 20000\n")
        self.assertEqual(self.validate(path).returncode, 1)
        result = self.validate("--cfg", config, path)
        self.assertEqual((result.returncode, result.stdout), (0, f"{path}: ok\n"))
        # found where the other commands find it, too
        self.write(".occopus/occopus_config.yaml", config.read_text())
        self.assertEqual(self.validate(path).returncode, 0)

    def test_a_build_over_the_limits_is_refused_before_anything_is_stored(self):
        config = self.write("cfg.yaml", "store: {backend: sqlite, path: state/state.db}\n")
        path = self.write("infra.yaml", self.HUGE)
        result = self.command("occopus-build", "--cfg", config, path)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{path}:5:20: scaling min of node 'a' is 1,000,000,000", result.stderr)
        self.assertFalse((self.folder / "state").exists())

    def test_limits_below_one_are_refused(self):
        config = self.write("occopus_config.yaml", "limits:\n  node_instances: 0\n")
        result = self.validate(config)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{config}:2:19: 'node_instances' in limits must be at least 1",
                      result.stdout)

    def test_a_broken_configuration_leaves_the_default_limits_and_says_so(self):
        self.write(".occopus/occopus_config.yaml", "limits: {node_instances: many}\n")
        path = self.write("infra.yaml", self.LARGE)
        result = self.validate(path)
        self.assertEqual(result.returncode, 1)
        self.assertIn("more than the 10,000 instances a node may have", result.stdout)
        self.assertIn("is not valid, so files are checked against the default bounds",
                      result.stderr)

    def test_the_configuration_bounds_loading_too(self):
        anchors = "".join(f"  v{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}]\n" for i in range(1, 8))
        path = self.write("infra.yaml", "infra_name: x\nvariables:\n  v0: &a0 [1, 2, 3]\n"
                          + anchors + "nodes:\n  - {name: a, type: t}\n")
        self.assertIn("the file holds more than 1,000 values", self.validate(
            "--cfg", self.write("low.yaml", "yaml: {max_values: 1000}\n"), path).stdout)
        self.assertEqual(self.validate(path).returncode, 0)


class SectionTypeTest(FolderCase):
    def test_a_list_as_a_resource_type_is_a_message_not_a_crash(self):
        path = self.write("nodes.yaml", "'node_def:a':\n  - resource: {type: [ec2]}\n")
        result = self.validate(path)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{path}:2:22: 'type' in the resource section of 'node_def:a'[0] must be "
                      "a type name, not a list", result.stdout)
        self.assertNotIn("Traceback", result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()


class ReadingTest(FolderCase):
    """Each file is read once, bounded, and only if it is a regular file."""

    def test_a_fifo_is_refused_at_once_with_what_it_is(self):
        fifo = self.folder / "pipe.yaml"
        os.mkfifo(fifo)
        # opening a FIFO waits for a writer that never comes: the command's deadline is the
        # safety net, never reached when the file is refused
        result = self.validate(fifo)
        self.assertEqual((result.returncode, result.stdout),
                         (1, f"{fifo}: {fifo} is a FIFO (named pipe), not a regular file\n"
                             "  hint: name a regular file\n"))
        self.assertEqual(check_file(str(fifo))[0], None)

    def test_each_kind_of_file_is_read_once(self):
        files = {
            "node definitions": ("nodes.yaml", "'node_def:web':\n  - resource: {type: ec2, "
                                 "endpoint: e, regionname: r, image_id: i, instance_type: t}\n"),
            "infrastructure description": ("infra.yaml", "infra_name: x\nnodes: [{name: a, "
                                           "type: t}]\n"),
            "authentication file": ("auth.yaml", "resource:\n  - type: ec2\n    auth_data: "
                                    "{accesskey: a, secretkey: s}\n"),
            "Occopus configuration": ("occopus_config.yaml", "components:\n  uds: !UDS "
                                      "{protocol: redis}\n"),
            CLOUD_INIT: ("cloud_init.yaml", "#cloud-config\nruncmd: [echo hi]\n"),
        }
        for kind, (name, text) in files.items():
            path = self.write(name, text)
            with self.subTest(kind), mock.patch.object(yamlload, "read_text",
                                                       wraps=yamlload.read_text) as reads:
                self.assertEqual(check_file(str(path)), (kind, []))
                self.assertEqual([call.args[0] for call in reads.call_args_list], [path])
