"""The libcloud plugin's OpenStack driver against the fake OpenStack: what it sends, how the
cloud's errors are classified, and that no secret is told."""
from __future__ import annotations

import base64
import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import requests
from libcloud.compute.base import NodeDriver

from occo.util.config import Settings
from occo.util.nodes import NodeState

from occo.resourcehandler.base import (INFRA_TAG, NODE_TAG, Instance, PermanentError,
                                       TransientError)
from occo.resourcehandler.guard import ResourceHandlers
from occo.resourcehandler.nova import testing as fake

from occo.resourcehandler.anydriver import driver as drivers

from .libcloud_support import CONTEXT, OPENSTACK_CREDENTIALS, LibcloudOpenStackCase

DEADLINE = 60.0        # a safety net against hanging, never a timing assertion


class LaunchTest(LibcloudOpenStackCase):
    def test_the_server_carries_user_data_and_ownership_metadata(self) -> None:
        handler = self.libcloud_handler()
        [made] = handler.create_nodes([self.libcloud_node("infra-a", "node-a")])
        assert isinstance(made, Instance), made
        self.addCleanup(handler.drop_node, made)
        body = self.cloud.servers[made.instance_id].body
        self.assertEqual(base64.b64decode(body["user_data"]).decode(), CONTEXT)
        self.assertEqual((body["metadata"][INFRA_TAG], body["metadata"][NODE_TAG]),
                         ("infra-a", "node-a"))
        self.assertEqual(body["name"], "occopus-infra-a-node-a")

    def test_server_name_and_create_args_are_passed_on(self) -> None:
        handler = self.libcloud_handler()
        node = self.libcloud_node("infra-b", "node-b", server_name="web-1",
                                  create_args={"ex_keyname": fake.KEY_NAME})
        [made] = handler.create_nodes([node])
        assert isinstance(made, Instance), made
        self.addCleanup(handler.drop_node, made)
        body = self.cloud.servers[made.instance_id].body
        self.assertEqual((body["name"], body["key_name"]), ("web-1", fake.KEY_NAME))
        self.assertEqual(handler.list_owned("infra-b"), [made])

    def test_a_create_whose_answer_was_lost_is_found_again(self) -> None:
        handler = self.libcloud_handler()
        node = self.libcloud_node("infra-c", "node-c")
        self.cloud.fail_next(500, "lost on the way", method="POST", path="/servers", after=True)
        [lost] = handler.create_nodes([node])
        self.assertIsInstance(lost, TransientError)
        [made] = handler.create_nodes([node])
        assert isinstance(made, Instance), made
        self.addCleanup(handler.drop_node, made)
        self.assertEqual(len(self.servers_of("node-c")), 1)

    def test_a_server_in_error_is_failed_with_the_clouds_words(self) -> None:
        handler = self.libcloud_handler()
        self.cloud.server_error = "No valid host was found."
        [made] = handler.create_nodes([self.libcloud_node("infra-d", "node-d")])
        assert isinstance(made, Instance), made
        self.addCleanup(handler.drop_node, made)
        deadline = time.monotonic() + 10
        status = handler.get_states([made])[0]
        while status.state is NodeState.PENDING and time.monotonic() < deadline:
            time.sleep(0.05)
            status = handler.get_states([made])[0]
        self.assertIs(status.state, NodeState.FAILED)
        self.assertIn("No valid host", status.detail or "")


