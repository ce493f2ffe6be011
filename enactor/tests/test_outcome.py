"""What a pass's result shows hides URL passwords from the moment it is made, whatever the
command then does with it (table, stderr, `--json`, comparing passes)."""
import json
import unittest

from occo.enactor.outcome import LeftBehind, NodeRow, PassResult
from occo.enactor.plan import Plan, held_back
from occo.infraprocessor.engine import ExecutionResult, NodeResult, Outcome, RecoveryReport
from occo.infraprocessor.instructions import CreateNodes

SECRET = "hunter2-very-secret"
URL = f"https://admin:{SECRET}@tokens.example/"
SHOWN = "https://admin:***@tokens.example/"


def a_result():
    plan = Plan("i1", (CreateNodes("web", 1, frozenset()),), {"web": 1}, {},
                messages=(f"scaling: destroy request '{URL}' names no instance of node 'web'",))
    execution = ExecutionResult("i1", (NodeResult("web", "n1", Outcome.FAILED,
                                                  f"cannot resolve it: cmd('curl {URL}')"),),
                                problems=(f"cannot sweep simcloud {URL}: refused",))
    recovery = RecoveryReport("i1", problems=(f"cannot list the resources of simcloud {URL}",))
    return PassResult("i1", plan, (NodeRow("web", "n1", "failed", reason=f"cmd('curl {URL}')"),),
                      recovery, execution, recovery.problems + execution.problems,
                      left_behind=(LeftBehind(None, None, f"simcloud {URL}", None,
                                              f"cannot sweep it: {URL} refused"),))


class RedactedWhenMadeTest(unittest.TestCase):
    def test_rows_messages_problems_and_what_is_left_hide_url_passwords(self):
        result = a_result()
        self.assertEqual(result.rows[0].reason, f"cmd('curl {SHOWN}')")
        self.assertEqual(result.plan.messages, (f"scaling: destroy request '{SHOWN}' names no "
                                                "instance of node 'web'",))
        self.assertEqual(result.problems, (f"cannot list the resources of simcloud {SHOWN}",
                                           f"cannot sweep simcloud {SHOWN}: refused"))
        self.assertEqual(str(result.left_behind[0]),
                         f"anything of the infrastructure in simcloud {SHOWN}: "
                         f"cannot sweep it: {SHOWN} refused")

    def test_the_json_document_holds_no_url_password(self):
        document = json.dumps(a_result().to_json())
        self.assertNotIn(SECRET, document)
        self.assertIn(SHOWN, document)

    def test_a_plan_made_again_keeps_its_messages_hidden(self):
        plan = held_back(a_result().plan, {"web": f"held: {URL}"})
        self.assertEqual(plan.messages[-1], f"node 'web': not created this pass: held: {SHOWN}")
        self.assertNotIn(SECRET, json.dumps(plan.to_json()))


if __name__ == "__main__":
    unittest.main()
