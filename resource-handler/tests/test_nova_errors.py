"""The cloud's refusals as the contract's errors: one line naming the node and quoting the
cloud, secrets hidden; throttling and 5xx transient with the cloud's Retry-After."""
from __future__ import annotations

import email.utils
import time
import unittest
import uuid

from occo.resourcehandler.base import (Instance, PermanentError, ResourceError,
                                       TransientError)
from occo.resourcehandler.nova import errors
from occo.resourcehandler.nova import testing as fake

from .nova_support import FakeOpenStackCase


class RetryAfterTest(unittest.TestCase):

    def test_a_retry_after_date_is_read_as_seconds_from_now(self) -> None:
        in_an_hour = email.utils.formatdate(time.time() + 3600, usegmt=True)
        error = errors.from_status(503, "try later", {"retry-after": in_an_hour},
                                   where="[nova]", operation="creating", secrets=())
        assert isinstance(error, TransientError)
        self.assertGreater(error.retry_after or 0, 3000)
        self.assertLessEqual(error.retry_after or 0, 3600)


class ConflictTest(unittest.TestCase):

    def conflict(self, said: str, operation: str) -> ResourceError:
        return errors.from_status(409, said, {}, where="[nova]", operation=operation,
                                  secrets=())

    def test_neutrons_floating_ip_quota_is_permanent_asking_for_more(self) -> None:
        error = self.conflict("Quota exceeded for resources: ['floatingip'].",
                              errors.ATTACH_FLOATING_IP)
        self.assertIsInstance(error, PermanentError)
        self.assertIn("more quota", error.hint or "")

    def test_a_busy_thing_stays_transient(self) -> None:
        for said, operation in (
                ("Cannot 'delete' instance x while it is in task_state spawning",
                 "deleting the server"),
                ("Port p is in use by another floating IP", errors.ATTACH_FLOATING_IP),
                ("Instance x is in task_state deleting", errors.CREATE_SERVER)):
            with self.subTest(said=said):
                self.assertIsInstance(self.conflict(said, operation), TransientError)

    def test_a_conflict_of_another_operation_stays_transient(self) -> None:
        self.assertIsInstance(self.conflict("Conflict", "releasing the floating IP"),
                              TransientError)


class CreateErrorsTest(FakeOpenStackCase):

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.nova_handler()
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def create(self, node_id: str | None = None, **resource: object) -> Instance | ResourceError:
        node = self.nova_node(self.infra_id, node_id or uuid.uuid4().hex, **resource)
        [made] = self.handler.create_nodes([node])
        if isinstance(made, Instance):
            self.addCleanup(self.handler.drop_node, made)
        return made

    def refused(self, status: int, words: str, retry_after: int | None = None,
                **resource: object) -> ResourceError:
        self.cloud.fail_next(status, words, method="POST", path="/servers",
                             retry_after=retry_after)
        made = self.create(**resource)
        self.assertIsInstance(made, ResourceError)
        assert isinstance(made, ResourceError)
        self.assertNotIn("\n", made.message)
        self.assertIn(words, made.message)
        return made

    def test_throttling_is_transient_with_the_clouds_retry_after(self) -> None:
        error = self.refused(429, "Rate limit exceeded for servers", retry_after=7)
        self.assertIsInstance(error, TransientError)
        assert isinstance(error, TransientError)
        self.assertEqual(error.retry_after, 7.0)

    def test_novas_over_limit_with_retry_after_is_transient(self) -> None:
        error = self.refused(413, "This request was rate-limited.", retry_after=3)
        self.assertIsInstance(error, TransientError)

    def test_a_5xx_is_transient_and_sent_once(self) -> None:
        before = self.cloud.count("POST", "/servers")
        error = self.refused(503, "The server is currently unavailable.")
        self.assertIsInstance(error, TransientError)
        self.assertEqual(self.cloud.count("POST", "/servers") - before, 1,
                         "the SDK must not retry by itself: the engine does")

    def test_novas_ambiguous_networks_are_permanent_asking_for_network_id(self) -> None:
        before = self.cloud.count("POST", "/servers")
        error = self.refused(409, "Multiple possible networks found, use a Network ID to be "
                                  "more specific.", network_id="")
        self.assertIsInstance(error, PermanentError)
        self.assertIn("network_id", error.hint or "")
        self.assertEqual(self.cloud.count("POST", "/servers") - before, 1)

    def test_a_quota_is_permanent(self) -> None:
        error = self.refused(403, "Quota exceeded for instances: Requested 1, but already "
                                  "used 10 of 10 instances")
        self.assertIsInstance(error, PermanentError)
        self.assertIn("quota", error.hint or "")

    def test_an_unknown_image_names_the_node_and_says_what_to_fix(self) -> None:
        node_id = uuid.uuid4().hex
        made = self.create(node_id, image_id="no-such-image")
        self.assertIsInstance(made, PermanentError)
        assert isinstance(made, PermanentError)
        self.assertIn(f"node {node_id}", made.message)
        self.assertIn("400: Invalid imageRef provided.", made.message)
        self.assertIn("image_id", made.hint or "")
        self.assertEqual(self.servers_of(node_id), [])

    def test_an_unknown_flavor_is_permanent_and_sends_no_create(self) -> None:
        before = self.cloud.count("POST", "/servers")
        made = self.create(flavor_name="m9.huge")
        self.assertIsInstance(made, PermanentError)
        self.assertIn("no flavor 'm9.huge'", made.message)
        self.assertEqual(self.cloud.count("POST", "/servers"), before)

    def test_unknown_security_group_and_key_pair_say_which_key_to_fix(self) -> None:
        made = self.create(security_groups=["nope"])
        self.assertIn("security_groups", made.hint or "")
        made = self.create(key_name="lost-key")
        self.assertIn("key_name", made.hint or "")

    def test_a_missing_key_or_a_bad_volume_size_sends_nothing(self) -> None:
        before = len(self.cloud.requests)
        self.assertIn("no image_id", self.create(image_id="").message)
        self.assertIn("volume_size must be", self.create(volume_size="ten").message)
        self.assertEqual(len(self.cloud.requests), before)

    def test_a_keystone_5xx_is_transient(self) -> None:
        self.cloud.fail_next(500, "An unexpected error prevented the server from fulfilling "
                                  "your request.", path="/auth/tokens")
        handler = self.nova_handler(fake.APP_CREDENTIAL)
        with self.assertRaises(TransientError):
            handler.list_owned(self.infra_id)

    def test_an_unreachable_cloud_is_transient(self) -> None:
        handler = self.nova_handler(endpoint="http://127.0.0.1:9")
        with self.assertRaises(TransientError) as raised:
            handler.list_owned(self.infra_id)
        self.assertNotIn(fake.USER["password"], raised.exception.message)

    def test_throttling_then_a_retry_makes_one_server(self) -> None:
        """What the engine does with a throttled create: retry it later; one server results."""
        node_id = uuid.uuid4().hex
        self.cloud.fail_next(429, "Rate limit exceeded", method="POST", path="/servers",
                             retry_after=1)
        self.assertIsInstance(self.create(node_id), TransientError)
        made = self.create(node_id)
        self.assertIsInstance(made, Instance)
        self.assertEqual(len(self.servers_of(node_id)), 1)
