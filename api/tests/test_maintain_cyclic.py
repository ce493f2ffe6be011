"""`maintain -c` in parts: backing off from a node whose creates keep failing, and printing
only what changed after the first table."""
import argparse
import contextlib
import io
import unittest

from occo.api.backoff import CreateBackoff
from occo.api.changes import ChangesPrinter
from occo.api.cli import EXIT_INTERRUPTED
from occo.api.commands.maintain import _cyclic as cyclic
from occo.enactor.outcome import NodeRow, PassResult
from occo.enactor.plan import Plan
from occo.infraprocessor.engine import ExecutionResult
from occo.infraprocessor.instructions import CreateNodes
from occo.util.errors import OccoError

SECRET = "hunter2-very-secret"
URL = f"https://admin:{SECRET}@tokens.example/"


def a_pass(rows, creates=()):
    plan = Plan("i1", tuple(CreateNodes(name, 1, frozenset()) for name in creates), {}, {})
    return PassResult("i1", plan, tuple(rows), execution=ExecutionResult("i1", ()))


def failed(name="app"):
    return a_pass([NodeRow(name, "n-failed", "failed", reason="cannot create it")], [name])


def created(name="app"):
    return a_pass([NodeRow(name, "n-made", "created", "ready")], [name])


class CreateBackoffTest(unittest.TestCase):
    def held_passes(self, backoff, passes):
        """Which of the coming passes hold `app` back (nothing is tried meanwhile)."""
        return [bool(backoff.hold()) for _ in range(passes)]

    def test_the_passes_held_back_double_with_each_failed_pass_in_a_row(self):
        backoff = CreateBackoff(interval=10)
        self.assertEqual(backoff.hold(), {})
        backoff.record(failed())
        self.assertEqual(self.held_passes(backoff, 1), [False])     # the next pass tries
        backoff.record(failed())
        self.assertEqual(self.held_passes(backoff, 2), [True, False])
        backoff.record(failed())
        self.assertEqual(self.held_passes(backoff, 4), [True, True, True, False])
        backoff.record(failed())
        held = backoff.hold()
        self.assertEqual(held, {"app": "its creates failed in 4 passes in a row: held back "
                                       "for 7 pass(es)"})

    def test_nothing_is_kept_of_a_node_once_it_is_created(self):
        backoff = CreateBackoff(interval=10)
        for _ in range(3):
            backoff.record(failed())
        backoff.hold()
        backoff.record(created())
        self.assertEqual((backoff.failures, backoff.skips_left, backoff.held_for), ({}, {}, {}))

    def test_nothing_is_kept_of_a_hold_once_it_is_over(self):
        backoff = CreateBackoff(interval=10)
        backoff.record(failed())
        backoff.record(failed())
        self.assertEqual(self.held_passes(backoff, 2), [True, False])
        self.assertEqual((backoff.skips_left, backoff.held_for), ({}, {}))

    def test_a_created_node_resets_it(self):
        backoff = CreateBackoff(interval=10)
        for _ in range(3):
            backoff.record(failed())
        backoff.record(created())
        self.assertEqual(backoff.hold(), {})
        backoff.record(failed())
        self.assertEqual(backoff.hold(), {})

    def test_it_waits_at_most_ten_minutes_worth_of_passes(self):
        backoff = CreateBackoff(interval=100)
        for _ in range(20):
            backoff.record(failed())
        self.assertEqual(self.held_passes(backoff, 7), [True] * 6 + [False])

    def test_a_node_not_tried_or_only_skipped_is_left_as_it_is(self):
        backoff = CreateBackoff(interval=10)
        backoff.record(failed())
        backoff.record(failed())
        backoff.record(a_pass([NodeRow("app", None, "skipped")], ["app"]))
        backoff.record(a_pass([NodeRow("db", "n-db", "unchanged", "ready")]))
        self.assertEqual(self.held_passes(backoff, 2), [True, False])


