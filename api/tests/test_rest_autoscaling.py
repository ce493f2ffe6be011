"""The autoscaling tutorials' alert executor against occopus-rest-service, end to end.

The autoscaling tutorials (../shared/compat/occopus-tutorials/autoscaling-*)
put a Prometheus alert executor script, `executor_conf.sh`, on one of their
nodes; when an alert fires, Prometheus' executor runs it with the alert's
labels in `AMX_*` variables and it asks Occopus' REST service to scale the
node the alert names: `curl -X POST http://IP:PORT/infrastructures/ID/scaleup/NODE`
(`scaledown` for any other alert), without any Authorization header.

Each test does what a user of the tutorial does: it fills the tutorial's
placeholders with the cloud's values (a fake one: the FakeOpenStack of
`test_e2e_nova`, or moto's EC2 server of `test_e2e_ec2`), points the
description's `occopus_restservice_ip`/`_port` variables at the service,
imports the node definitions and submits the description over HTTP for the
service's daemon to build. Then it takes the script out of the cloud-config
Occopus sent to the cloud for the node (rendered: the service's address in
the curl lines, the infrastructure's id in the alert rules' labels) and runs
it with bash and the real curl, with the variables the executor would give
for the tutorial's own alert rules:

- with the service's default bearer tokens the curl is refused (401) and
  nothing is queued: these tutorials need `rest: {auth: none}` (loopback
  only), so the user configures that and restarts the service on the same
  port, which picks the infrastructure up again;
- an `overloaded` alert: the scale-up is accepted (202) and the daemon builds
  one more instance, which becomes ready;
- an `underloaded` alert (the script's else branch): the scale-down is
  accepted and the youngest instance goes, back to the node's minimum;
- DELETE tears everything down and the cloud holds nothing of it.

The hadoop nodes' health checks ask for TCP ports (50070 on the master,
50075 on a slave): `NodeServices`, a thread of the test, listens on each
server's addresses (fixed and floating, on the fake's loopback ranges, never
a wildcard address) for its node's port once the fake cloud shows them, as
the VM's Hadoop would, and stops when the server is gone. The dataavenue
nodes have no health check of their own: the default ping reaches their
loopback addresses.
"""
from __future__ import annotations

import collections
import ipaddress
import json
import re
import selectors
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from occo.infobroker.store import PendingScaling
from occo.resourcehandler.base import NODE_TAG
from occo.resourcehandler.nova import testing as fake

from .rest_support import RestCase, Service
from .support import DEADLINE, wait_until
from .test_e2e_ec2 import EC2TutorialCase, tags_of
from .test_e2e_nova import NovaTutorialCase

EXECUTOR = "/opt/prometheus/prometheus_executor/executor_conf.sh"
RULES = {"autoscaling-hadoop": "/opt/prometheus/prometheus.rules",
         "autoscaling-dataavenue": "/opt/prometheus/prometheus.rules"}
CURL = Path("/usr/bin/curl")
SHELL_PATH = "/usr/bin:/bin"          # all the script finds: bash's builtins, seq and curl
FAKE_RANGES = (ipaddress.ip_network(fake.FIXED), ipaddress.ip_network(fake.FLOATING))
PAUSE = 0.2                            # between two live reports (each asks the cloud)


# --- what the nodes' VMs would do ----------------------------------------------------

