"""Keystone v3 auth of the nova plugin: password and application credentials, `/v3` added."""
from __future__ import annotations

import unittest

from occo.resourcehandler.base import Connection, PermanentError
from occo.resourcehandler.nova import testing as fake
from occo.resourcehandler.nova.client import auth_url, make_auth

from .nova_support import FakeOpenStackCase


class AuthURLTest(unittest.TestCase):

    def test_v3_is_added_when_the_endpoint_names_no_version(self) -> None:
        self.assertEqual(auth_url("https://keystone.example.org:5000"),
                         "https://keystone.example.org:5000/v3")
        self.assertEqual(auth_url("https://cloud.example.org/identity/"),
                         "https://cloud.example.org/identity/v3")

    def test_an_endpoint_naming_its_version_is_kept(self) -> None:
        self.assertEqual(auth_url("https://keystone.example.org:5000/v3"),
                         "https://keystone.example.org:5000/v3")
        self.assertEqual(auth_url("https://keystone.example.org/v2.0/"),
                         "https://keystone.example.org/v2.0")


class CredentialsTest(unittest.TestCase):
    RESOURCE = {"endpoint": "https://keystone.example.org:5000", "project_id": "p1"}

    def auth(self, credentials: dict, **resource: str) -> object:
        return make_auth(Connection("nova", {**self.RESOURCE, **resource}, credentials))

    def test_incomplete_credentials_are_a_permanent_error_naming_what_is_missing(self) -> None:
        with self.assertRaises(PermanentError) as raised:
            self.auth({"username": "someone"})
        self.assertIn("have no password", raised.exception.message)
        with self.assertRaises(PermanentError) as raised:
            self.auth({"type": "application_credential", "secret": "s" * 12})
        self.assertIn("have no id", raised.exception.message)
        self.assertNotIn("s" * 12, raised.exception.message)

    def test_an_auth_type_the_original_refused_is_refused(self) -> None:
        with self.assertRaises(PermanentError) as raised:
            self.auth({"type": "voms", "proxy": "/tmp/x509"})
        self.assertIn("'voms' is not supported", raised.exception.message)

    def test_a_password_needs_a_project(self) -> None:
        with self.assertRaises(PermanentError) as raised:
            self.auth({"username": "u", "password": "p" * 12}, project_id="")
        self.assertIn("no project_id", raised.exception.message)

    def test_the_endpoint_must_be_a_url(self) -> None:
        with self.assertRaises(PermanentError) as raised:
            self.auth({"username": "u", "password": "p" * 12}, endpoint="keystone:5000")
        self.assertIn("must be an http(s) URL", raised.exception.message)


class KeystoneTest(FakeOpenStackCase):
    """Each way of signing in, against the fake's Keystone, reaches Nova."""

    def methods_used(self) -> set[str]:
        return set(self.cloud.tokens.values())

    def test_password_auth_scoped_to_the_project(self) -> None:
        self.cloud.tokens.clear()
        self.assertEqual(self.nova_handler(fake.USER).list_owned("nobody"), [])
        self.assertEqual(self.methods_used(), {"password"})
        self.assertIn(("POST", "/identity/v3/auth/tokens"), self.cloud.requests)

    def test_application_credential_auth(self) -> None:
        self.cloud.tokens.clear()
        self.assertEqual(self.nova_handler(fake.APP_CREDENTIAL).list_owned("nobody"), [])
        self.assertEqual(self.methods_used(), {"application_credential"})

    def test_a_wrong_password_is_a_permanent_error_without_the_password(self) -> None:
        wrong = {"username": fake.USER["username"], "password": "not-the-password-42"}
        with self.assertRaises(PermanentError) as raised:
            self.nova_handler(wrong).list_owned("nobody")
        error = raised.exception
        self.assertIn("401", error.message)
        self.assertIn("requires authentication", error.message)
        self.assertNotIn("not-the-password-42", error.message + (error.hint or ""))
        self.assertIn("auth_data.yaml", error.hint or "")

    def test_a_wrong_project_is_refused_by_keystone(self) -> None:
        with self.assertRaises(PermanentError) as raised:
            self.nova_handler(project_id="another-project").list_owned("nobody")
        self.assertIn("has no access to project another-project", raised.exception.message)