class ChangesPrinterTest(unittest.TestCase):
    def printed(self, printer, result):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            printer.show(result, title="pass")
        return out.getvalue(), err.getvalue()

    def test_the_first_pass_prints_every_row_then_only_rows_that_changed(self):
        printer = ChangesPrinter()
        db = NodeRow("db", "n-db", "unchanged", "ready", ("10.0.0.1",))
        out, _ = self.printed(printer, a_pass([db, NodeRow("app", "n-app", "created", "ready")]))
        self.assertIn("n-db", out)
        self.assertIn("n-app", out)
        out, _ = self.printed(printer, a_pass([db, NodeRow("app", "n-app", "unchanged", "ready")]))
        self.assertEqual(out, "pass: no change (2 instance(s))\n")
        out, _ = self.printed(printer, a_pass([db, NodeRow("app", "n-app", "unchanged", "pending",
                                                           reason="its health check fails")]))
        self.assertIn("n-app", out)
        self.assertIn("pending", out)
        self.assertNotIn("n-db", out)

    def test_the_same_failure_again_is_no_change_and_a_message_is_said_once(self):
        printer = ChangesPrinter()
        plan = Plan("i1", (), {}, {}, messages=("node 'app': not created this pass: held",))
        again = PassResult("i1", plan, (NodeRow("web", "n-web", "failed", "failed",
                                                reason="cannot drop it: 403"),),
                           execution=ExecutionResult("i1", ()))
        self.printed(printer, again)
        out, err = self.printed(printer, again)
        self.assertEqual(out, "pass: no change (1 instance(s))\n")
        self.assertEqual(err, "")

    def test_a_problem_is_said_once_while_it_lasts(self):
        printer = ChangesPrinter()
        result = PassResult("i1", Plan("i1", (), {}, {}), (), problems=("cloud unreachable",),
                            execution=ExecutionResult("i1", ()))
        for expected in (1, 0, 0):
            _, err = self.printed(printer, result)
            self.assertEqual(err.count("problem: cloud unreachable"), expected)
        self.printed(printer, a_pass([]))          # it went away; it comes back
        _, err = self.printed(printer, result)
        self.assertEqual(err.count("problem: cloud unreachable"), 1)

    def test_a_later_pass_hides_url_passwords_in_its_messages_and_problems(self):
        printer = ChangesPrinter()
        self.printed(printer, a_pass([]))
        plan = Plan("i1", (), {}, {}, messages=(f"scaling: destroy request '{URL}' names no "
                                                "instance of node 'app'",))
        _, err = self.printed(printer, PassResult("i1", plan, (), problems=(
            f"cannot list the resources of simcloud {URL}: refused",),
            execution=ExecutionResult("i1", ())))
        self.assertNotIn(SECRET, err)
        self.assertIn("problem: cannot list the resources of simcloud "
                      "https://admin:***@tokens.example/: refused", err)
        self.assertIn("destroy request 'https://admin:***@tokens.example/'", err)


class _Session:
    """Enough of a session for `maintain -c`: its one pass fails with an error quoting a URL
    password, and ends the loop."""

    def __init__(self):
        self.enactor = self
        self.store = self

    def make_a_pass(self, infra_id, hold, cancel):
        cancel.cancel()
        raise OccoError(f"cannot reach the store at {URL}", hint="check the store settings")

    def list_infrastructures(self):
        return ["i1"]


class CyclicPassFailedTest(unittest.TestCase):
    def test_a_failed_pass_is_said_without_its_url_password(self):
        err = io.StringIO()
        args = argparse.Namespace(interval=10.0, infra_id="i1", json=False)
        with contextlib.redirect_stderr(err):
            self.assertEqual(cyclic(_Session(), args), EXIT_INTERRUPTED)
        self.assertIn("occopus-maintain: pass failed: cannot reach the store at "
                      "https://admin:***@tokens.example/", err.getvalue())
        self.assertNotIn(SECRET, err.getvalue())


if __name__ == "__main__":
    unittest.main()
