"""Where the cloud tutorials' end-to-end tests find the tutorials' files."""
from __future__ import annotations

import os
import unittest
from pathlib import Path
from unittest import mock

from . import support


class TutorialsFolderTest(unittest.TestCase):
    """Where the tutorials are absent, their tests are skipped saying where they belong; in CI
    that is a failure."""

    def test_an_absent_folder_skips_outside_ci_and_fails_in_ci(self) -> None:
        missing = Path("/nonexistent/shared/compat/occopus-tutorials")
        with mock.patch.object(support, "TUTORIALS", missing):
            with mock.patch.dict(os.environ, {"CI": ""}), \
                    self.assertRaises(unittest.SkipTest) as skipped:
                support.tutorial_folder("ec2-ping")
            self.assertIn(f"the Occopus tutorials are not at {missing}", str(skipped.exception))
            with mock.patch.dict(os.environ, {"CI": "true"}), self.assertRaises(AssertionError):
                support.tutorial_folder("ec2-ping")

    def test_a_tutorial_missing_from_the_folder_is_a_failure(self) -> None:
        with self.assertRaises(AssertionError):
            support.tutorial_folder("no-such-tutorial")
