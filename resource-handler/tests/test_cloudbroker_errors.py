"""The cloudbroker plugin's errors: what a user can fix is permanent and says what to fix, in
one line naming the node and quoting the cloud; throttling and the cloud's troubles are
transient, a throttled call says when to retry, and a retry makes nothing twice."""
from __future__ import annotations

import uuid

import httpx

from occo.resourcehandler.base import Instance, PermanentError, ResourceError, TransientError
from occo.resourcehandler.cloudbroker import errors
from occo.resourcehandler.cloudbroker.testing import PASSWORD

from .cloudbroker_support import FakeCloudBrokerCase


class CloudBrokerErrorTest(FakeCloudBrokerCase):
    FAKE = {"boot_time": 0.0, "stop_time": 0.0}

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.cloudbroker_handler()

    def refused(self, node=None, handler=None) -> ResourceError:
        node = node or self.cloudbroker_node()
        [made] = (handler or self.handler).create_nodes([node])
        if isinstance(made, Instance):
            self.addCleanup(self.handler.drop_node, made)
        self.assertIsInstance(made, ResourceError)
        assert isinstance(made, ResourceError)
        self.assertNotIn("\n", made.message)
        self.assertIn(f"node {node.node_id}", made.message)
        return made

    def test_wrong_credentials_are_permanent_and_name_the_auth_entry(self) -> None:
        wrong = "a-wrong-password-of-some-length"
        handler = self.cloudbroker_handler({"email": "tester@example.org", "password": wrong})
        error = self.refused(handler=handler)
        self.assertIsInstance(error, PermanentError)
        self.assertIn("401: Invalid email or password.", error.message)
        self.assertEqual(error.hint, errors.CREDENTIALS_HINT)
        self.assertNotIn(wrong, error.message + error.hint)
        self.assertEqual(self.cloud.instances(), [])

    def test_an_unknown_deployment_is_permanent_in_the_clouds_words(self) -> None:
        unknown = str(uuid.uuid4())
        error = self.refused(self.cloudbroker_node(deployment_id=unknown))
        self.assertIsInstance(error, PermanentError)
        self.assertIn(f"create instance failed: 422: Deployment {unknown} does not exist or "
                      "is not yours", error.message)
        self.assertEqual(error.hint, errors.REQUEST_HINT)
        self.assertEqual(self.cloud.instances(), [])

    def test_a_description_without_a_deployment_is_refused_before_any_call(self) -> None:
        node = self.cloudbroker_node()
        del node.resource["description"]["deployment_id"]
        error = self.refused(node)
        self.assertIsInstance(error, PermanentError)
        self.assertIn("description has no deployment_id", error.message)
        self.assertEqual(self.cloud.calls, [])

    def test_a_description_that_is_no_mapping_is_refused_before_any_call(self) -> None:
        node = self.cloudbroker_node()
        node.resource["description"] = "deployment_id=x"
        self.assertIsInstance(self.refused(node), PermanentError)
        self.assertEqual(self.cloud.calls, [])

    def test_forbidden_is_permanent(self) -> None:
        self.cloud.fail_next(403, method="POST", path="/instances.xml")
        error = self.refused()
        self.assertIsInstance(error, PermanentError)
        self.assertIn("403: injected by the test", error.message)
        self.assertEqual(error.hint, errors.PERMISSION_HINT)

    def test_an_endpoint_that_redirects_is_permanent_and_says_so(self) -> None:
        self.cloud.fail_next(301, method="POST", path="/instances.xml")
        error = self.refused()
        self.assertIsInstance(error, PermanentError)
        self.assertIn("301: ", error.message)
        self.assertIn("redirects", error.hint)
        self.assertEqual(self.cloud.instances(), [])

    def test_a_conflict_and_the_clouds_troubles_are_transient(self) -> None:
        for status in (409, 500, 502, 503):
            with self.subTest(status):
                self.cloud.fail_next(status, method="GET", path="/instances.xml")
                error = self.refused()
                self.assertIsInstance(error, TransientError)
                self.assertIn(f"{status}: ", error.message)

    def test_a_throttled_call_says_when_to_retry_as_the_cloud_said(self) -> None:
        self.cloud.fail_next(429, retry_after=7, message="Rate limit exceeded")
        error = self.refused()
        self.assertIsInstance(error, TransientError)
        assert isinstance(error, TransientError)
        self.assertEqual(error.retry_after, 7.0)
        self.assertIn("429: Rate limit exceeded", error.message)

    def test_a_create_whose_answer_failed_is_found_by_its_retry(self) -> None:
        node = self.cloudbroker_node()
        self.cloud.fail_next(503, method="GET", path="/instances.xml")
        self.assertIsInstance(self.refused(node), TransientError)
        [made] = self.handler.create_nodes([node])
        [again] = self.cloudbroker_handler().create_nodes([node])
        assert isinstance(made, Instance) and isinstance(again, Instance)
        self.addCleanup(self.handler.drop_node, made)
        self.assertEqual(again.instance_id, made.instance_id)
        self.assertEqual([i["id"] for i in self.cloud.instances()], [made.instance_id])

    def test_an_unreachable_endpoint_is_transient(self) -> None:
        node = self.cloudbroker_node()
        self.cloud.stop()
        self.assertIsInstance(self.refused(node), TransientError)

    def test_an_answer_that_is_not_xml_is_transient(self) -> None:
        error = errors.classify(ValueError("GET instances.xml answered no XML"),
                                where="[cb] node n", operation="list instances", secrets=())
        self.assertIsInstance(error, TransientError)
        assert error is not None
        self.assertEqual(error.hint, errors.NOT_CLOUDBROKER_HINT)

    def test_the_password_never_appears_in_an_error(self) -> None:
        self.cloud.fail_next(422, method="POST", path="/instances.xml",
                             message=f"password {PASSWORD} is not accepted here")
        error = self.refused()
        self.assertNotIn(PASSWORD, error.message)

    def test_missing_credentials_are_permanent_and_say_which(self) -> None:
        from occo.resourcehandler.base import Connection
        from occo.resourcehandler.cloudbroker.handler import CloudBrokerHandler
        with self.assertRaises(PermanentError) as raised:
            CloudBrokerHandler(Connection("cloudbroker", {"endpoint": self.cloud.url},
                                          {"email": "tester@example.org"}))
        self.assertIn("have no password", raised.exception.message)


BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<instances type="array"><instance><name>&lol2;</name></instance></instances>')


class CloudBrokerHostileXmlTest(FakeCloudBrokerCase):
    """An answer is never trusted to be harmless XML: entities are refused, not expanded."""

    def test_an_answer_declaring_entities_is_refused_as_transient(self) -> None:
        handler = self.cloudbroker_handler()
        handler._client._http = httpx.Client(    # the answer of a hostile or broken proxy
            base_url=self.cloud.url, transport=httpx.MockTransport(
                lambda request: httpx.Response(200, content=BOMB)))
        node = self.cloudbroker_node()
        [made] = handler.create_nodes([node])
        self.assertIsInstance(made, TransientError)
        assert isinstance(made, TransientError)
        # refused at the first answer read, the listing, before any create is sent
        self.assertIn("list instances failed: the answer is not CloudBroker's: "
                      "EntitiesForbidden", made.message)
        self.assertEqual(made.hint, errors.NOT_CLOUDBROKER_HINT)

    def test_an_error_answer_declaring_entities_is_quoted_not_expanded(self) -> None:
        body = BOMB.split(b"]>")[0] + b"]><errors><error>&lol2;</error></errors>"
        said = errors.cloud_words(httpx.Response(500, content=body))
        self.assertNotIn("lollol", said)
