"""occopus-build on simcloud: --json, --dry-run, a node that cannot be made, and `build -i`.

Each test has a config file of its own (`--cfg`, the store next to it). A
node type whose creates must fail runs on a simcloud of its own, armed to
refuse the next call: its create is that call, whatever the other nodes do
meanwhile.
"""
from __future__ import annotations

import json
import os

from occo.resourcehandler.base import NODE_TAG

from .support import (SimCloudCommandCase, by_node_name, cloud_instances, last_line,
                      simcloud_definitions, table_rows)

SHOP = """\
infra_name: shop
nodes:
  - {name: db, type: plain}
  - {name: app, type: plain, scaling: {min: 2, max: 4}}
  - {name: cache, type: plain}
dependencies:
  - [app, db]
"""


class BuildOnSimCloudTest(SimCloudCommandCase):

    def setUp(self) -> None:
        super().setUp()
        self.use_config()

    def test_json_is_one_document_with_every_node_outcome(self) -> None:
        self.import_definitions(plain=self.cloud)
        result = self.run_command("occopus-build", "--json", self.write("shop.yaml", SHOP),
                                  code=0)
        document = json.loads(result.stdout)          # all of stdout is one document
        infra_id = document["infra_id"]
        self.assertEqual((document["ok"], document["dry_run"], document["cancelled"]),
                         (True, False, False))
        nodes = document["nodes"]
        self.assertEqual(sorted(node["node_name"] for node in nodes), ["app", "app", "cache", "db"])
        for node in nodes:
            self.assertEqual((node["outcome"], node["state"], node["reason"]),
                             ("created", "ready", None), node)
            self.assertEqual(len(node["addresses"]), 1)
        self.assertEqual(document["plan"]["targets"], {"db": 1, "app": 2, "cache": 1})
        self.assertEqual(document["problems"], [])
        # what simcloud holds is what the document says, and what the store records
        instances = cloud_instances(self.cloud, infra_id)
        self.assertEqual(by_node_name(instances),
                         {name: sorted(node["node_id"] for node in nodes
                                       if node["node_name"] == name)
                          for name in ("app", "cache", "db")})
        self.assertEqual({item["private_ip"] for item in instances},
                         {node["addresses"][0] for node in nodes})
        self.assertEqual(self.stored_ids(), [infra_id])
        self.assertEqual(self.infralist_ids(), [infra_id])

    def test_dry_run_prints_the_plan_and_touches_nothing(self) -> None:
        self.import_definitions(plain=self.cloud)
        description = self.write("shop.yaml", SHOP)
        calls = self.cloud.stats()["calls"]
        planned = self.run_command("occopus-build", "--dry-run", description, code=0)
        lines = planned.stdout.strip().splitlines()
        self.assertRegex(lines[0], r"^plan for infrastructure [0-9a-f-]{36}:$")
        self.assertEqual([line.strip() for line in lines[2:]],
                         ["create 1 x db", "create 1 x cache", "create 2 x app after db"])
        self.assertTrue(lines[1].strip().startswith("create infrastructure"))
        as_json = json.loads(self.run_command("occopus-build", "--dry-run", "--json", description,
                                              code=0).stdout)
        self.assertTrue(as_json["dry_run"])
        self.assertEqual([action["action"] for action in as_json["plan"]["actions"]],
                         ["CreateInfrastructure", "CreateNodes", "CreateNodes", "CreateNodes"])
        # no cloud call, nothing stored, nothing listed
        self.assertEqual(self.cloud.stats()["calls"], calls)
        self.assertEqual(self.stored_ids(), [])
        self.assertEqual(self.infralist_ids(), [])
        self.assertEqual(self.run_command("occopus-maintain", "-l", code=0).stdout.strip(),
                         "No active infrastructure!")

    def test_a_node_that_cannot_be_made_fails_alone_and_the_rest_is_kept(self) -> None:
        refusing = self.another_cloud()
        self.import_definitions(plain=self.cloud, picky=refusing)
        description = self.write("shop.yaml", """\
infra_name: shop
nodes:
  - {name: queue, type: picky}
  - {name: worker, type: plain, scaling: {min: 2}}
  - {name: web, type: plain}
  - {name: report, type: plain}
dependencies:
  - [worker, queue]
  - [report, worker]
""")
        refusing.fail_next(400)              # a permanent error: no retry can help
        result = self.run_command("occopus-build", "--json", description, code=1)
        document = json.loads(result.stdout)
        infra_id = document["infra_id"]
        self.assertFalse(document["ok"])
        outcomes = sorted((node["node_name"], node["outcome"]) for node in document["nodes"])
        self.assertEqual(outcomes, [("queue", "failed"), ("report", "skipped"),
                                    ("web", "created"), ("worker", "skipped"),
                                    ("worker", "skipped")])
        [queue] = [node for node in document["nodes"] if node["node_name"] == "queue"]
        self.assertIn("400", queue["reason"])
        [web] = [node for node in document["nodes"] if node["node_name"] == "web"]
        # not torn down: the infrastructure and its good node stay, the failed one is gone
        self.assertEqual(self.stored_ids(), [infra_id])
        self.assertEqual(by_node_name(cloud_instances(self.cloud, infra_id)),
                         {"web": [web["node_id"]]})
        self.assertEqual(cloud_instances(refusing, infra_id), [])
        self.assertEqual(list(self.records(infra_id)), ["web"])

        # the same without --json: the table, the id last, and what to do next
        again = self.write("again.yaml", "infra_name: again\nnodes:\n"
                           "  - {name: queue, type: picky}\n  - {name: web, type: plain}\n")
        refusing.fail_next(400)
        result = self.run_command("occopus-build", again, code=1)
        other_id = last_line(result.stdout)
        self.assertEqual({row["node"]: row["outcome"] for row in table_rows(result.stdout)},
                         {"queue": "failed", "web": "created"})
        self.assertIn(f"the infrastructure is kept as it is: `occopus-maintain -i {other_id}`",
                      result.stderr)

        # the cloud works again: the next pass makes what is missing, and only that
        passed = self.run_command("occopus-maintain", "-i", infra_id, "--json", code=0)
        outcomes = sorted((node["node_name"], node["outcome"])
                          for node in json.loads(passed.stdout)["nodes"])
        self.assertEqual(outcomes, [("queue", "created"), ("report", "created"),
                                    ("web", "unchanged"), ("worker", "created"),
                                    ("worker", "created")])
        found = by_node_name(cloud_instances(self.cloud, infra_id))
        self.assertEqual({name: len(ids) for name, ids in found.items()},
                         {"web": 1, "worker": 2, "report": 1})
        self.assertEqual(found["web"], [web["node_id"]])
        self.assertEqual(len(cloud_instances(refusing, infra_id)), 1)

        # and destroy takes it all from both clouds
        destroyed = self.run_command("occopus-destroy", "-i", infra_id, "--json", code=0)
        self.assertEqual({node["outcome"] for node in json.loads(destroyed.stdout)["nodes"]},
                         {"dropped"})
        self.assertEqual(cloud_instances(self.cloud, infra_id), [])
        self.assertEqual(cloud_instances(refusing, infra_id), [])
        self.assertEqual(self.stored_ids(), [other_id])
        self.assertEqual(self.infralist_ids(), [other_id])


    def test_a_failed_create_says_its_reason_once(self) -> None:
        refusing = self.another_cloud()
        self.import_definitions(picky=refusing)
        refusing.fail_next(400)
        result = self.run_command("occopus-build", self.write(
            "one.yaml", "infra_name: one\nnodes:\n  - {name: queue, type: picky}\n"), code=1)
        [row] = table_rows(result.stdout)
        self.assertEqual(row["outcome"], "failed")
        self.assertIn("fault armed by /admin/fail-next: 400", row["reason"])
        self.assertEqual((result.stdout + result.stderr).count("fault armed"), 1,
                         result.stdout + result.stderr)


