"""The cloudsigma plugin's servers: what they are made of, how they boot and go, and creates
that finish what a crashed attempt began, against the fake CloudSigma."""
from __future__ import annotations

import ipaddress
import time

from occo.util.nodes import NodeState

from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG, Instance, TransientError
from occo.resourcehandler.cloudsigma.testing import ADDRESSES

from .cloudsigma_support import FakeCloudSigmaCase

CONTEXT = "#cloud-config\nwrite_files: []\n"


class CloudSigmaServerTest(FakeCloudSigmaCase):
    FAKE = {"clone_time": 0.1, "boot_time": 0.3, "stop_time": 0.2}

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.cloudsigma_handler()

    def create(self, node) -> Instance:
        [made] = self.handler.create_nodes([node])
        if not isinstance(made, Instance):
            raise made
        self.addCleanup(self.handler.drop_node, made)
        return made

    def test_a_server_is_made_from_the_description_booting_its_own_clone(self) -> None:
        node = self.cloudsigma_node(context=CONTEXT, name="web-1")
        made = self.create(node)
        [server] = self.cloud.servers()
        [drive] = self.cloud.drives()
        self.assertEqual(server["uuid"], made.instance_id)
        self.assertEqual((server["name"], server["cpu"], server["mem"], server["vnc_password"],
                          server["pubkeys"], server["nics"]),
                         ("web-1", 2000, 1073741824, "secret", [self.cloud.account.pubkey_id],
                          node.resource["description"]["nics"]))
        self.assertEqual(server["drives"], [{"boot_order": 1, "dev_channel": "0:0",
                                             "device": "virtio", "drive": drive["uuid"]}])
        self.assertEqual(drive["mounted_on"], [{"uuid": server["uuid"]}])

    def test_the_server_carries_its_owner_and_the_cloud_init_text_in_its_meta(self) -> None:
        node = self.cloudsigma_node(context=CONTEXT)
        self.create(node)
        [server] = self.cloud.servers()
        meta = server["meta"]
        self.assertEqual((meta[INFRA_TAG], meta[NODE_TAG], meta[OWNER_TAG]),
                         (node.infra_id, node.node_id, node.user_id))
        self.assertEqual(meta["base64_fields"], "cloudinit-user-data")
        self.assertEqual(self.cloud.user_data(server), CONTEXT)

    def test_a_default_name_as_the_original_gave_and_a_vnc_password_nobody_can_guess(self):
        """The original's default VNC password was the node id, which the meta shows."""
        nodes = [self.cloudsigma_node() for _ in range(2)]
        for node in nodes:
            del node.resource["description"]["vnc_password"]
            self.create(node)
        servers = {server["meta"][NODE_TAG]: server for server in self.cloud.servers()}
        passwords = {servers[node.node_id]["vnc_password"] for node in nodes}
        self.assertEqual(len(passwords), 2)
        for node in nodes:
            password = servers[node.node_id]["vnc_password"]
            self.assertGreaterEqual(len(password), 16)
            self.assertNotIn(password, node.node_id)
        node = nodes[0]
        self.assertEqual(servers[node.node_id]["name"],
                         f"occopus-tests-{node.infra_id[:8]}-node-{node.node_id[:8]}")

    def test_extra_drives_of_the_description_follow_the_boot_drive(self) -> None:
        """The original tested for a `drivers` key, and so dropped the user's drives."""
        data = self.cloud.add_drive("data")
        extra = {"boot_order": 2, "dev_channel": "0:1", "device": "virtio", "drive": data}
        self.create(self.cloudsigma_node(drives=[extra]))
        [server] = self.cloud.servers()
        self.assertEqual([drive["drive"] for drive in server["drives"]][1:], [data])
        self.assertEqual(server["drives"][0]["dev_channel"], "0:0")
        self.handler.drop_node(Instance("-", "-", server["uuid"]))
        self.assertEqual(self.cloud.servers(), [])
        self.assertEqual([drive["uuid"] for drive in self.cloud.drives()], [data],
                         "a drop deletes the clone it made, never a drive of the user's")

    def test_a_server_starts_slowly_then_runs_on_a_loopback_address(self) -> None:
        made = self.create(self.cloudsigma_node())
        seen = []
        while not seen or seen[-1].state is not NodeState.READY:
            [status] = self.handler.get_states([made])
            seen.append(status)
            self.assertIn(status.state, (NodeState.PENDING, NodeState.READY), seen)
        self.assertIs(seen[0].state, NodeState.PENDING)
        self.assertEqual(seen[0].addresses, ())
        [address] = seen[-1].addresses
        self.assertIn(ipaddress.ip_address(address), ADDRESSES)

    def test_a_drop_waits_for_the_stop_then_deletes_the_server_and_its_drives(self) -> None:
        made = self.create(self.cloudsigma_node())
        self.handler.drop_node(made)
        self.assertEqual(self.cloud.servers(), [])
        self.assertEqual(self.cloud.drives(), [])
        self.assertEqual([call for call in self.cloud.calls if call[0] != "GET"][-2:],
                         [("POST", f"/servers/{made.instance_id}/action/"),
                          ("DELETE", f"/servers/{made.instance_id}/")],
                         "one stop, one delete (recurse=all_drives)")

    def test_one_listing_answers_the_states_of_many_servers(self) -> None:
        made = [self.create(self.cloudsigma_node()) for _ in range(3)]
        before = len(self.cloud.calls)
        self.assertEqual(len(self.handler.get_states(made)), 3)
        self.assertEqual(self.cloud.calls[before:], [("GET", "/servers/detail/")])


