"""A container's life on the real engine: what it is made with, its states, what it costs."""
from __future__ import annotations


from docker.errors import APIError

from occo.util.nodes import NodeState

from occo.resourcehandler.base import (INFRA_TAG, NODE_TAG, OWNER_TAG, Instance,
                                       TransientError)
from occo.resourcehandler.docker.handler import DockerHandler
from occo.resourcehandler.docker.launch import NAME_TAG

from .docker_case import DockerCase
from .support import run_threads


class FailingStart:
    """The client's `start`, failing once as an engine in trouble does (500), then working."""

    def __init__(self, handler: DockerHandler) -> None:
        self.start = handler.client.start
        self.failed = 0
        handler.client.start = self     # type: ignore[method-assign]

    def __call__(self, container: str) -> None:
        if not self.failed:
            self.failed += 1
            response = type("Response", (), {"status_code": 500, "reason": "Server Error"})()
            raise APIError("500 Server Error", response=response,   # type: ignore[arg-type]
                           explanation="failed to start: the engine is overloaded")
        self.start(container)


class CreateTest(DockerCase):
    def test_a_create_that_made_the_container_but_failed_to_start_it_starts_it_on_retry(self):
        handler = self.handler()
        FailingStart(handler)
        node = self.node()
        [failed] = handler.create_nodes([node])
        self.assertIsInstance(failed, TransientError)
        self.assertIn("starting container", failed.message)
        self.assertIn("the engine is overloaded", failed.message)
        [left] = handler.list_owned(self.infra_id)
        self.assertEqual(self.inspect(left)["State"]["Status"], "created")

        instance = self.create(handler, node)
        self.assertEqual(instance.instance_id, left.instance_id)
        self.wait_for(handler, instance, NodeState.READY)
        self.assertEqual(len(handler.list_owned(self.infra_id)), 1)

    def test_a_container_is_named_and_labelled_after_its_node_when_created(self):
        handler = self.handler()
        node = self.node()
        instance = self.create(handler, node)
        config = self.inspect(instance)
        self.assertEqual(config["Name"], f"/occopus-{node.node_id}")
        self.assertEqual(instance.data["name"], f"occopus-{node.node_id}")
        labels = config["Config"]["Labels"]
        self.assertEqual({key: labels[key] for key in (INFRA_TAG, NODE_TAG, OWNER_TAG, NAME_TAG)},
                         {INFRA_TAG: self.infra_id, NODE_TAG: node.node_id,
                          OWNER_TAG: "tester@example.org", NAME_TAG: "web"})
        self.assertTrue(config["HostConfig"]["Init"], "runs with an init process")

    def test_a_node_id_a_name_cannot_hold_gets_a_safe_name_of_its_own(self):
        handler = self.handler()
        web = self.new_id("web")
        node_ids = [f"{web}/1 of 2", f"{web}/1:of:2"]
        made = [self.create(handler, self.node(node_id=node_id)) for node_id in node_ids]
        names = {self.inspect(instance)["Name"] for instance in made}
        self.assertEqual(len(names), 2)
        for name in names:
            self.assertRegex(name, rf"^/occopus-{web}-1-of-2-[0-9a-f]{{16}}$")
        self.assertEqual(sorted(i.node_id for i in handler.list_owned(self.infra_id)),
                         sorted(node_ids))


class LaunchTest(DockerCase):
    def test_env_and_command_reach_the_container(self):
        handler = self.handler()
        script = 'echo "to $target: $message" > /tmp/said; cat /tmp/said; exec sleep inf'
        instance = self.create(handler, self.node(
            env=["message=hello, world", "target=the tests"], command=["sh", "-c", script]))
        self.wait_for(handler, instance, NodeState.READY)
        self.wait_until(lambda: "to the tests: hello, world" in self.logs(instance),
                        "the command's output")
        said = self.docker.exec_create(instance.instance_id, ["cat", "/tmp/said"])
        self.assertEqual(self.docker.exec_start(said["Id"]).decode().strip(),
                         "to the tests: hello, world")

    def test_a_command_string_is_split_as_a_shell_would(self):
        handler = self.handler()
        instance = self.create(handler, self.node(
            env=["word=split"], command="sh -c 'echo \"not $word here\"; exec sleep inf'"))
        self.wait_until(lambda: "not split here" in self.logs(instance), "the command's output")

    def test_without_a_command_the_image_runs_its_own(self):
        repository, tag = self.unique_image()
        own = 'CMD ["sh", "-c", "echo the image command; exec sleep inf"]'
        with open(self.engine.base_tarball, "rb") as tarball:
            self.docker.import_image(src=tarball, repository=repository, tag=tag, changes=[own])
        handler = self.handler()
        without_command = self.create(handler, self.node(
            image=repository, tag=tag, contextualisation={"type": "docker", "env": ["a=b"]}))
        without_section = self.create(handler, self.node(
            image=repository, tag=tag, contextualisation={}))
        for instance in (without_command, without_section):
            self.wait_until(lambda: "the image command" in self.logs(instance),
                            "the image's command's output")
        self.assertIn("a=b", self.inspect(without_command)["Config"]["Env"])