class ReconfigureOnSimCloudTest(SimCloudCommandCase):
    """`occopus-build -i ID FILE`: the new description replaces the old, and the pass
    converges on it; a mistake in it never tears the infrastructure down."""

    def setUp(self) -> None:
        super().setUp()
        self.use_config()

    def test_a_node_left_out_is_dropped_and_the_rest_untouched(self) -> None:
        self.import_definitions(plain=self.cloud)
        infra_id = self.build(self.write("shop.yaml", SHOP))
        before = by_node_name(cloud_instances(self.cloud, infra_id))
        smaller = self.write("smaller.yaml", SHOP.replace("  - {name: cache, type: plain}\n", ""))
        planned = self.run_command("occopus-build", "-i", infra_id, "--dry-run", smaller, code=0)
        self.assertEqual([line.strip() for line in planned.stdout.strip().splitlines()],
                         [f"plan for infrastructure {infra_id}:",
                          f"drop cache {before['cache'][0]} (removed)"])
        self.assertEqual(by_node_name(cloud_instances(self.cloud, infra_id)), before)
        result = self.run_command("occopus-build", "-i", infra_id, "--json", smaller, code=0)
        document = json.loads(result.stdout)
        self.assertEqual(document["infra_id"], infra_id)
        outcomes = {node["node_id"]: node["outcome"] for node in document["nodes"]}
        self.assertEqual(outcomes, {**{node_id: "unchanged"
                                       for node_id in before["app"] + before["db"]},
                                    before["cache"][0]: "dropped"})
        self.assertEqual(by_node_name(cloud_instances(self.cloud, infra_id)),
                         {"app": before["app"], "db": before["db"]})
        [dropped] = [item for item in cloud_instances(self.cloud, infra_id, live_only=False)
                     if item["state"] == "terminated"]
        self.assertEqual(dropped["tags"]["occopus-node-id"], before["cache"][0])
        self.assertEqual(sorted(self.records(infra_id)), ["app", "db"])
        self.assertEqual(self.infralist_ids(), [infra_id])

    def test_errors_in_the_new_description_never_tear_the_infrastructure_down(self) -> None:
        refusing = self.another_cloud()
        self.import_definitions(plain=self.cloud, picky=refusing)
        infra_id = self.build(self.write("shop.yaml", SHOP))
        before = by_node_name(cloud_instances(self.cloud, infra_id))

        def assert_untouched() -> None:
            self.assertEqual(by_node_name(cloud_instances(self.cloud, infra_id)), before)
            self.assertEqual(self.stored_ids(), [infra_id])

        broken = self.write("broken.yaml", SHOP + "  - [cache, nowhere]\n")
        result = self.run_command("occopus-build", "-i", infra_id, broken, code=1)
        self.assertRegex(result.stderr, r"broken\.yaml:\d+:\d+: .*'nowhere'")
        assert_untouched()

        unknown = self.write("unknown.yaml", SHOP.replace("{name: cache, type: plain}",
                                                          "{name: cache, type: nosuch}"))
        result = self.run_command("occopus-build", "-i", infra_id, unknown, code=1)
        self.assertIn("node type 'nosuch' has not been imported", result.stderr)
        self.assertIn("occopus-import", result.stderr)
        assert_untouched()

        # a new node that cannot be made: it fails alone, the old ones stay
        grown = self.write("grown.yaml",
                           SHOP.replace("nodes:\n", "nodes:\n  - {name: queue, type: picky}\n"))
        refusing.fail_next(400)
        result = self.run_command("occopus-build", "-i", infra_id, "--json", grown, code=1)
        document = json.loads(result.stdout)
        self.assertEqual(sorted((node["node_name"], node["outcome"])
                                for node in document["nodes"]),
                         [("app", "unchanged"), ("app", "unchanged"), ("cache", "unchanged"),
                          ("db", "unchanged"), ("queue", "failed")])
        assert_untouched()
        self.assertEqual(cloud_instances(refusing, infra_id), [])


