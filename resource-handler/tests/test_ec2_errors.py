"""Every class of ec2 error: what moto refuses itself, and what the test fault injector
answers in EC2's words where moto never fails (throttling, capacity, quotas, 5xx, lost
connections). Each is transient or permanent, one line naming the node, quoting the cloud,
with a hint, and without a credential in it."""
from __future__ import annotations

import socket
import time
import unittest
import uuid
from typing import Any

from botocore.exceptions import ParamValidationError

from occo.util.nodes import ResolvedNode
from occo.util.redact import REDACTED

from occo.resourcehandler.base import (Instance, PermanentError, ResourceError, ResourceHandler,
                                       TransientError)
from occo.resourcehandler.ec2.errors import classify
from occo.resourcehandler.ec2.handler import EC2Handler
from occo.resourcehandler.ec2.testing import CREDENTIALS, HOST

from .ec2_support import MotoEC2Case

SECRETS = tuple(CREDENTIALS.values())


class QuickEC2Handler(EC2Handler):
    """Gives up on an unanswered call soon, so that a test need not wait 30 s."""

    READ_TIMEOUT = 0.5


class ErrorChecks(MotoEC2Case):
    """Making nodes that fail, and checking what the failure says."""

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.ec2_handler()
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def node(self, **resource: Any) -> ResolvedNode:
        return self.ec2_node(self.infra_id, str(uuid.uuid4()), **resource)

    def refused(self, node: ResolvedNode, expected: type[ResourceError],
                handler: ResourceHandler | None = None) -> ResourceError:
        """The error `create_nodes` answers for `node`, checked; nothing may have been made."""
        handler = handler or self.handler
        [made] = handler.create_nodes([node])
        if isinstance(made, Instance):
            self.addCleanup(self.handler.drop_node, made)
        self.assertIsInstance(made, expected)
        assert isinstance(made, ResourceError)
        check_message(self, made, f"[{handler.label}] node {node.node_id}: ")
        self.assertEqual(self.instances_of_node(node.node_id), [], "a refused create made one")
        return made

    def raised(self, expected: type[ResourceError], call: Any, *args: Any) -> ResourceError:
        with self.assertRaises(expected) as raised:
            call(*args)
        check_message(self, raised.exception, f"[{call.__self__.label}]: ")
        return raised.exception