class StatesTest(DockerCase):
    def test_a_running_container_is_ready_at_its_bridge_address(self):
        handler = self.handler()
        instance = self.create(handler, self.node())
        status = self.wait_for(handler, instance, NodeState.READY)
        networks = self.inspect(instance)["NetworkSettings"]["Networks"]
        address = next(iter(networks.values()))["IPAddress"]
        self.assertRegex(address, r"^\d+\.\d+\.\d+\.\d+$")
        self.assertEqual((status.addresses, status.private_ip, status.detail),
                         ((address,), address, None))

    def test_a_main_process_that_ends_well_is_shutdown_and_one_that_fails_is_failed(self):
        handler = self.handler()
        ended = self.create(handler, self.node(command="true"))
        crashed = self.create(handler, self.node(command="sh -c 'exit 3'"))
        missing = self.create(handler, self.node(command="no-such-program"))
        ended_status = self.wait_for(handler, ended, NodeState.SHUTDOWN)
        crashed_status = self.wait_for(handler, crashed, NodeState.FAILED)
        missing_status = self.wait_for(handler, missing, NodeState.FAILED)
        self.assertRegex(ended_status.detail, r"^Exited \(0\)")
        self.assertRegex(crashed_status.detail, r"^Exited \(3\)")
        self.assertRegex(missing_status.detail, r"^Exited \(127\)")
        self.assertEqual(ended_status.addresses, ())
        # an ended container still exists: its infrastructure still owns it until it is dropped
        self.assertEqual(len(handler.list_owned(self.infra_id)), 3)

    def test_a_paused_container_is_temp_failed_and_a_dropped_one_is_gone(self):
        handler = self.handler()
        instance = self.create(handler, self.node())
        self.wait_for(handler, instance, NodeState.READY)
        self.docker.pause(instance.instance_id)
        self.assertIs(handler.get_states([instance])[0].state, NodeState.TEMP_FAILED)
        self.docker.unpause(instance.instance_id)
        self.assertIs(handler.get_states([instance])[0].state, NodeState.READY)
        handler.drop_node(instance)
        self.assertIs(handler.get_states([instance])[0].state, NodeState.SHUTDOWN)

    def test_one_call_tells_the_states_of_many(self):
        handler = self.handler()
        instances = [self.create(handler, self.node()) for _ in range(5)]
        missing = Instance(self.infra_id, "missing", "0" * 64)
        calls = self.count_calls(handler)
        statuses = handler.get_states([*instances, missing, instances[0]])
        self.assertEqual(calls, ["GET /containers/json"])
        self.assertEqual(len(statuses), 7)
        self.assertIs(statuses[5].state, NodeState.SHUTDOWN)
        for status in statuses[:5] + statuses[6:]:
            self.assertIn(status.state, (NodeState.PENDING, NodeState.READY))


class EndpointTest(DockerCase):
    def test_both_endpoint_forms_reach_the_engine(self):
        for kind in ("unix", "tcp"):
            with self.subTest(kind):
                handler = self.handler(kind)
                self.assertTrue(handler.endpoint.startswith(f"{kind}://"))
                instance = self.create(handler, self.node())
                self.wait_for(handler, instance, NodeState.READY)
                handler.drop_node(instance)
                self.assertEqual(handler.list_owned(self.infra_id), [])


class CostTest(DockerCase):
    """What a container costs in engine calls (`bench/containers.py` measures its time)."""

    def test_a_container_costs_four_calls_of_its_own_and_is_running_at_its_first_poll(self):
        handler = self.handler()
        self.create(handler, self.node())           # the image is looked for once a handler
        calls = self.count_calls(handler)
        instance = self.create(handler, self.node())
        self.assertIs(handler.get_states([instance])[0].state, NodeState.READY,
                      "started by its create: up_when_made")
        handler.drop_node(instance)
        self.assertEqual(calls, [
            "POST /containers/create", f"POST /containers/{instance.instance_id}/start",
            "GET /containers/json", f"POST /containers/{instance.instance_id}/stop",
            f"DELETE /containers/{instance.instance_id}"])

    def test_the_first_container_of_an_image_looks_for_the_image_once(self):
        handler = self.handler()
        calls = self.count_calls(handler)
        failures = run_threads([lambda: self.create(handler, self.node())] * 6)
        self.assertEqual(failures, [])
        self.assertEqual(calls.count(f"GET /images/{self.engine.base_image}/json"), 1)
        self.assertEqual(calls.count("POST /containers/create"), 6)