class DestroyOnSimCloudTest(SimCloudCommandCase):

    def test_what_cannot_be_dropped_is_kept_and_the_next_destroy_finishes(self) -> None:
        refusing = self.another_cloud()
        self.import_definitions(plain=self.cloud, picky=refusing)
        infra_id = self.build(self.write("pair.yaml", "infra_name: pair\nnodes:\n"
                                         "  - {name: web, type: plain}\n"
                                         "  - {name: queue, type: picky}\n"))
        refusing.fail_next(403, 1000)         # it refuses every call from now on
        result = self.run_command("occopus-destroy", "-i", infra_id, code=1)
        outcomes = {row["node"]: row["outcome"] for row in table_rows(result.stdout)}
        self.assertEqual(outcomes, {"web": "dropped", "queue": "failed"})
        self.assertIn(f"infrastructure {infra_id} is kept with what could not be dropped; "
                      "run the command again", result.stderr)
        self.assertEqual(cloud_instances(self.cloud, infra_id), [])
        self.assertEqual(self.stored_ids(), [infra_id])
        self.assertEqual(self.infralist_ids(), [infra_id])

        refusing.fail_next(403, 0)
        self.assertEqual(len(cloud_instances(refusing, infra_id)), 1)
        result = self.run_command("occopus-destroy", "-i", infra_id, code=0)
        # the failed drop's record is cleaned up by recovery, and said so
        self.assertIn("recovery: 1 instance(s) left half-done cleaned up", result.stdout)
        self.assertEqual(cloud_instances(refusing, infra_id), [])
        self.assertEqual(self.stored_ids(), [])
        self.assertEqual(self.infralist_ids(), [])


