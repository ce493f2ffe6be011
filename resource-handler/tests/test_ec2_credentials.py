"""Credentials: missing ones refused before any call, and wrong ones refused by a moto server
that checks signatures against the access keys of its own IAM."""
from __future__ import annotations

import os
import unittest
import uuid
from collections.abc import Callable, Mapping
from contextlib import closing
from typing import Any, ClassVar
from unittest import mock

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.base import Instance, PermanentError, ResourceError
from occo.resourcehandler.ec2.handler import EC2Handler
from occo.resourcehandler.ec2.testing import REGION, Account, MotoServer, prepare_account


EC2_POLICY = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", '
              '"Resource": "*"}]}')


def resource(endpoint: str, account: Account | None = None, **overrides: Any) -> dict[str, Any]:
    values = account.tutorial_values(endpoint) if account else {"endpoint": endpoint,
                                                                "regionname": REGION}
    return {"type": "ec2", **values, **overrides}


class MissingCredentialsTest(unittest.TestCase):
    """Refused when the handler is built: nothing is sent anywhere."""

    def build(self, credentials: Mapping[str, Any], **overrides: Any) -> PermanentError:
        section = {**resource("http://127.0.0.1:9"), **overrides}
        with self.assertRaises(PermanentError) as raised:
            EC2Handler.for_section(section, credentials)
        self.assertNotIn("\n", raised.exception.message)
        return raised.exception

    def test_no_credentials_at_all_say_to_add_them_to_the_auth_file(self) -> None:
        error = self.build({})
        self.assertIn("have no accesskey and no secretkey", error.message)
        self.assertIn("auth_data.yaml", error.hint or "")
        self.assertIn("endpoint: http://127.0.0.1:9", error.hint or "")

    def test_a_missing_secret_key_is_named_and_the_access_key_not_shown(self) -> None:
        error = self.build({"accesskey": "AKIAEXAMPLEEXAMPLE01", "secretkey": ""})
        self.assertIn("have no secretkey", error.message)
        self.assertNotIn("AKIAEXAMPLEEXAMPLE01", str(error))

    def test_an_endpoint_that_is_no_url_is_refused(self) -> None:
        error = self.build({"accesskey": "a" * 20, "secretkey": "s" * 40},
                           endpoint="ec2.eu-west-1.amazonaws.com")
        self.assertIn("must be an http(s) URL, not ec2.eu-west-1.amazonaws.com", error.message)
        self.assertIn("https://", error.hint or "")

    def test_a_broken_aws_profile_of_the_environment_is_named(self) -> None:
        with mock.patch.dict(os.environ, {"AWS_PROFILE": "no-such-profile"}):
            error = self.build({"accesskey": "a" * 20, "secretkey": "s" * 40})
        self.assertIn("no-such-profile", error.message)
        self.assertIn("unset AWS_PROFILE", error.hint or "")

    def test_a_missing_region_is_refused(self) -> None:
        error = self.build({"accesskey": "a" * 20, "secretkey": "s" * 40}, regionname="")
        self.assertIn("no regionname", error.message)


class WrongCredentialsTest(unittest.TestCase):
    """A moto server of its own, which refuses requests not signed with a key of its IAM."""

    server: ClassVar[MotoServer]
    account: ClassVar[Account]
    allowed: ClassVar[dict[str, str]]
    powerless: ClassVar[dict[str, str]]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.server = MotoServer().start()
        cls.addClassCleanup(cls.server.stop)
        with closing(cls.server.client()) as cloud:
            cls.account = prepare_account(cloud)
        with closing(cls.server.client("iam", region="us-east-1")) as iam:
            cls.allowed = cls.user(iam, EC2_POLICY)
            cls.powerless = cls.user(iam, None)
        cls.server.require_credentials()

    @staticmethod
    def user(iam: Any, policy: str | None) -> dict[str, str]:
        name = f"occopus-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=name)
        if policy:
            iam.put_user_policy(UserName=name, PolicyName="ec2", PolicyDocument=policy)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"accesskey": key["AccessKeyId"], "secretkey": key["SecretAccessKey"]}

    def handler(self, credentials: Mapping[str, str]) -> EC2Handler:
        handler = EC2Handler.for_section(resource(self.server.url, self.account), credentials)
        self.addCleanup(handler.close)
        return handler

    def refused(self, credentials: Mapping[str, str], code: str, fix: str) -> None:
        """Every call with `credentials` is a permanent error naming `code`, with `fix` in its
        hint; a drop is not mistaken for success."""
        handler = self.handler(credentials)
        node = self.node()
        instance = Instance(node.infra_id, node.node_id, "i-0123456789abcdef0")
        [made] = handler.create_nodes([node])
        errors: list[ResourceError] = [made] if isinstance(made, ResourceError) else []
        self.assertEqual(len(errors), 1, made)
        calls: list[Callable[[], object]] = [lambda: handler.get_states([instance]),
                                             lambda: handler.drop_node(instance),
                                             lambda: handler.list_owned(node.infra_id)]
        for call in calls:
            with self.assertRaises(PermanentError) as raised:
                call()
            errors.append(raised.exception)
        for error in errors:
            self.assertIsInstance(error, PermanentError)
            self.assertIn(f"failed: {code}: ", error.message)
            self.assertIn(fix, error.hint or "")
            for secret in credentials.values():
                self.assertNotIn(secret, str(error))
        self.assertIn(f"node {node.node_id}", errors[0].message)

    def test_the_right_credentials_work(self) -> None:
        handler = self.handler(self.allowed)
        node = self.node()
        [made] = handler.create_nodes([node])
        self.assertIsInstance(made, Instance)
        assert isinstance(made, Instance)
        self.addCleanup(handler.drop_node, made)
        self.assertEqual([i.instance_id for i in handler.list_owned(node.infra_id)],
                         [made.instance_id])

    def node(self) -> ResolvedNode:
        return ResolvedNode(f"infra-{uuid.uuid4().hex[:8]}", "infra", "tester",
                            str(uuid.uuid4()), "web", resource(self.server.url, self.account),
                            context="#cloud-config\n")

    def test_an_unknown_access_key_is_refused(self) -> None:
        self.refused({"accesskey": "AKIAUNKNOWNUNKNOWN01", "secretkey": "s" * 40},
                     "AuthFailure", "auth_data.yaml")

    def test_a_wrong_secret_key_is_refused(self) -> None:
        self.refused({**self.allowed, "secretkey": "wrong-" + "s" * 34},
                     "AuthFailure", "auth_data.yaml")

    def test_credentials_without_permission_are_refused_naming_what_to_allow(self) -> None:
        self.refused(self.powerless, "AccessDenied", "ec2:RunInstances")
