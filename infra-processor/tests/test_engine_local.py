"""End to end on the local backend: real processes on their own loopback addresses, real
health checks on their ports and URLs, templates reading a dependency's address."""
import ipaddress
import random
import shlex
import socket
import sys
import tempfile
import unittest
from pathlib import Path

from occo.infraprocessor.engine import Outcome
from occo.infraprocessor.instructions import CreateInfrastructure, CreateNodes, DropInfrastructure

from .test_engine_fixture import EngineWorld

PYTHON = shlex.quote(sys.executable)
DB = f"""#cloud-config
runcmd:
- {PYTHON} -m http.server --bind "$OCCOPUS_NODE_ADDRESS" 8080 >/dev/null 2>&1 &
"""
APP = f"""#cloud-config
write_files:
- path: /etc/app.conf
  content: "db={{{{ getip('db') }}}}:8080"
runcmd:
- {PYTHON} -m http.server --bind "$OCCOPUS_NODE_ADDRESS" 8081 >/dev/null 2>&1 &
"""
BROKEN = "#cloud-config\nruncmd:\n- echo the disk is full; exit 3\n"


def refuses(address, port):
    try:
        socket.create_connection((address, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


class LocalBuildTest(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory(prefix="occo-engine-local-")
        self.addCleanup(scratch.cleanup)
        self.network = ipaddress.ip_network(f"127.0.{random.randint(2, 250)}.0/24")
        resource = {"type": "local", "workdir": scratch.name, "address_range": str(self.network)}

        def definition(context, health_check=None):
            return [{"resource": resource, "health_check": health_check or {},
                     "contextualisation": {"type": "cloudinit", "context_template": context}}]
        self.world = EngineWorld(
            self, {"db_node": definition(DB, {"ports": [8080]}),
                   "app_node": definition(APP, {"urls": ["http://{{ip}}:8081/"]}),
                   "broken_node": definition(BROKEN)},
            ("db", "db_node", {"create_timeout": 30}), ("app", "app_node", {"create_timeout": 30}),
            ("broken", "broken_node"), ("after_broken", "app_node"))
        self.addCleanup(self.drop_everything)

    def drop_everything(self):
        self.world.execute(self.world.engine(), DropInfrastructure(self.world.infra_id))

    def test_a_three_node_build_with_a_failure_then_its_drop(self):
        world = self.world
        with self.assertLogs("occo.infraprocessor.engine", "INFO") as logs:
            result = world.execute(world.engine(), CreateInfrastructure(world.infra_id),
                                   CreateNodes("db", 1, frozenset()),
                                   CreateNodes("broken", 1, frozenset()),
                                   CreateNodes("app", 1, frozenset({"db"})),
                                   CreateNodes("after_broken", 1, frozenset({"broken"})))
        outcomes = {r.node_name: r.outcome for r in result.nodes}
        self.assertEqual(outcomes, {"db": Outcome.CREATED, "app": Outcome.CREATED,
                                    "broken": Outcome.FAILED, "after_broken": Outcome.SKIPPED})
        (broken,) = result.of("broken")
        self.assertIn("its resource is failed", broken.reason)
        self.assertIn("exit", broken.reason)
        self.assertIn(broken.node_id, "\n".join(logs.output))

        (db,) = world.records("db").values()
        (app,) = world.records("app").values()
        self.assertIn(ipaddress.ip_address(db["addresses"][0]), self.network)
        written = Path(app["instance"]["data"]["node_dir"], "root", "etc", "app.conf")
        self.assertEqual(written.read_text(), f"db={db['addresses'][0]}:8080")
        self.assertFalse(refuses(db["addresses"][0], 8080))

        result = world.execute(world.engine(), DropInfrastructure(world.infra_id))
        self.assertTrue(result.ok, result)
        self.assertEqual(world.records(), {})
        self.assertTrue(refuses(db["addresses"][0], 8080))
        self.assertTrue(refuses(app["addresses"][0], 8081))
        self.assertEqual(world.event_names()[-1], "infradrop")