# Put first on a command's PYTHONPATH, this makes simcloud's plugin code fail to load, as a
# plugin whose SDK was uninstalled does; its schema (the package) still loads.
UNINSTALL_SIMCLOUD = """\
import sys


class _Missing:
    def find_spec(self, name, path=None, target=None):
        if name == "occo.resourcehandler.simcloud.plugin":
            raise ImportError("No module named 'simcloud_sdk'")
        return None


sys.meta_path.insert(0, _Missing())
"""


BUGGY_SIMCLOUD = """\
from occo.resourcehandler.simcloud.plugin import SimCloudHandler


def create_nodes(self, nodes):
    raise RuntimeError("a bug in the plugin, near " + self.connection.settings["endpoint"])


SimCloudHandler.create_nodes = create_nodes
"""


class PluginBugOnSimCloudTest(SimCloudCommandCase):
    """A plugin that raises what no plugin should: the user sees lines, the report a file."""

    def test_a_plugin_bug_is_one_warning_line_and_its_traceback_a_private_file(self) -> None:
        self.use_config()
        self.import_definitions(plain=self.cloud)
        self.write("buggy/sitecustomize.py", BUGGY_SIMCLOUD)
        self.env["PYTHONPATH"] = str(self.work / "buggy")
        result = self.run_command("occopus-build", self.write(
            "one.yaml", "infra_name: one\nnodes:\n  - {name: queue, type: plain}\n"), code=1)
        self.assertNotIn("Traceback", result.stdout + result.stderr)
        [warning] = [line for line in result.stderr.splitlines() if "a bug in the plugin" in line]
        self.assertTrue(warning.startswith("occopus-build: warning: "), warning)
        path = warning.rsplit("(details in ", 1)[1].rstrip(")")
        self.assertEqual(oct(os.stat(path).st_mode & 0o777), oct(0o600))
        with open(path) as log:
            details = log.read()
        self.assertIn("Traceback", details)
        self.assertIn("in create_nodes", details)
        os.remove(path)   # expected here; any other log left is a crash the case reports


