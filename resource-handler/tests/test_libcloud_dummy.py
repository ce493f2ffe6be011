"""The libcloud plugin on Libcloud's Dummy driver: a driver that takes neither user data nor
ownership marks, and names its nodes itself."""
from __future__ import annotations

import unittest
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

from libcloud.compute.drivers.dummy import DummyNodeDriver

from occo.util.config import Settings
from occo.util.nodes import NodeState

from occo.resourcehandler.anydriver.handler import LibcloudHandler
from occo.resourcehandler.base import (GONE, Instance, PermanentError, ResourceError,
                                       TransientError)
from occo.resourcehandler.guard import HandlerUnavailable, ResourceHandlers

from .libcloud_support import DUMMY_CREDENTIALS, dummy_resource, node_of


class DummyDriverTest(unittest.TestCase):
    def setUp(self) -> None:
        self.handler = LibcloudHandler.for_section(dummy_resource(), DUMMY_CREDENTIALS)

    def create(self, node_id: str, **resource: object) -> Instance | ResourceError:
        [made] = self.handler.create_nodes([node_of(dummy_resource(**resource), "infra-1",
                                                    node_id)])
        return made

    def test_a_node_is_created_ready_and_dropped(self) -> None:
        made = self.create("node-1")
        assert isinstance(made, Instance), made
        [status] = self.handler.get_states([made])
        self.assertIs(status.state, NodeState.READY)
        self.assertTrue(status.addresses)
        self.handler.drop_node(made)
        self.assertEqual(self.handler.get_states([made]), [GONE])
        self.assertEqual(self.handler.list_owned("infra-1"), [])

    def test_creating_a_node_twice_makes_one(self) -> None:
        first, second = self.create("node-1"), self.create("node-1")
        assert isinstance(first, Instance) and isinstance(second, Instance)
        self.assertEqual(first.instance_id, second.instance_id)
        self.assertEqual(self.handler.list_owned("infra-1"), [first])

    def test_only_the_handlers_own_nodes_are_listed_as_owned(self) -> None:
        made = self.create("node-1")
        self.assertEqual(self.handler.list_owned("infra-1"), [made])
        self.assertEqual(self.handler.list_owned("infra-2"), [],
                         "the driver's sample nodes and other infrastructures' are not owned")

    def test_states_come_in_order_with_gone_ones(self) -> None:
        made = self.create("node-1")
        missing = Instance("infra-1", "node-x", "999")
        states = [status.state for status in self.handler.get_states([missing, made])]
        self.assertEqual(states, [NodeState.SHUTDOWN, NodeState.READY])

    def test_dropping_a_missing_node_succeeds(self) -> None:
        self.handler.drop_node(Instance("infra-1", "node-x", "999"))

    def test_a_destroy_the_driver_answers_false_is_transient_and_keeps_the_node(self) -> None:
        made = self.create("node-1")
        assert isinstance(made, Instance), made
        with mock.patch.object(self.handler._drivers.first, "destroy_node", return_value=False):
            with self.assertRaises(TransientError) as caught:
                self.handler.drop_node(made)
        self.assertIn(made.instance_id, caught.exception.message)
        self.assertEqual(self.handler.list_owned("infra-1"), [made])
        self.handler.drop_node(made)
        self.assertEqual(self.handler.list_owned("infra-1"), [])

    def test_a_node_with_user_data_is_refused_before_anything_is_made(self) -> None:
        [made] = self.handler.create_nodes([node_of(dummy_resource(), "infra-1", "node-1",
                                                    context="#cloud-config\n")])
        self.assertIsInstance(made, PermanentError)
        assert isinstance(made, PermanentError)
        self.assertIn("user data", made.message)
        self.assertEqual(self.handler.list_owned("infra-1"), [])

    def test_a_server_name_is_refused_where_the_name_is_the_only_mark(self) -> None:
        made = self.create("node-1", server_name="my-{{ node_id }}")
        self.assertIsInstance(made, PermanentError)

    def test_create_args_the_driver_does_not_take_are_refused(self) -> None:
        made = self.create("node-1", create_args={"ex_keyname": "mine"})
        self.assertIsInstance(made, PermanentError)
        assert isinstance(made, PermanentError)
        self.assertIn("ex_keyname", made.message)

    def test_an_unknown_size_names_the_known_ones(self) -> None:
        made = self.create("node-1", size="Huge")
        self.assertIsInstance(made, PermanentError)
        assert isinstance(made, PermanentError)
        self.assertIn("Small", made.hint or "")

    def test_a_size_is_found_by_id_too(self) -> None:
        self.assertIsInstance(self.create("node-1", size="2"), Instance)

    def test_a_location_is_refused_by_a_driver_that_takes_none(self) -> None:
        self.assertIsInstance(self.create("node-1", location="London Loft"), PermanentError)