class CloudSigmaStartTest(FakeCloudSigmaCase):
    """CloudSigma starts a server asynchronously: a create returns only once the server has
    left `stopped`, which would read as a failed boot."""

    FAKE = {"clone_time": 0.0, "boot_time": 0.2, "stop_time": 0.0, "start_lag": 0.3}

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.cloudsigma_handler()

    def create(self) -> Instance:
        [made] = self.handler.create_nodes([self.cloudsigma_node()])
        if not isinstance(made, Instance):
            raise made
        self.addCleanup(self.handler.drop_node, made)
        return made

    def starts(self, made: Instance) -> int:
        return self.cloud.calls.count(("POST", f"/servers/{made.instance_id}/action/"))

    def test_a_create_returns_once_a_lagging_start_has_taken(self) -> None:
        made = self.create()
        [server] = self.cloud.servers()
        self.assertIn(server["status"], ("starting", "running"))
        self.assertIsNot(self.handler.get_states([made])[0].state, NodeState.SHUTDOWN)
        self.assertEqual(self.starts(made), 1)

    def test_a_start_that_left_the_server_stopped_is_sent_again(self) -> None:
        self.cloud.ignore_starts = 1
        self.handler.START_TIMEOUT = 1.0
        made = self.create()
        [server] = self.cloud.servers()
        self.assertIn(server["status"], ("starting", "running"))
        self.assertEqual(self.starts(made), 2)


class CloudSigmaCrashTest(FakeCloudSigmaCase):
    """A create cut short (the process killed, an answer lost) then made again by a new
    handler, as the engine does after a crash: one server, one drive, running."""

    FAKE = {"clone_time": 0.0, "boot_time": 0.0, "stop_time": 0.0}

    def again(self, node) -> Instance:
        handler = self.cloudsigma_handler()         # the engine after a crash
        [made] = handler.create_nodes([node])
        assert isinstance(made, Instance), made
        self.addCleanup(handler.drop_node, made)
        return made

    def cut(self, node, status: int, method: str, path: str) -> None:
        self.cloud.fail_next(status, method=method, path=path)
        [failed] = self.cloudsigma_handler().create_nodes([node])
        self.assertIsInstance(failed, TransientError)

    def assert_one_running(self, made: Instance) -> None:
        [server] = self.cloud.servers()
        self.assertEqual((server["uuid"], server["status"]), (made.instance_id, "running"))
        self.assertEqual(len(self.cloud.drives()), 1)

    def test_a_create_cut_after_the_clone_reuses_the_clone(self) -> None:
        node = self.cloudsigma_node()
        self.cut(node, 503, "POST", "/servers/")
        self.assertEqual((len(self.cloud.drives()), self.cloud.servers()), (1, []))
        self.assert_one_running(self.again(node))

    def test_a_create_cut_before_the_start_starts_the_server_made(self) -> None:
        node = self.cloudsigma_node()
        self.cut(node, 502, "POST", "/servers/*/action/")    # the start
        [server] = self.cloud.servers()
        self.assertEqual(server["status"], "stopped")
        made = self.again(node)
        self.assertEqual(made.instance_id, server["uuid"])
        self.assert_one_running(made)

    def test_a_create_whose_answer_was_lost_finds_the_server(self) -> None:
        node = self.cloudsigma_node()
        first = self.again(node)
        self.assertEqual(self.again(node).instance_id, first.instance_id)
        self.assert_one_running(first)