class PluginGoneOnSimCloudTest(SimCloudCommandCase):
    """An infrastructure built on simcloud whose plugin then stops loading in this installation."""

    def setUp(self) -> None:
        super().setUp()
        self.use_config()

    def uninstall_simcloud(self) -> None:
        self.write("gone/sitecustomize.py", UNINSTALL_SIMCLOUD)
        self.env["PYTHONPATH"] = str(self.work / "gone")

    def test_validate_import_and_dry_run_say_what_cannot_be_built_here(self) -> None:
        self.uninstall_simcloud()
        nodes = self.write("nodes.yaml", simcloud_definitions({"plain": self.cloud}))
        validated = self.run_command("occopus-validate", nodes, code=0)
        self.assertIn(f"{nodes}:2:", validated.stdout)
        self.assertIn("warning: node type 'plain', implementation 1 of 1, cannot be built by "
                      "this installation: resource type 'simcloud' cannot be loaded: No module "
                      "named 'simcloud_sdk'", validated.stdout)
        self.assertEqual(last_line(validated.stdout), f"{nodes}: ok")
        imported = self.run_command("occopus-import", nodes, code=0)
        self.assertIn("occopus-import: warning: ", imported.stderr)
        self.assertIn("node type 'plain', implementation 1 of 1, cannot be built",
                      imported.stderr)
        description = self.write("one.yaml", "infra_name: one\nnodes:\n"
                                             "  - {name: web, type: plain}\n")
        planned = self.run_command("occopus-build", "--dry-run", description, code=1)
        self.assertIn("create 1 x web", planned.stdout)
        self.assertIn(f"occopus-build: error: {description}:3:", planned.stderr)
        self.assertIn("node 'web' cannot be built by this installation", planned.stderr)
        self.assertIn("'simcloud' cannot be loaded", planned.stderr)
        self.assertEqual(self.stored_ids(), [])

    def test_destroy_forgets_what_cannot_be_reached_naming_what_is_left_behind(self) -> None:
        self.import_definitions(plain=self.cloud)
        infra_id = self.build(self.write("one.yaml", "infra_name: one\nnodes:\n"
                                                     "  - {name: web, type: plain}\n"))
        [instance] = cloud_instances(self.cloud, infra_id)
        node_id = instance["tags"][NODE_TAG]
        self.uninstall_simcloud()

        kept = self.run_command("occopus-destroy", "-i", infra_id, code=1)
        self.assertIn(f"`occopus-destroy -i {infra_id} --forget`", kept.stderr)
        self.assertEqual(self.stored_ids(), [infra_id])

        forgot = self.run_command("occopus-destroy", "-i", infra_id, "--forget", code=0)
        self.assertEqual([(row["node_id"], row["outcome"]) for row in table_rows(forgot.stdout)],
                         [(node_id, "forgotten")])
        self.assertIn(f"infrastructure {infra_id} is forgotten", forgot.stderr)
        self.assertIn(f"  node web {node_id} in simcloud {self.cloud.url}, resource "
                      f"{instance['id']}: cannot drop it: resource type 'simcloud' cannot be "
                      "loaded", forgot.stderr)
        self.assertEqual(self.stored_ids(), [])
        self.assertEqual(self.infralist_ids(), [])
        # it was left behind indeed: the cloud still runs it
        self.assertEqual([item["id"] for item in cloud_instances(self.cloud, infra_id)],
                         [instance["id"]])

    def test_forget_drops_what_can_be_dropped(self) -> None:
        infra_id = self.build_pair_with_one_cloud_refusing()
        forgot = self.run_command("occopus-destroy", "-i", infra_id, "--forget", "--json",
                                  code=0)
        document = json.loads(forgot.stdout)
        self.assertTrue(document["forgotten"])
        self.assertEqual(sorted((node["node_name"], node["outcome"])
                                for node in document["nodes"]),
                         [("queue", "forgotten"), ("web", "dropped")])
        # the instance it could not drop, and the cloud it could not sweep (which may hold
        # more of the infrastructure than the records name)
        node, cloud = document["left_behind"]
        self.assertEqual((node["node_name"], node["cloud"]),
                         ("queue", f"simcloud {self.refusing.url}"))
        self.assertEqual((cloud["node_name"], cloud["node_id"], cloud["resource_id"],
                          cloud["cloud"]), (None, None, None, f"simcloud {self.refusing.url}"))
        self.assertTrue(cloud["reason"].startswith("cannot sweep it: "), cloud)
        self.assertEqual(cloud_instances(self.cloud, infra_id), [])
        self.assertEqual(self.stored_ids(), [])

    def test_forget_names_on_stderr_each_cloud_it_could_not_sweep(self) -> None:
        infra_id = self.build_pair_with_one_cloud_refusing()
        forgot = self.run_command("occopus-destroy", "-i", infra_id, "--forget", code=0)
        listed = forgot.stderr.split(f"infrastructure {infra_id} is forgotten; what could not "
                                     "be dropped may be left behind, remove it by hand:\n")[1]
        self.assertIn("  node queue ", listed)
        self.assertIn(f"  anything of the infrastructure in simcloud {self.refusing.url}: "
                      "cannot sweep it: ", listed)
        self.assertEqual(self.stored_ids(), [])

    def build_pair_with_one_cloud_refusing(self) -> str:
        self.refusing = self.another_cloud()
        self.import_definitions(plain=self.cloud, picky=self.refusing)
        infra_id = self.build(self.write("pair.yaml", "infra_name: pair\nnodes:\n"
                                         "  - {name: web, type: plain}\n"
                                         "  - {name: queue, type: picky}\n"))
        self.refusing.fail_next(403, 1000)         # it refuses every call from now on
        self.addCleanup(self.refusing.fail_next, 403, 0)
        return infra_id
