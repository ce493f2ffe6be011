"""The scale routes of the REST service, over HTTP: the original's paths and shapes, requests
bounded by the node's limits even when a hundred come at once, refusals that say what would do.

The infrastructure is stored, not attached: requests are only queued (no pass runs)."""
from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor


from occo.infobroker.store import PendingScaling

from .rest_support import RestCase

WRITER, READER = "writer-" + "w" * 32, "reader-" + "r" * 32
SHOP = """\
infra_name: shop
nodes:
  - {name: app, type: plain, scaling: {min: 1, max: 5}}
  - {name: db, type: plain}
"""


class ScaleRoutesTest(RestCase):
    def setUp(self) -> None:
        super().setUp()
        self.infra_id = self.store_only(SHOP)
        self.token_file().parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.token_file().write_text(f"{WRITER}\n{READER} read\n")
        self.token_file().chmod(0o600)
        self.service = self.start_service()

    def post(self, path: str, **options):
        return self.service.post(f"/infrastructures/{self.infra_id}/{path}", **options)

    def pending(self, node: str = "app") -> PendingScaling:
        return self.store.pending_scaling(self.infra_id, node)

    def test_a_hundred_scaleups_at_once_queue_no_more_than_the_room(self) -> None:
        rng = random.Random(17)
        counts = [rng.choice((1, 1, 2)) for _ in range(100)]
        start = threading.Barrier(len(counts))

        def scale_up(count: int):
            start.wait()
            return count, self.post(f"scaleup/app/{count}")

        with ThreadPoolExecutor(len(counts)) as pool:
            answers = list(pool.map(scale_up, counts))
        accepted = [answer.json() for _, answer in answers if answer.status_code == 202]
        refused = [(count, answer.json()) for count, answer in answers
                   if answer.status_code == 409]
        self.assertEqual(len(accepted) + len(refused), len(counts),
                         [answer.status_code for _, answer in answers])
        room = 5 - 1                                   # max 5, the target is the min, 1
        self.assertEqual(sum(item["accepted"] for item in accepted), room)
        self.assertEqual(self.pending(), PendingScaling(create=room))
        for count, body in refused:
            self.assertLess(body["accepted"], count, body)     # asked for more than the room
            self.assertIn(f"{count} more cannot be queued", body["reason"])
        # full now: one more is refused, saying that none would be accepted
        full = self.post("scaleup/app")
        self.assertEqual(full.status_code, 409)
        self.assertEqual(full.json()["accepted"], 0)
        self.assertIn("it can grow no further", full.json()["message"])
        self.assertEqual(self.pending(), PendingScaling(create=room))

    def test_answers_keep_the_original_shapes_and_say_what_was_accepted(self) -> None:
        one = self.post("scaleup/app")
        self.assertEqual(one.status_code, 202, one.text)
        self.assertEqual(one.json(), {"method": "scaleup", "infraid": self.infra_id,
                                      "nodename": "app", "count": 1, "accepted": 1,
                                      "pending": {"create": 1, "destroy": 0, "named": []}})
        two = self.post("scaleup/app/2").json()
        self.assertEqual((two["count"], two["accepted"], two["pending"]["create"]), (2, 2, 3))
        down = self.post("scaledown/app")
        self.assertEqual(down.status_code, 202, down.text)
        self.assertEqual(down.json(), {"method": "scaledown", "infraid": self.infra_id,
                                       "nodename": "app", "nodeid": None, "accepted": 1,
                                       "pending": {"create": 3, "destroy": 1, "named": []}})
        named = self.post("scaledown/app/10.0.0.7").json()
        self.assertEqual((named["nodeid"], named["accepted"], named["pending"]["named"]),
                         ("10.0.0.7", 1, ["10.0.0.7"]))
        again = self.post("scaledown/app/10.0.0.7")
        self.assertEqual((again.status_code, again.json()["accepted"]), (202, 0))
        self.assertEqual(self.pending(), PendingScaling(3, 1, ("10.0.0.7",)))
        to = self.post("scaleto/app/4")
        self.assertEqual(to.status_code, 202, to.text)
        self.assertEqual({key: to.json()[key] for key in ("method", "nodename", "count")},
                         {"method": "scaleto", "nodename": "app", "count": 4})
        self.assertEqual(self.store.get_target_count(self.infra_id, "app"), 4)

    def test_a_request_beyond_the_limits_is_refused_never_clamped(self) -> None:
        huge = self.post("scaleup/app/1000000")
        self.assertEqual(huge.status_code, 409, huge.text)
        body = huge.json()
        self.assertEqual((body["status_code"], body["accepted"]), (409, 4))
        self.assertIn("node 'app' may have 1 to 5 instances; its target is 1: "
                      "1000000 more cannot be queued", body["reason"])
        self.assertIn(f"POST /infrastructures/{self.infra_id}/scaleup/app/4", body["message"])
        self.assertNotIn("-c 4", body["message"])            # the CLI's advice is not given here
        at_min = self.post("scaledown/db")
        self.assertEqual((at_min.status_code, at_min.json()["accepted"]), (409, 0))
        self.assertIn("lower its min", at_min.json()["message"])
        self.assertEqual((self.pending(), self.pending("db")), (PendingScaling(), PendingScaling()))

    def test_scaleto_outside_the_limits_is_a_bad_request(self) -> None:
        for count in (0, 6):
            answer = self.post(f"scaleto/app/{count}")
            self.assertEqual(answer.status_code, 400, answer.text)
            self.assertIn(f"may have 1 to 5 instances, not {count}", answer.json()["reason"])
        self.assertIsNone(self.store.get_target_count(self.infra_id, "app"))
        self.assertEqual(self.post("scaleup/app/0").status_code, 400)
        long_name = self.post("scaledown/app/" + "x" * 300)
        self.assertEqual(long_name.status_code, 400, long_name.text)
        self.assertIn("names no instance", long_name.json()["reason"])

    def test_unknown_infrastructure_or_node_is_not_found(self) -> None:
        answer = self.service.post("/infrastructures/no-such-id/scaleup/app")
        self.assertEqual(answer.status_code, 404, answer.text)
        answer = self.post("scaleup/ap")
        self.assertEqual(answer.status_code, 404, answer.text)
        self.assertIn(f"infrastructure {self.infra_id} has no node 'ap'", answer.json()["reason"])
        self.assertIn("did you mean 'app'?", answer.json()["message"])
        self.assertEqual(self.pending(), PendingScaling())

    def test_scaling_needs_a_token_that_may_write(self) -> None:
        anonymous = self.service.client.post(f"/infrastructures/{self.infra_id}/scaleup/app",
                                             headers={"Authorization": ""})
        self.assertEqual(anonymous.status_code, 401)
        reader = self.service.client.post(f"/infrastructures/{self.infra_id}/scaleup/app",
                                          headers={"Authorization": f"Bearer {READER}"})
        self.assertEqual(reader.status_code, 403)
        self.assertEqual(self.pending(), PendingScaling())
