"""How the libcloud plugin classifies what Libcloud raises."""
from __future__ import annotations

import email.utils
import time
import unittest

import requests
from libcloud.common.exceptions import BaseHTTPError, RateLimitReachedError
from libcloud.common.types import (InvalidCredsError, LibcloudError, MalformedResponseError,
                                   ProviderError)

from occo.resourcehandler.anydriver.errors import classify
from occo.resourcehandler.base import PermanentError, TransientError

SECRET = "a-secret-of-the-test-1234"


def classified(error: Exception) -> object:
    return classify(error, where="[cloud] node n1", operation="creating the node",
                    secrets={SECRET})


class ClassifyTest(unittest.TestCase):
    def test_a_rate_limit_is_transient_with_the_clouds_wait(self) -> None:
        error = classified(RateLimitReachedError(headers={"retry-after": "12"}))
        self.assertIsInstance(error, TransientError)
        assert isinstance(error, TransientError)
        self.assertEqual(error.retry_after, 12.0)

    def test_a_rate_limit_without_a_wait_still_waits(self) -> None:
        error = classified(BaseHTTPError(429, "slow down", {}))
        assert isinstance(error, TransientError), error
        self.assertGreater(error.retry_after or 0, 0)

    def test_refused_credentials_are_permanent_and_say_where_to_look(self) -> None:
        error = classified(InvalidCredsError(f"bad key {SECRET}"))
        assert isinstance(error, PermanentError) and not isinstance(error, TransientError)
        self.assertIn("auth_data", error.hint or "")
        self.assertNotIn(SECRET, error.message)

    def test_server_errors_conflicts_garbled_answers_and_lost_connections_are_transient(
            self) -> None:
        for raised in (BaseHTTPError(503, "unavailable", {"Retry-After": "3"}),
                       BaseHTTPError(409, "busy", {}), ProviderError("boom", 500),
                       MalformedResponseError("not JSON"),
                       requests.ConnectionError("refused"), TimeoutError("slow")):
            with self.subTest(raised=raised):
                self.assertIsInstance(classified(raised), TransientError)

    def test_a_5xx_carries_the_clouds_retry_after(self) -> None:
        error = classified(BaseHTTPError(503, "unavailable", {"Retry-After": "3"}))
        assert isinstance(error, TransientError)
        self.assertEqual(error.retry_after, 3.0)

    def test_a_retry_after_date_is_read_as_seconds_from_now(self) -> None:
        in_an_hour = email.utils.formatdate(time.time() + 3600, usegmt=True)
        error = classified(BaseHTTPError(503, "unavailable", {"Retry-After": in_an_hour}))
        assert isinstance(error, TransientError)
        self.assertGreater(error.retry_after or 0, 3000)
        self.assertLessEqual(error.retry_after or 0, 3600)

    def test_client_errors_are_permanent(self) -> None:
        for raised in (BaseHTTPError(400, "bad image", {}), BaseHTTPError(403, "no", {}),
                       ProviderError("missing", 404), LibcloudError("unsupported")):
            with self.subTest(raised=raised):
                error = classified(raised)
                self.assertIsInstance(error, PermanentError)
                self.assertNotIsInstance(error, TransientError)

    def test_anything_else_is_a_bug_let_through(self) -> None:
        self.assertIsNone(classified(KeyError("swap")))
