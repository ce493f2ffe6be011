"""`maintain -c` in parts: backing off from a node whose creates keep failing, and printing
only what changed after the first table."""
import contextlib
import io
import unittest

from occo.api.backoff import CreateBackoff
from occo.api.changes import ChangesPrinter
from occo.enactor.outcome import NodeRow, PassResult
from occo.enactor.plan import Plan
from occo.infraprocessor.engine import ExecutionResult
from occo.infraprocessor.instructions import CreateNodes


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


if __name__ == "__main__":
    unittest.main()
