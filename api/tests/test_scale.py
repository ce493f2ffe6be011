"""occopus-scale: requests bounded by the node's limits, and the queue listed and dropped."""
from __future__ import annotations


from occo.infobroker.store import PendingScaling

from .support import CommandCase

SHOP = """\
infra_name: shop
nodes:
  - {name: app, type: plain, scaling: {min: 1, max: 5}}
  - {name: db, type: plain}
"""


class ScaleRequestsTest(CommandCase):
    """Nothing is queued that the next passes could not carry out; what waits can be seen and
    dropped. Requests are only queued here: the infrastructure is stored, not built."""

    def setUp(self) -> None:
        super().setUp()
        self.infra_id = self.store_only(SHOP)

    def scale(self, *args: str, code: int = 0) -> str:
        result = self.run_command("occopus-scale", "-i", self.infra_id, *args, code=code)
        return result.stdout if code == 0 else result.stderr

    def pending(self, node: str = "app") -> PendingScaling:
        return self.store.pending_scaling(self.infra_id, node)

    def test_a_million_creates_is_refused_saying_how_many_would_do(self) -> None:
        said = self.scale("-n", "app", "-c", "1000000", code=1)
        self.assertIn("node 'app' may have 1 to 5 instances; its target is 1: "
                      "1000000 more cannot be queued", said)
        self.assertIn("hint: ask for at most 4 more (-c 4)", said)
        self.assertEqual(self.pending(), PendingScaling())

    def test_requests_within_the_limits_are_counted_and_bounded_together(self) -> None:
        self.assertIn("Pending for node 'app': 3 to create", self.scale("-n", "app", "-c", "3"))
        said = self.scale("-n", "app", "-c", "2", code=1)
        self.assertIn("its target is 1 and 3 to create wait: 2 more cannot be queued", said)
        self.assertIn("(-c 1)", said)
        self.scale("-n", "app", "-c", "1")
        # destroys may take the node back down to its min from the target creates reach
        self.scale("-n", "app", "-c", "-3")
        self.scale("-n", "app", "-f", "10.0.0.7")
        self.assertIn("already to be scaled down", self.scale("-n", "app", "-f", "10.0.0.7"))
        said = self.scale("-n", "app", "-f", "10.0.0.8", code=1)
        self.assertIn("one fewer cannot be queued", said)
        self.assertIn("it can shrink no further", said)
        self.assertEqual(self.pending(), PendingScaling(4, 3, ("10.0.0.7",)))

    def test_a_name_too_long_is_refused_for_itself_even_with_no_room(self) -> None:
        said = self.scale("-n", "db", "-f", "x" * 300, code=1)   # db is at its min: no room
        self.assertIn("cannot queue the destroy request 'xxx", said)
        self.assertIn("names no instance", said)
        self.assertIn("give a node id or an address", said)
        self.assertNotIn("fewer cannot be queued", said)
        self.assertEqual(self.pending("db"), PendingScaling())

    def test_a_node_at_its_minimum_refuses_destroys(self) -> None:
        said = self.scale("-n", "db", "-c", "-1", code=1)
        self.assertIn("node 'db' may have 1 to 1 instances; its target is 1: "
                      "1 fewer cannot be queued", said)
        self.assertIn("lower its min", said)
        self.assertEqual(self.pending("db"), PendingScaling())

    def test_pending_requests_are_listed_and_dropped(self) -> None:
        self.scale("-n", "app", "-c", "2")
        self.scale("-n", "app", "-f", "node-1")
        listed = self.scale("--list")
        self.assertIn("app: target 1 (min 1, max 5); pending: 2 to create; "
                      "to destroy by name: node-1", listed)
        self.assertIn("db: target 1 (min 1, max 1); pending: nothing", listed)
        self.assertIn("Dropped for node 'app': 2 to create; to destroy by name: node-1",
                      self.scale("-n", "app", "--drop"))
        self.assertEqual(self.pending(), PendingScaling())
        self.assertIn("Nothing pending for node 'db'", self.scale("--drop"))

    def test_the_node_is_needed_to_queue_and_must_exist_to_list(self) -> None:
        said = self.scale("-c", "1", code=2)
        self.assertIn("argument -n/--node is required with -c, -s and -f", said)
        said = self.scale("-n", "ap", "--list", code=1)
        self.assertIn("has no node 'ap'", said)