class NodeServices:
    """The TCP services the nodes' health checks ask for, as their VMs would offer them.

    A thread polls `servers()` (the fake cloud's servers); for each one that shows
    addresses and belongs to a node in `ports` (`node_of(server)` names it), it listens on
    every address of the server for that node's port, accepting and closing each
    connection (a health check only connects); once a server or one of its addresses is
    gone, so is the listener. Only ever the fake's loopback addresses: never 0.0.0.0.
    """

    def __init__(self, servers: Callable[[], list[dict[str, Any]]],
                 node_of: Callable[[Mapping[str, Any]], str | None],
                 ports: Mapping[str, int]) -> None:
        self._servers = servers
        self._node_of = node_of
        self._ports = dict(ports)
        self._listening: dict[tuple[str, int], socket.socket] = {}
        self._selector = selectors.DefaultSelector()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="node-services", daemon=True)
        self.answered: collections.Counter[tuple[str, int]] = collections.Counter()
        self.errors: list[str] = []

    def start(self) -> NodeServices:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=DEADLINE)
        for where in list(self._listening):
            self._close(where)
        self._selector.close()

    def listening(self) -> set[tuple[str, int]]:
        return set(self._listening)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._follow(self._servers())
            except Exception as error:       # shown by the test, which checks `errors`
                self.errors.append(f"following the servers: {error!r}")
            for key, _ in self._selector.select(timeout=0.05):
                try:
                    connection, _ = key.fileobj.accept()      # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                connection.close()
                self.answered[key.data] += 1

    def _follow(self, servers: Iterable[Mapping[str, Any]]) -> None:
        wanted = set()
        for server in servers:
            node = self._node_of(server)
            if node not in self._ports:
                continue
            for entries in server["addresses"].values():
                wanted.update((entry["addr"], self._ports[node]) for entry in entries)
        for where in set(self._listening) - wanted:
            self._close(where)
        for where in wanted - set(self._listening):
            self._listen(where)

    def _listen(self, where: tuple[str, int]) -> None:
        address, port = where
        if not any(ipaddress.ip_address(address) in network for network in FAKE_RANGES):
            raise AssertionError(f"{address} is not an address of the fake cloud")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((address, port))
            listener.listen(16)
            listener.setblocking(False)
        except OSError as error:
            listener.close()
            self.errors.append(f"cannot listen on {address}:{port}: {error}")
            self._listening[where] = socket.socket()      # tried once: not again
            return
        self._selector.register(listener, selectors.EVENT_READ, where)
        self._listening[where] = listener

    def _close(self, where: tuple[str, int]) -> None:
        listener = self._listening.pop(where)
        try:
            self._selector.unregister(listener)
        except (KeyError, ValueError):
            pass
        listener.close()


# --- Prometheus' side --------------------------------------------------------------

def write_file(cloud_config: Mapping[str, Any], path: str) -> str:
    """The content of one of a cloud-config's `write_files`."""
    [content] = [item["content"] for item in cloud_config.get("write_files", ())
                 if item.get("path") == path]
    return str(content)


def alert_labels(rules: str, alert: str) -> dict[str, str]:
    """The labels of one alert of a Prometheus 1.x rules file (`ALERT name ... LABELS {...}`),
    which the alertmanager passes on to the executor."""
    found = re.search(rf"^ALERT {re.escape(alert)}\n(?:.*\n)*?\s*LABELS \{{([^}}]*)\}}",
                      rules, re.MULTILINE)
    if found is None:
        raise AssertionError(f"the rules have no alert {alert}:\n{rules}")
    return dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))


def executor_environment(*alerts: Mapping[str, str]) -> dict[str, str]:
    """What prometheus_executor puts in the environment of its script for firing alerts."""
    environment = {"AMX_STATUS": "firing", "AMX_ALERT_LEN": str(len(alerts))}
    for number, labels in enumerate(alerts, start=1):
        environment.update({f"AMX_ALERT_{number}_LABEL_{key}": value
                            for key, value in labels.items()})
    return environment


