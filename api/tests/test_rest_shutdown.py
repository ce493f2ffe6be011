"""SIGTERM of the real occopus-rest-service while a pass is in flight: a node of a submitted
simcloud infrastructure is held booting by its health check (a `Gate`), and the service is
told to stop. It must exit 0 within DEADLINE with no traceback, having released its lease
and withdrawn from the members, the booting node rolled back (or kept consistently: every
record a live instance, no record half made); the infrastructure stays attached, and a
service started again on the same store builds it once the gate opens. A second signal
during that cleanup must not cut it short.
"""
from __future__ import annotations

import signal
from typing import Any
from urllib.parse import urlsplit

from .rest_support import RestCase, Service
from .support import Gate, SimCloudCommandCase, cloud_instances, port_open, wait_until

SHOP = """\
infra_name: shop
nodes:
  - {name: db, type: plain}
  - {name: app, type: gated}
dependencies:
  - [app, db]
"""

HALF_MADE = ("intent", "created")       # phases of a record whose node is not finished
SLOW_CLOUD = 1.0        # seconds each simcloud call takes while the service stops: its
                        # rollback then outlasts the end of serving, for the second signal


class ShutdownTest(RestCase, SimCloudCommandCase):

    def setUp(self) -> None:
        super().setUp()
        self.cfg = self.write("occopus_config.yaml",
                              "store: {backend: sqlite, path: state/state.db}\n"
                              "rest: {interval: 1}\n")
        self.state_db = self.work / "state" / "state.db"
        self.gate = Gate(self)
        self.import_definitions({"gated": self.gate.health_check()},
                                plain=self.cloud, gated=self.cloud)

    def submit_and_hold(self, service: Service) -> str:
        """Submit SHOP and wait until its pass is in flight: app booting behind the gate."""
        answer = service.post("/infrastructures/", content=SHOP)
        self.assertEqual(answer.status_code, 201, answer.text)
        infra_id = answer.json()["infraid"]
        self.addCleanup(self.destroy_if_stored, infra_id)

        def booting() -> bool:
            records = self.records(infra_id)
            running = service.get(f"/infrastructures/{infra_id}/maintenance").json()["running"]
            return running and any(record["phase"] == "created"
                                   for record in records.get("app", {}).values())
        wait_until(booting, lambda: "app boots in a pass of the service; its stderr:\n"
                                    + service.running.stderr)
        return infra_id

    def assert_stopped_cleanly(self, service: Service, infra_id: str) -> None:
        """Exit 0, no traceback, no lease, no member, no half-made record."""
        running = service.running
        self.assertEqual(running.wait(), 0, running.stderr)
        self.assertNotIn("Traceback", running.stderr + running.stdout)
        self.assertNotIn(service.token, running.stderr + running.stdout)
        store = self.open_store()
        self.assertIsNone(store.current_lease(infra_id))
        self.assertEqual(store.members(), [])
        self.assert_consistent(infra_id)

    def assert_consistent(self, infra_id: str) -> None:
        """Every record a finished node with its live instance in simcloud, and no instance
        in simcloud that no record holds."""
        records = self.records(infra_id)
        phases = {node_id: record["phase"] for nodes in records.values()
                  for node_id, record in nodes.items()}
        self.assertFalse([node_id for node_id, phase in phases.items() if phase in HALF_MADE],
                         phases)
        live = {item["tags"]["occopus-node-id"] for item in cloud_instances(self.cloud, infra_id)}
        self.assertEqual(live, set(phases), phases)

    def test_sigterm_during_a_pass_releases_everything_and_a_new_service_goes_on(self) -> None:
        service = self.start_service()
        infra_id = self.submit_and_hold(service)
        service.running.process.send_signal(signal.SIGTERM)
        self.assert_stopped_cleanly(service, infra_id)
        self.assertEqual(self.open_store().attached(), [infra_id])   # it stays attached
        self.assertEqual(sorted(self.records(infra_id)), ["db"])     # app was rolled back

        again = self.start_service()
        maintenance = again.get(f"/infrastructures/{infra_id}/maintenance").json()
        self.assertTrue(maintenance["attached"], maintenance)
        self.gate.open()

        def ready() -> dict[str, Any] | None:
            nodes = again.get(f"/infrastructures/{infra_id}", params={"live": "false"}).json()
            states = [instance["state"] for node in nodes.values()
                      for instance in node["instances"].values()]
            return nodes if sorted(nodes) == ["app", "db"] and states == ["ready"] * 2 else None
        wait_until(ready, lambda: "the new service builds it; its stderr:\n"
                                  + again.running.stderr)
        again.running.process.send_signal(signal.SIGTERM)
        self.assert_stopped_cleanly(again, infra_id)

    def test_more_signals_while_stopping_do_not_cut_the_cleanup_short(self) -> None:
        service = self.start_service()
        infra_id = self.submit_and_hold(service)
        self.cloud.set_faults(latency=SLOW_CLOUD)
        process = service.running.process
        address = urlsplit(service.url)
        process.send_signal(signal.SIGTERM)
        # serving ends first; the rollback of app, slowed by the cloud, goes on after it:
        # signals all along that cleanup, until the process has ended
        wait_until(lambda: not port_open(address.hostname, address.port),
                   "the service stops listening")
        sent = []

        def ended() -> bool:
            if process.poll() is not None:
                return True
            number = (signal.SIGTERM, signal.SIGINT)[len(sent) % 2]
            process.send_signal(number)
            sent.append(number)
            return False
        wait_until(ended, "the service ends")
        self.assertTrue(sent, "it was still cleaning up when serving ended")
        self.assert_stopped_cleanly(service, infra_id)
        self.assertIn("occopus-rest-service: still stopping", service.running.stderr)
        self.assertNotIn("interrupted", service.running.stderr)
