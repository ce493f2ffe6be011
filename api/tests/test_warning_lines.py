"""Warnings as the commands show them: one stderr line each, details kept once, and few files."""
import contextlib
import io
import logging
import os
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from occo.api.warninglines import MAX_FILES, WarningLines


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("occo.test", logging.WARNING, __file__, 1, message, None, None)


class WarningLinesTest(unittest.TestCase):
    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.folder = Path(folder.name) / "logs"
        patcher = mock.patch.dict(os.environ, {"OCCOPUS_LOG_DIR": str(self.folder)})
        patcher.start()
        self.addCleanup(patcher.stop)
        self.handler = WarningLines("occopus-maintain")

    def emit(self, message: str) -> str:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.handler.emit(record(message))
        return err.getvalue()

    def test_a_warning_is_one_line_and_its_details_go_to_a_private_file(self):
        line = self.emit("create failed unexpectedly\nTraceback (most recent call last):\n  x")
        self.assertEqual(line.count("\n"), 1)
        self.assertTrue(line.startswith("occopus-maintain: warning: create failed unexpectedly"))
        [kept] = self.folder.iterdir()
        self.assertIn(str(kept), line)
        self.assertIn("Traceback", kept.read_text())
        self.assertEqual(kept.stat().st_mode & 0o777, 0o600)

    def test_the_same_details_are_kept_once_and_a_run_keeps_few_files(self):
        first = self.emit("same\ndetails")
        self.assertEqual(self.emit("same\ndetails"), first)
        for index in range(MAX_FILES + 5):
            last = self.emit(f"other {index}\ndetails {index}")
        self.assertEqual(len(list(self.folder.iterdir())), MAX_FILES)
        self.assertIn(f"no log file: {MAX_FILES} were written by this run already", last)

    def test_a_line_without_details_writes_no_file(self):
        self.assertEqual(self.emit("taking over the lease"),
                         "occopus-maintain: warning: taking over the lease\n")
        self.assertFalse(self.folder.exists())


if __name__ == "__main__":
    unittest.main()