def json_documents(text: str) -> list[dict[str, Any]]:
    """The JSON bodies curl printed one after the other."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        while text[at].isspace():
            at += 1
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found


# --- the flow both tutorials go through ---------------------------------------------

class AutoscalingFlow(RestCase):
    """A tutorial whose Prometheus executor scales its nodes through the REST service. The
    cloud's case says what its cloud holds of an infrastructure (`live_resources`), which
    node instance a resource is (`resource_node_id`), what it was sent (`cloud_config`),
    how a tutorial is filled (`import_tutorial`) and what destroy leaves
    (`assert_nothing_left`)."""

    TUTORIAL: str
    DESCRIPTION: str          # the infrastructure description's file in the tutorial
    PROMETHEUS: str           # the node whose cloud-config holds the executor script
    MINIMUMS: Mapping[str, int]     # each node's instances once built: its scaling min

    service: Service

    def live_resources(self, infra_id: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def resource_node_id(self, resource: Mapping[str, Any]) -> str:
        raise NotImplementedError

    # --- the service ---------------------------------------------------------------
    def configure(self, rest: str) -> None:
        """The config file every command and the service read: the store next to it, and
        the service's `rest:` section."""
        self.cfg = self.write("occopus_config.yaml",
                              "store: {backend: sqlite, path: state/state.db}\n"
                              f"rest: {{{rest}}}\n")
        self.state_db = self.work / "state" / "state.db"

    def serve(self, *args: Any, token: bool = True) -> Service:
        """`start_service`, SIGTERMed at cleanup if the test stops half-way (before what it
        left is destroyed: occopus-destroy then finds no lease held)."""
        self.service = self.start_service(*args, token=token)
        self.addCleanup(self.end, self.service)
        return self.service

    @staticmethod
    def end(service: Service) -> None:
        if service.running.process.poll() is None:
            service.running.process.send_signal(signal.SIGTERM)
            service.running.wait()

    def stop_service(self) -> None:
        """SIGTERM: the service exits 0, without a traceback or its token in its output."""
        running = self.service.running
        running.process.send_signal(signal.SIGTERM)
        self.assertEqual(running.wait(), 0, running.stderr)
        self.assertNotIn("Traceback", running.stderr)
        if self.service.token:
            self.assertNotIn(self.service.token, running.stderr + running.stdout)

    def destroy_left_over(self) -> None:
        """A cleanup: what a test that stopped half-way left stored is destroyed."""
        for infra_id in self.stored_ids():
            self.destroy_if_stored(infra_id)

    def shown(self, infra_id: str) -> dict[str, Any]:
        """GET /infrastructures/ID: each node's instances (live states) and scaling."""
        shown = self.service.get(f"/infrastructures/{infra_id}")
        self.assertEqual(shown.status_code, 200, shown.text)
        return shown.json()

    def wait_for_counts(self, infra_id: str, counts: Mapping[str, int],
                        what: str) -> dict[str, Any]:
        """Wait until each node has `counts` instances, every one ready, and that count as
        its target; the report then.

        Ready means made ready by a pass (its `nodecreated` event): a cloud may
        show an instance ready while the pass that makes it still checks it, and
        a service stopped then rolls that instance back."""
        def settled() -> dict[str, Any] | None:
            nodes = self.shown(infra_id)
            for name, count in counts.items():
                node = nodes[name]
                states = [item["state"] for item in node["instances"].values()]
                if (states != ["ready"] * count or node["scaling"]["actual"] != count
                        or node["scaling"]["target"] != count):
                    return None
            events = self.service.get(f"/infrastructures/{infra_id}/events").json()["events"]
            created = {event["data"]["node_id"] for event in events
                       if event["name"] == "nodecreated"}
            listed = {node_id for name in counts for node_id in nodes[name]["instances"]}
            return nodes if listed <= created else None
        return wait_until(settled, lambda: f"{what}; the service's stderr:\n"
                                           + self.service.running.stderr[-4000:],
                          pause=PAUSE)

    # --- the executor ----------------------------------------------------------------
    def executor(self, infra_id: str, nodes: Mapping[str, Any]) -> tuple[Path, str]:
        """The executor script as Occopus rendered it for the Prometheus node (written
        out to run), and that node's alert rules, from what the cloud was sent."""
        [node_id] = nodes[self.PROMETHEUS]["instances"]
        [resource] = [item for item in self.live_resources(infra_id)
                      if self.resource_node_id(item) == node_id]
        config = self.cloud_config(resource)
        script = write_file(config, EXECUTOR)
        host, port = self.service.url.removeprefix("http://").rsplit(":", 1)
        for verb in ("scaleup", "scaledown"):
            self.assertIn(f"curl -X POST http://{host}:{port}/infrastructures/$1/{verb}/$2",
                          script)
        path = self.write("executor_conf.sh", script)
        return path, write_file(config, RULES[self.TUTORIAL])

    def fire(self, script: Path, *alerts: Mapping[str, str]) -> list[dict[str, Any]]:
        """Run the script as prometheus_executor runs it for `alerts` (their labels); the
        answers curl printed."""
        environment = {"PATH": SHELL_PATH, "HOME": str(self.home),
                       **executor_environment(*alerts)}
        ran = subprocess.run(["bash", str(script)], env=environment, cwd=self.work,
                             capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(ran.returncode, 0, ran.stdout + ran.stderr)
        return json_documents(ran.stdout)

    def alerts(self, rules: str, infra_id: str, names: Iterable[str]) -> list[dict[str, str]]:
        """The labels of the tutorial's alerts `names`, each naming this infrastructure."""
        found = [alert_labels(rules, name) for name in names]
        for labels in found:
            self.assertEqual(labels["infra_id"], infra_id, labels)
        return found

    # --- the whole story -------------------------------------------------------------
    def run_the_tutorial(self, up: list[str], down: list[str],
                         listeners: NodeServices | None = None) -> None:
        """Build the tutorial through the service (default token auth), see the executor
        refused; restart with `auth: none`; fire the alerts `up` (their nodes get one more
        instance each), then `down` (back to their minimums); DELETE."""
        if not CURL.is_file():
            raise AssertionError(f"{CURL} is needed: the tutorial's script calls curl")
        self.addCleanup(self.destroy_left_over)        # last: once the services have ended
        self.configure("interval: 1")
        self.serve()
        host, port = self.service.url.removeprefix("http://").rsplit(":", 1)
        tutorial = self.import_tutorial(self.TUTORIAL)
        description = tutorial / self.DESCRIPTION
        text = description.read_text()
        for variable, default, value in (("occopus_restservice_ip", "127.0.0.1", host),
                                         ("occopus_restservice_port", "5000", port)):
            line = f'{variable}: "{default}"'
            self.assertIn(line, text)
            text = text.replace(line, f'{variable}: "{value}"')
        description.write_text(text)

        submitted = self.service.post("/infrastructures/", content=text)
        self.assertEqual(submitted.status_code, 201, submitted.text)
        infra_id = submitted.json()["infraid"]
        nodes = self.wait_for_counts(infra_id, self.MINIMUMS, "the daemon builds the tutorial")
        if listeners is not None:
            self.assertEqual(listeners.errors, [])
        script, rules = self.executor(infra_id, nodes)
        overloaded = self.alerts(rules, infra_id, up)
        underloaded = self.alerts(rules, infra_id, down)
        scaled = [labels["node"] for labels in overloaded]
        self.assertEqual(sorted(scaled), sorted(labels["node"] for labels in underloaded))
        self.assertEqual({labels["alert"] for labels in overloaded}, {"overloaded"})
        self.assertEqual({labels["alert"] for labels in underloaded}, {"underloaded"})

        # the default: bearer tokens, and the script sends none
        refused = self.fire(script, *overloaded)
        self.assertEqual([(answer["status_code"], answer["reason"]) for answer in refused],
                         [(401, "a bearer token is needed")] * len(overloaded))
        store, unchanged = self.open_store(), self.shown(infra_id)
        for node in scaled:
            self.assertEqual(store.pending_scaling(infra_id, node), PendingScaling())
            self.assertEqual(unchanged[node]["scaling"]["target"], self.MINIMUMS[node])
        self.stop_service()

        # as the tutorial needs it: no tokens, on loopback; the daemon picks it up again
        self.configure(f"host: {host}, auth: none, interval: 1")
        self.serve("--port", port, token=False)
        self.assertEqual(self.service.url, f"http://{host}:{port}")
        maintenance = self.service.get(f"/infrastructures/{infra_id}/maintenance").json()
        self.assertTrue(maintenance["attached"], maintenance)

        accepted = self.fire(script, *overloaded)
        self.assertEqual(
            sorted((a["method"], a["nodename"], a["count"], a["accepted"]) for a in accepted),
            sorted(("scaleup", node, 1, 1) for node in scaled), accepted)
        self.assertEqual({answer["infraid"] for answer in accepted}, {infra_id})
        self.assertEqual({answer["pending"]["create"] for answer in accepted}, {1})
        more = {name: count + (name in scaled) for name, count in self.MINIMUMS.items()}
        grown = self.wait_for_counts(infra_id, more, "the daemon builds one more instance")
        first = {node: set(nodes[node]["instances"]) for node in scaled}
        for node in scaled:
            self.assertLess(first[node], set(grown[node]["instances"]),
                            "the first instance was replaced; the events:\n"
                            + self.service.get(f"/infrastructures/{infra_id}/events").text
                            + "\nthe service's stderr:\n" + self.service.running.stderr[-4000:])
        self.assertEqual(len(self.live_resources(infra_id)), sum(more.values()))

        accepted = self.fire(script, *underloaded)
        self.assertEqual(
            sorted((a["method"], a["nodename"], a["nodeid"], a["accepted"]) for a in accepted),
            sorted(("scaledown", node, None, 1) for node in scaled), accepted)
        self.assertEqual({answer["pending"]["destroy"] for answer in accepted}, {1})
        shrunk = self.wait_for_counts(infra_id, self.MINIMUMS,
                                      "the daemon drops the youngest instance")
        for node in scaled:          # the youngest went: the first is the one left
            self.assertEqual(set(shrunk[node]["instances"]), first[node])
        wait_until(lambda: len(self.live_resources(infra_id)) == sum(self.MINIMUMS.values()),
                   "the cloud holds the minimum again", pause=PAUSE)

        deleted = self.service.delete(f"/infrastructures/{infra_id}")
        self.assertEqual((deleted.status_code, deleted.json()), (202, {"infraid": infra_id}))
        wait_until(lambda: self.service.get(f"/infrastructures/{infra_id}").status_code == 404,
                   lambda: "the infrastructure is destroyed; the service's stderr:\n"
                           + self.service.running.stderr[-4000:], pause=PAUSE)
        wait_until(lambda: not self.live_resources(infra_id), "the cloud holds nothing of it",
                   pause=PAUSE)
        self.assert_nothing_left(infra_id)
        self.assertEqual(self.stored_ids(), [])
        self.stop_service()
        if listeners is not None:
            self.assertEqual(listeners.errors, [])


class HadoopAutoscalingTest(AutoscalingFlow, NovaTutorialCase):
    """autoscaling-hadoop on the fake OpenStack: the master's executor scales the slaves."""

    TUTORIAL = "autoscaling-hadoop"
    DESCRIPTION = "infra_as_hadoop.yaml"
    PROMETHEUS = "hadoop-master"
    MINIMUMS = {"hadoop-master": 1, "hadoop-slave": 1}
    PORTS = {"hadoop-master": 50070, "hadoop-slave": 50075}     # nodes/node_definitions.yaml

    def live_resources(self, infra_id: str) -> list[dict[str, Any]]:
        return self.servers(infra_id)

    def resource_node_id(self, resource: Mapping[str, Any]) -> str:
        return str(resource["metadata"][NODE_TAG])

    @staticmethod
    def node_of(server: Mapping[str, Any]) -> str | None:
        """The node a server is an instance of, from its name (Occopus names a server
        `occopus-INFRA-ID-NODE-NODEID`)."""
        node_id = server["metadata"].get(NODE_TAG, "")
        return next((node for node in HadoopAutoscalingTest.PORTS
                     if node_id and server["name"].endswith(f"-{node[:18]}-{node_id[:8]}")),
                    None)

    def test_the_masters_executor_scales_the_slaves_through_the_service(self) -> None:
        listeners = NodeServices(self.cloud.live_servers, self.node_of, self.PORTS).start()
        self.addCleanup(listeners.stop)
        self.run_the_tutorial(["hd_overloaded"], ["hd_underloaded"], listeners)
        # the health checks did ask the VMs' Hadoop ports
        asked = {port for (_, port), count in listeners.answered.items() if count}
        self.assertEqual(asked, set(self.PORTS.values()))
        self.assertEqual(listeners.listening(), set())


class DataAvenueAutoscalingTest(AutoscalingFlow, EC2TutorialCase):
    """autoscaling-dataavenue on moto's EC2: the Prometheus node's executor scales the load
    balancers and the Data Avenue web applications, both alerts at once."""

    TUTORIAL = "autoscaling-dataavenue"
    DESCRIPTION = "infra_as_dataavenue.yaml"
    PROMETHEUS = "prometheus"
    MINIMUMS = {"db": 1, "prometheus": 1, "lb": 1, "da": 1}

    def live_resources(self, infra_id: str) -> list[dict[str, Any]]:
        return self.live(infra_id)

    def resource_node_id(self, resource: Mapping[str, Any]) -> str:
        return tags_of(resource)[NODE_TAG]

    def test_the_prometheus_nodes_executor_scales_two_nodes_at_once(self) -> None:
        self.run_the_tutorial(["lb_overloaded", "da_overloaded"],
                              ["lb_underloaded", "da_underloaded"])