class InMemoryDriverTest(unittest.TestCase):
    """The Dummy driver is the cloud itself (its nodes live in the driver object): every
    thread calls the one driver, where other drivers are one a thread."""

    def test_a_node_made_in_one_thread_is_seen_and_dropped_from_another(self) -> None:
        handler = LibcloudHandler.for_section(dummy_resource(), DUMMY_CREDENTIALS)
        self.addCleanup(handler.close)
        node = node_of(dummy_resource(), "infra-1", "node-1")
        with ThreadPoolExecutor(1) as pool:     # a thread besides the one that built it
            [made] = pool.submit(handler.create_nodes, [node]).result()
        assert isinstance(made, Instance), made
        self.assertIs(handler.get_states([made])[0].state, NodeState.READY)
        self.assertEqual(handler.list_owned("infra-1"), [made])
        with ThreadPoolExecutor(1) as pool:
            pool.submit(handler.drop_node, made).result()
        self.assertEqual(handler.get_states([made]), [GONE])


class DriverChoiceTest(unittest.TestCase):
    def test_an_unknown_driver_is_a_clear_permanent_error(self) -> None:
        with ResourceHandlers(Settings()) as handlers, \
                self.assertRaises(HandlerUnavailable) as caught:
            handlers.for_resource(dummy_resource(driver="no-such-cloud"), DUMMY_CREDENTIALS)
        self.assertIn("no-such-cloud", caught.exception.message)
        self.assertIn("openstack", caught.exception.hint or "")

    def test_arguments_the_driver_will_not_take_are_a_permanent_error(self) -> None:
        with ResourceHandlers(Settings()) as handlers, \
                self.assertRaises(HandlerUnavailable) as caught:
            handlers.for_resource(dummy_resource(driver_args={"ex_nothing": 1}),
                                  DUMMY_CREDENTIALS)
        self.assertIn("DummyNodeDriver", caught.exception.message)

    def test_an_argument_given_twice_is_refused(self) -> None:
        with self.assertRaises(PermanentError):
            LibcloudHandler.for_section(dummy_resource(driver_args={"ex_x": 1}),
                                        {**DUMMY_CREDENTIALS, "ex_x": 2})


class TokenDriver(DummyNodeDriver):
    """A Dummy driver whose create_node takes EC2's idempotency token, and keeps each one."""

    def __init__(self, creds: str) -> None:
        super().__init__(creds)
        self.tokens: list[str | None] = []

    def create_node(self, name, size, image, ex_clienttoken=None):  # type: ignore[override]
        self.tokens.append(ex_clienttoken)
        return super().create_node(name=name, size=size, image=image)


class ClientTokenTest(unittest.TestCase):
    """A driver taking `ex_clienttoken` (EC2) gets one per node, so a retried create is made
    once by the cloud itself."""

    def handler(self) -> tuple[LibcloudHandler, TokenDriver]:
        driver = TokenDriver("0")
        with mock.patch("occo.resourcehandler.anydriver.driver.make_driver",
                        return_value=driver):
            return LibcloudHandler.for_section(dummy_resource(), DUMMY_CREDENTIALS), driver

    def test_each_attempt_at_a_node_sends_the_same_token_of_at_most_64_characters(self) -> None:
        made = []
        for infra_id, node_id in (("infra-1", "node-1"), ("infra-1", "node-1"),
                                  ("infra-1", "node-2"), ("i" * 40, "n" * 40)):
            handler, driver = self.handler()        # a new process: nothing remembered
            [node] = handler.create_nodes([node_of(dummy_resource(), infra_id, node_id)])
            self.assertIsInstance(node, Instance)
            made.extend(driver.tokens)
        self.assertEqual(len(made), 4)
        self.assertTrue(all(token and len(token) <= 64 for token in made), made)
        self.assertEqual(made[0], made[1])
        self.assertEqual(len(set(made)), 3)
