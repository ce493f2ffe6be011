"""The cloudsigma plugin's errors: what a user can fix is permanent and says what to fix, in
one line naming the node and quoting the cloud; throttling and the cloud's troubles are
transient, a throttled call says when to retry, and a retry makes nothing twice."""
from __future__ import annotations

import uuid

from occo.resourcehandler.base import (INFRA_TAG, Instance, PermanentError, ResourceError,
                                       TransientError)
from occo.resourcehandler.cloudsigma import errors
from occo.resourcehandler.cloudsigma.launch import drive_name
from occo.resourcehandler.cloudsigma.testing import PASSWORD

from .cloudsigma_support import FakeCloudSigmaCase


class CloudSigmaErrorTest(FakeCloudSigmaCase):
    FAKE = {"clone_time": 0.0, "boot_time": 0.0, "stop_time": 0.0}

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.cloudsigma_handler()

    def refused(self, node=None, handler=None) -> ResourceError:
        node = node or self.cloudsigma_node()
        [made] = (handler or self.handler).create_nodes([node])
        if isinstance(made, Instance):
            self.addCleanup(self.handler.drop_node, made)
        self.assertIsInstance(made, ResourceError)
        assert isinstance(made, ResourceError)
        self.assertNotIn("\n", made.message)
        self.assertIn(f"node {node.node_id}", made.message)
        return made

    def assert_nothing_made(self) -> None:
        self.assertEqual(self.cloud.servers(), [])
        self.assertEqual(self.cloud.drives(), [], "a refused create keeps no cloned drive")

    def test_wrong_credentials_are_permanent_and_name_the_auth_entry(self) -> None:
        wrong = "a-wrong-password-of-some-length"
        handler = self.cloudsigma_handler({"email": "tester@example.org", "password": wrong})
        error = self.refused(handler=handler)
        self.assertIsInstance(error, PermanentError)
        self.assertIn("401", error.message)
        self.assertIn("Authentication failed", error.message)
        self.assertEqual(error.hint, errors.CREDENTIALS_HINT)
        self.assertNotIn(wrong, error.message + error.hint)
        self.assert_nothing_made()

    def test_an_unknown_library_drive_is_permanent_and_names_the_key(self) -> None:
        node = self.cloudsigma_node()
        node.resource["libdrive_id"] = str(uuid.uuid4())
        error = self.refused(node)
        self.assertIsInstance(error, PermanentError)
        self.assertIn(f"Object with uuid {node.resource['libdrive_id']} does not exist",
                      error.message)
        self.assertEqual(error.hint, errors.LIBDRIVE_HINT)
        self.assert_nothing_made()

    def test_a_description_the_cloud_refuses_is_permanent_and_leaves_no_clone(self) -> None:
        error = self.refused(self.cloudsigma_node(pubkeys=["no-such-key"]))
        self.assertIsInstance(error, PermanentError)
        self.assertIn("400 validation: Object with uuid no-such-key does not exist (pubkeys)",
                      error.message)
        self.assertEqual(error.hint, errors.REQUEST_HINT)
        self.assert_nothing_made()

    def test_a_description_that_is_no_mapping_is_refused_before_any_call(self) -> None:
        node = self.cloudsigma_node()
        node.resource["description"] = "cpu=2000"
        error = self.refused(node)
        self.assertIsInstance(error, PermanentError)
        self.assertEqual(self.cloud.calls, [])

    def test_forbidden_and_unpaid_are_permanent(self) -> None:
        for status, hint in ((403, errors.PERMISSION_HINT), (402, errors.FUNDS_HINT)):
            with self.subTest(status):
                self.cloud.fail_next(status, method="POST", path="/servers/")
                error = self.refused()
                self.assertIsInstance(error, PermanentError)
                self.assertIn(f"{status} ", error.message)
                self.assertEqual(error.hint, hint)
                self.assert_nothing_made()

    def test_a_start_refused_for_good_deletes_the_server_and_its_clone(self) -> None:
        self.cloud.fail_next(402, method="POST", path="/servers/*/action/")
        error = self.refused()
        self.assertIsInstance(error, PermanentError)
        self.assertIn("402 ", error.message)
        self.assertEqual(error.hint, errors.FUNDS_HINT)
        self.assert_nothing_made()

    def test_a_failed_clone_is_deleted_and_the_retry_clones_again(self) -> None:
        node = self.cloudsigma_node()
        failed = self.cloud.add_drive(drive_name(node))
        self.cloud.set_drive_status(failed, "failed")
        error = self.refused(node)
        self.assertIsInstance(error, TransientError)
        self.assertIn(failed, error.message)
        self.assertEqual(self.cloud.drives(), [], "the failed clone is deleted")
        [made] = self.handler.create_nodes([node])
        self.assertIsInstance(made, Instance)
        self.addCleanup(self.handler.drop_node, made)
        [drive] = self.cloud.drives()
        self.assertNotEqual(drive["uuid"], failed)

    def test_an_endpoint_that_redirects_is_permanent_and_says_so(self) -> None:
        self.cloud.fail_next(301, method="GET", path="/servers/detail/")
        error = self.refused()
        self.assertIsInstance(error, PermanentError)
        self.assertIn("301 ", error.message)
        self.assertIn("redirects", error.hint)

    def test_a_conflict_and_the_clouds_troubles_are_transient(self) -> None:
        for status in (409, 500, 502, 503):
            with self.subTest(status):
                self.cloud.fail_next(status, method="GET", path="/servers/detail/")
                error = self.refused()
                self.assertIsInstance(error, TransientError)
                self.assertIn(f"{status} ", error.message)

    def test_a_throttled_call_says_when_to_retry_as_the_cloud_said(self) -> None:
        self.cloud.fail_next(429, retry_after=7, message="Request was throttled.")
        error = self.refused()
        self.assertIsInstance(error, TransientError)
        assert isinstance(error, TransientError)
        self.assertEqual(error.retry_after, 7.0)
        self.assertIn("429 permission: Request was throttled.", error.message)

    def test_a_throttled_create_retried_makes_one_server_and_one_drive(self) -> None:
        node = self.cloudsigma_node()
        self.cloud.fail_next(429, method="POST", path="/servers/")      # after the clone
        self.assertIsInstance(self.refused(node), TransientError)
        [made] = self.handler.create_nodes([node])
        self.assertIsInstance(made, Instance)
        self.addCleanup(self.handler.drop_node, made)
        self.assertEqual([server["uuid"] for server in self.cloud.servers()],
                         [made.instance_id])
        self.assertEqual(len(self.cloud.drives()), 1, "the retry reuses the first clone")

    def test_an_unreachable_endpoint_is_transient(self) -> None:
        node = self.cloudsigma_node()
        self.cloud.stop()
        error = self.refused(node)
        self.assertIsInstance(error, TransientError)

    def test_the_password_never_appears_in_an_error(self) -> None:
        self.cloud.fail_next(400, method="POST", path="/servers/",
                             message=f"password {PASSWORD} is not accepted here")
        error = self.refused()
        self.assertNotIn(PASSWORD, error.message)

    def test_a_retry_after_date_is_read_as_seconds_from_now(self) -> None:
        self.assertEqual(errors.retry_after("12"), 12.0)
        self.assertEqual(errors.retry_after("Thu, 01 Jan 1970 00:00:00 GMT"), 0.0)
        self.assertIsNone(errors.retry_after("soon"))
        self.assertIsNone(errors.retry_after(None))


class CloudSigmaOwnershipTest(FakeCloudSigmaCase):
    FAKE = {"clone_time": 0.0, "boot_time": 0.0, "stop_time": 0.0}

    def test_a_server_tagged_by_hand_without_a_node_is_left_alone(self) -> None:
        handler = self.cloudsigma_handler()
        node = self.cloudsigma_node(meta={INFRA_TAG: "someone-else"})
        [made] = handler.create_nodes([node])
        assert isinstance(made, Instance)
        self.addCleanup(handler.drop_node, made)
        # the Occopus tags are set last: the description's meta cannot replace them
        self.assertEqual([i.node_id for i in handler.list_owned(node.infra_id)], [node.node_id])
        self.assertEqual(handler.list_owned("someone-else"), [])