class EC2ErrorsTest(ErrorChecks):
    # --- what moto itself refuses, as EC2 would -----------------------------
    def test_unknown_launch_parameters_are_permanent_errors_saying_what_to_check(self) -> None:
        cases: list[tuple[dict[str, Any], str, str]] = [
            ({"image_id": "ami-00000000"}, "InvalidAMIID.NotFound", "image_id"),
            ({"image_id": "bogus"}, "InvalidAMIID.Malformed", "image_id"),
            ({"instance_type": "x9.bogus"}, "InvalidInstanceType.NotFound", "instance_type"),
            ({"subnet_id": "subnet-00000000"}, "InvalidSubnetID.NotFound", "subnet_id"),
            ({"key_name": "no-such-key"}, "InvalidKeyPair.NotFound", "key_name"),
            ({"security_group_ids": ["sg-00000000"]}, "InvalidGroup.NotFound",
             "security_group_ids")]
        for resource, code, key in cases:
            with self.subTest(code=code):
                error = self.refused(self.node(**resource), PermanentError)
                self.assertIn(f"RunInstances failed: {code}: ", error.message)
                self.assertIn(str(resource[key]).strip("[]'"), error.message)  # the cloud's words
                self.assertIn(key, error.hint or "")

    def test_a_section_without_an_image_is_refused_before_anything_is_sent(self) -> None:
        node = self.node()
        del node.resource["image_id"]
        error = self.refused(node, PermanentError)
        self.assertIn("no image_id", error.message)
        self.assertEqual(sum(self.faults.seen.values()), 0)

    # --- faults moto never makes, answered by the injector in EC2's words ----
    def test_throttling_capacity_and_5xx_are_transient(self) -> None:
        cases = [("RequestLimitExceeded", "Request limit exceeded.", 503),
                 ("Throttling", "Rate exceeded", 400),
                 ("InsufficientInstanceCapacity",
                  "We currently do not have sufficient t3.small capacity in the Availability "
                  "Zone you requested (eu-west-1a).", 500),
                 ("InternalError", "An internal error has occurred", 500),
                 ("Unavailable", "The server is overloaded and can't handle the request.", 503),
                 ("SomethingNew", "A code this plugin has never heard of.", 502)]
        for code, message, status in cases:
            with self.subTest(code=code):
                self.faults.fail_next(code, message, status, action="RunInstances")
                error = self.refused(self.node(), TransientError)
                self.assertIn(f"{code}: {message}", error.message)
                self.assertEqual(error.retry_after,
                                 1.0 if code in ("RequestLimitExceeded", "Throttling") else None,
                                 "a throttled API is asked again a second later at the soonest")

    def test_a_proxys_error_page_is_transient(self) -> None:
        self.faults.fail_next("", "", 502, action="RunInstances",
                              body=b"<html><body>502 Bad Gateway</body></html>")
        error = self.refused(self.node(), TransientError)
        self.assertIn("RunInstances failed: 502: Bad Gateway", error.message)

    def test_an_answer_that_is_not_xml_is_transient(self) -> None:
        self.faults.fail_next("", "", 502, action="RunInstances",
                              body=b"<!doctype html>\n<title>502 Bad Gateway</title>\n")
        error = self.refused(self.node(), TransientError)
        self.assertIn("RunInstances failed: the answer is not EC2's XML", error.message)

    def test_an_answer_without_an_instance_is_transient(self) -> None:
        self.faults.fail_next("", "", 200, action="RunInstances",
                              body=b"<html><body>Welcome to nginx!</body></html>")
        error = self.refused(self.node(), TransientError)
        self.assertIn("RunInstances answered without an instance id", error.message)

    def test_quotas_credentials_and_permissions_are_permanent_with_their_fix(self) -> None:
        cases = [("InstanceLimitExceeded", "You have requested more instances (21) than your "
                  "current instance limit of 20 allows.", 400, "limit"),
                 ("VcpuLimitExceeded", "You have requested more vCPU capacity than your "
                  "current vCPU limit of 32 allows.", 400, "limit"),
                 ("InvalidClientTokenId", "The security token included in the request is "
                  "invalid.", 401, "auth_data.yaml"),
                 ("SignatureDoesNotMatch", "The request signature we calculated does not match "
                  "the signature you provided.", 403, "auth_data.yaml"),
                 ("AuthFailure", "AWS was not able to validate the provided access "
                  "credentials", 401, "auth_data.yaml"),
                 ("UnauthorizedOperation", "You are not authorized to perform this "
                  "operation.", 403, "ec2:RunInstances"),
                 ("IdempotentParameterMismatch", "The client token you have provided is "
                  "associated with a resource that is already deleted.", 400, "destroy"),
                 ("InvalidParameterValue", "Invalid value 'x' for instanceType.", 400,
                  "resource section")]
        for code, message, status, fix in cases:
            with self.subTest(code=code):
                self.faults.fail_next(code, message, status, action="RunInstances")
                error = self.refused(self.node(), PermanentError)
                self.assertIn(f"{code}: {message}", error.message)
                self.assertIn(fix, error.hint or "")

    def test_credentials_echoed_by_the_cloud_are_hidden(self) -> None:
        # as AWS's SignatureDoesNotMatch may quote the signed request, access key included
        accesskey, secretkey = CREDENTIALS["accesskey"], CREDENTIALS["secretkey"]
        self.faults.fail_next("SignatureDoesNotMatch",
                              f"String to sign: AWS4-HMAC-SHA256\n{accesskey}/20260101/eu-west-1"
                              f"/ec2/aws4_request (key {secretkey})", 403, action="RunInstances")
        error = self.refused(self.node(), PermanentError)
        self.assertEqual(error.message.count(REDACTED), 2, error.message)

    def test_botocore_does_not_retry_behind_the_engines_back(self) -> None:
        self.faults.fail_next("RequestLimitExceeded", "Request limit exceeded.", 503,
                              action="RunInstances")
        self.refused(self.node(), TransientError)
        self.assertEqual(self.faults.seen["RunInstances"], 1)

    def test_a_lost_answer_is_transient(self) -> None:
        self.faults.lose_answer_next("DescribeInstances")
        self.refused(self.node(), TransientError)

    def test_a_call_left_unanswered_times_out_as_transient(self) -> None:
        handler = self.ec2_handler(handler_class=QuickEC2Handler)
        self.faults.stall_next("RunInstances")
        began = time.monotonic()
        error = self.refused(self.node(), TransientError, handler)
        self.assertLess(time.monotonic() - began, 10)
        self.assertIn("timeout", error.message.lower())

    def test_an_endpoint_that_refuses_connections_is_transient_for_every_call(self) -> None:
        handler = self.ec2_handler(endpoint=f"http://{HOST}:{closed_port()}")
        instance = Instance(self.infra_id, "n", "i-0123456789abcdef0")
        self.refused(self.node(), TransientError, handler)
        self.raised(TransientError, handler.get_states, [instance])
        self.raised(TransientError, handler.drop_node, instance)
        self.raised(TransientError, handler.list_owned, self.infra_id)

    def test_failures_of_other_calls_are_classified_without_a_node(self) -> None:
        instance = Instance(self.infra_id, "n", "i-0123456789abcdef0")
        self.faults.fail_next("RequestLimitExceeded", "Request limit exceeded.", 503)
        error = self.raised(TransientError, self.handler.get_states, [instance])
        self.assertIn("DescribeInstances failed: RequestLimitExceeded", error.message)
        self.assertNotIn(" node ", error.message)
        self.faults.fail_next("UnauthorizedOperation", "You are not authorized.", 403)
        error = self.raised(PermanentError, self.handler.drop_node, instance)
        self.assertIn("TerminateInstances failed: UnauthorizedOperation", error.message)
        self.faults.fail_next("InternalError", "An internal error has occurred", 500)
        self.raised(TransientError, self.handler.list_owned, self.infra_id)


class ClassifyTest(unittest.TestCase):
    def test_a_request_botocore_refuses_to_send_is_one_permanent_line(self) -> None:
        error = classify(ParamValidationError(report="Invalid type for parameter X,\nvalue: 1"),
                         where="[cloud] node n", operation="RunInstances", secrets=SECRETS)
        self.assertIsInstance(error, PermanentError)
        assert error is not None
        check_message(self, error, "[cloud] node n: RunInstances refused before sending: ")

    def test_anything_else_is_left_to_be_reported_as_a_bug(self) -> None:
        self.assertIsNone(classify(KeyError("InstanceId"), where="[cloud]",
                                   operation="RunInstances", secrets=SECRETS))


def check_message(test: unittest.TestCase, error: ResourceError, starts: str) -> None:
    """One line starting with `starts`, a hint, and no credential anywhere."""
    test.assertNotIn("\n", error.message)
    test.assertTrue(error.message.startswith(starts), error.message)
    test.assertTrue(error.hint, f"no hint: {error.message}")
    for secret in SECRETS:
        for text in (error.message, error.hint or "", str(error), repr(error)):
            test.assertNotIn(secret, text)


def closed_port() -> int:
    """A loopback port nothing listens on (bound and let go; nothing else takes it so soon)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])