class ErrorTest(LibcloudOpenStackCase):
    def test_a_rate_limit_is_transient_with_the_clouds_wait(self) -> None:
        handler = self.libcloud_handler()
        self.cloud.fail_next(429, "Rate limit exceeded", path="/servers/detail", retry_after=7)
        with self.assertRaises(TransientError) as caught:
            handler.list_owned("infra-e")
        self.assertEqual(caught.exception.retry_after, 7.0)

    def test_a_server_error_and_a_conflict_are_transient(self) -> None:
        handler = self.libcloud_handler()
        for status in (503, 409):
            self.cloud.fail_next(status, "try later", path="/servers/detail")
            with self.assertRaises(TransientError):
                handler.list_owned("infra-f")

    def test_a_forbidden_call_is_permanent(self) -> None:
        handler = self.libcloud_handler()
        self.cloud.fail_next(403, "Policy does not allow this", path="/servers/detail")
        with self.assertRaises(PermanentError) as caught:
            handler.list_owned("infra-g")
        self.assertNotIsInstance(caught.exception, TransientError)
        self.assertIn("Policy", caught.exception.message)

    def test_a_server_gone_while_deleted_is_dropped(self) -> None:
        handler = self.libcloud_handler()
        [made] = handler.create_nodes([self.libcloud_node("infra-h", "node-h")])
        assert isinstance(made, Instance), made
        self.addCleanup(handler.drop_node, made)
        self.cloud.fail_next(404, f"Instance {made.instance_id} could not be found.",
                             method="DELETE", after=True)
        handler.drop_node(made)
        self.assertEqual(handler.list_owned("infra-h"), [])

    def test_wrong_credentials_are_permanent_and_never_told(self) -> None:
        wrong = {**OPENSTACK_CREDENTIALS, "secret": "a-wrong-password-9876"}
        with ResourceHandlers(Settings()) as handlers:
            handler = handlers.for_resource(self.libcloud_resource(), wrong)
            with self.assertRaises(PermanentError) as caught:
                handler.list_owned("infra-i")
        error = caught.exception
        self.assertNotIsInstance(error, TransientError)
        self.assertIn("auth_data", error.hint or "")
        for said in (error.message, error.hint or "", str(error)):
            self.assertNotIn("a-wrong-password-9876", said)

    def test_a_secret_the_cloud_quotes_is_hidden(self) -> None:
        handler = self.libcloud_handler()
        self.cloud.fail_next(400, f"bad password {fake.USER['password']}", method="POST",
                             path="/servers")
        [made] = handler.create_nodes([self.libcloud_node("infra-j", "node-j")])
        self.assertIsInstance(made, PermanentError)
        assert isinstance(made, PermanentError)
        self.assertIn("bad password", made.message)
        self.assertNotIn(fake.USER["password"], made.message)


class ThreadTest(LibcloudOpenStackCase):
    """Each thread that calls a handler has a driver of its own (a Libcloud connection keeps
    the answer it got in itself), made on its first call, and `close` lets them all go."""

    def test_two_threads_create_at_once_each_on_a_driver_of_its_own(self) -> None:
        handler = self.libcloud_handler()
        cls = type(handler._drivers.first)
        create_node = cls.create_node
        both_in = threading.Barrier(2, timeout=DEADLINE)
        callers: list[NodeDriver] = []

        @functools.wraps(create_node)
        def meeting(driver: NodeDriver, *args: Any, **kwargs: Any) -> Any:
            callers.append(driver)
            both_in.wait()      # passed once the other thread's create is in create_node too
            return create_node(driver, *args, **kwargs)

        nodes = [self.libcloud_node("infra-t", node_id) for node_id in ("node-1", "node-2")]
        with mock.patch.object(cls, "create_node", meeting), ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda node: handler.create_nodes([node]), nodes))
        made = [answer for [answer] in answers]
        for instance in made:
            assert isinstance(instance, Instance), instance
            self.addCleanup(handler.drop_node, instance)
        self.assertEqual(len(callers), 2)
        self.assertIsNot(callers[0], callers[1])
        self.assertCountEqual(handler.list_owned("infra-t"), made)
        self.assertEqual(sorted(len(self.servers_of(node.node_id)) for node in nodes), [1, 1])

    def test_close_closes_the_driver_of_every_thread(self) -> None:
        made: list[NodeDriver] = []
        make_driver = drivers.make_driver

        def making(connection: Any) -> NodeDriver:
            made.append(make_driver(connection))
            return made[-1]

        with mock.patch.object(drivers, "make_driver", making):
            handler = self.libcloud_handler()
            with ThreadPoolExecutor(1) as pool:     # a thread besides the one that built it
                pool.submit(handler.list_owned, "infra-u").result()
        handler.list_owned("infra-u")
        self.assertEqual(len(made), 2)
        closed: list[requests.Session] = []
        with mock.patch.object(requests.Session, "close", autospec=True,
                               side_effect=closed.append):
            handler.close()
        for driver in made:
            self.assertIn(driver.connection.connection.session, closed)