class CloudSigmaRecoveryTest(FakeCloudSigmaCase):
    """A clone whose server a crash kept from being made is listed as the node's, so that
    recovery finishes its create or drops it: never left behind."""

    FAKE = {"clone_time": 0.0, "boot_time": 0.0, "stop_time": 0.0}

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.cloudsigma_handler()
        self.node = self.cloudsigma_node()
        self.cloud.fail_next(503, method="POST", path="/servers/")     # killed after the clone
        [failed] = self.handler.create_nodes([self.node])
        self.assertIsInstance(failed, TransientError)
        [self.drive] = self.cloud.drives()

    def test_an_unused_clone_is_listed_as_its_node(self) -> None:
        [owned] = self.handler.list_owned(self.node.infra_id)
        self.assertEqual((owned.node_id, owned.instance_id),
                         (self.node.node_id, f"drive:{self.drive['uuid']}"))
        [status] = self.handler.get_states([owned])
        self.assertIs(status.state, NodeState.PENDING)
        self.assertEqual(self.handler.list_owned("another-infra"), [])

    def test_dropping_the_clone_deletes_it(self) -> None:
        [owned] = self.handler.list_owned(self.node.infra_id)
        self.handler.drop_node(owned)
        self.assertEqual(self.cloud.drives(), [])
        self.assertEqual(self.handler.list_owned(self.node.infra_id), [])
        self.assertIs(self.handler.get_states([owned])[0].state, NodeState.SHUTDOWN)

    def test_a_create_finished_after_the_listing_is_reached_through_the_clone(self) -> None:
        [owned] = self.handler.list_owned(self.node.infra_id)
        [made] = self.handler.create_nodes([self.node])       # recovery finishes the create
        assert isinstance(made, Instance)
        [server] = self.cloud.servers()
        self.assertEqual(made.instance_id, server["uuid"])
        [status] = self.handler.get_states([owned])
        self.assertIs(status.state, NodeState.READY)
        self.assertEqual(status.addresses, (server["runtime"]["nics"][0]["ip_v4"]["uuid"],))
        self.assertEqual([i.instance_id for i in self.handler.list_owned(self.node.infra_id)],
                         [server["uuid"]], "a clone in use is no longer listed apart")
        self.handler.drop_node(owned)
        self.assertEqual((self.cloud.servers(), self.cloud.drives()), ([], []))


class CloudSigmaSlowCloneRecoveryTest(FakeCloudSigmaCase):
    FAKE = {"clone_time": 0.5, "boot_time": 0.0, "stop_time": 0.0}

    def test_a_clone_still_copying_is_dropped_once_done(self) -> None:
        handler = self.cloudsigma_handler()
        node = self.cloudsigma_node()
        self.cloud.fail_next(503, method="GET", path="/drives/*-*/")    # cut while cloning
        [failed] = handler.create_nodes([node])
        self.assertIsInstance(failed, TransientError)
        [owned] = handler.list_owned(node.infra_id)
        with self.assertRaises(TransientError) as raised:
            handler.drop_node(owned)
        self.assertIn("is cloning_dst", raised.exception.message)
        wait_until(lambda: self.cloud.drives()[0]["status"] == "unmounted")
        handler.drop_node(owned)
        self.assertEqual(self.cloud.drives(), [])


def wait_until(condition, deadline: float = 30.0) -> None:
    """Poll `condition()` until it holds; fail at the deadline (a safety net)."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.02)
