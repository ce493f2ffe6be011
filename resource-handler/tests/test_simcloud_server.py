"""simcloud's HTTP API, spoken to directly, as the plugin and the chaos runs rely on it."""
from __future__ import annotations

import json
import threading
import time
import uuid
from functools import partial

import httpx

from .simcloud_support import SimCloudCase
from .support import run_threads


class SimCloudApiCase(SimCloudCase):
    def setUp(self) -> None:
        super().setUp()
        self.http = httpx.Client(base_url=self.cloud.url)
        self.addCleanup(self.http.close)
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def create(self, token: str, **fields: object) -> httpx.Response:
        """Create with a token of this test's own."""
        tags = {"occopus-infra-id": self.infra_id}
        return self.http.post("/instances", json={"client_token": f"{self.infra_id}-{token}",
                                                  "tags": tags, **fields})

    def listed(self, **tags: str) -> list[str]:
        query = {f"tag.{key}": value for key, value in tags.items()}
        return sorted(item["id"] for item in self.http.get("/instances", params=query).json()
                      ["instances"])

    def by_ids(self, *ids: str, **tags: str) -> httpx.Response:
        query = {"ids": ",".join(ids), **{f"tag.{key}": value for key, value in tags.items()}}
        return self.http.get("/instances", params=query)


class InstanceApiTest(SimCloudApiCase):
    def test_a_client_token_makes_one_instance(self):
        first = self.create("node-a", image="debian-12")
        again = self.create("node-a", image="ubuntu")
        self.assertEqual((first.status_code, again.status_code), (201, 200))
        self.assertEqual(again.json()["id"], first.json()["id"])
        self.assertEqual(again.json()["image"], "debian-12", "the first request's parameters win")
        self.assertEqual(self.listed(**{"occopus-infra-id": self.infra_id}), [first.json()["id"]])

    def test_an_instance_is_pending_until_its_boot_time_then_running(self):
        instance = self.create("node-b").json()
        self.assertEqual(instance["state"], "pending")
        self.assertAlmostEqual(instance["ready_at"] - instance["created_at"], 0.2)
        deadline = time.monotonic() + 5
        while self.http.get(f"/instances/{instance['id']}").json()["state"] == "pending":
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)
        self.assertEqual(self.http.get(f"/instances/{instance['id']}").json()["state"], "running")

    def test_a_new_boot_time_counts_for_new_instances(self):
        self.cloud.set_faults(boot_time=0)
        instance = self.create("node-c").json()
        self.assertEqual(instance["ready_at"], instance["created_at"])
        self.assertEqual(self.http.get(f"/instances/{instance['id']}").json()["state"], "running")

    def test_listing_needs_every_tag_given(self):
        web = self.http.post("/instances", json={"client_token": f"{self.infra_id}-w", "tags": {
            "occopus-infra-id": self.infra_id, "role": "web"}}).json()
        self.create("node-x")
        self.assertEqual(self.listed(**{"occopus-infra-id": self.infra_id, "role": "web"}),
                         [web["id"]])
        self.assertEqual(self.listed(**{"occopus-infra-id": "no-such-infra"}), [])

    def test_listing_by_ids_gives_those_known_in_the_order_given(self):
        web, db = self.create("node-w").json(), self.create("node-db").json()
        self.http.delete(f"/instances/{db['id']}")
        answer = self.by_ids(db["id"], "i-ffffffff", web["id"])
        self.assertEqual(answer.status_code, 200)
        self.assertEqual([(item["id"], item["state"]) for item in answer.json()["instances"]],
                         [(db["id"], "terminated"), (web["id"], "pending")])
        alone = self.http.get(f"/instances/{web['id']}").json()
        self.assertEqual(answer.json()["instances"][1], {
            key: value for key, value in alone.items() if key != "user_data"},
            "each as GET /instances/ID shows it, but its user data")
        self.assertEqual(self.by_ids("i-ffffffff").json(), {"instances": []})

    def test_a_status_view_gives_what_a_poll_needs(self):
        web = self.create("node-w").json()
        answer = self.http.get("/instances", params={"ids": web["id"], "view": "status"})
        self.assertEqual(answer.json(), {"instances": [
            {"id": web["id"], "state": "pending", "private_ip": web["private_ip"]}]})

    def test_listing_by_ids_and_tags_needs_both(self):
        mine = self.create("node-m").json()
        other = self.http.post("/instances", json={"client_token": f"{self.infra_id}-other",
                                                   "tags": {"occopus-infra-id": "other"}}).json()
        found = self.by_ids(other["id"], mine["id"], **{"occopus-infra-id": self.infra_id})
        self.assertEqual([item["id"] for item in found.json()["instances"]], [mine["id"]])

    def test_delete_terminates_once_and_answers_the_same_again(self):
        instance = self.create("node-d").json()
        first = self.http.delete(f"/instances/{instance['id']}")
        again = self.http.delete(f"/instances/{instance['id']}")
        self.assertEqual((first.status_code, again.status_code), (200, 200))
        self.assertEqual(first.json()["state"], "terminated")
        self.assertEqual(again.json()["terminated_at"], first.json()["terminated_at"])
        self.assertEqual(self.http.delete("/instances/i-ffffffff").status_code, 404)
        self.assertEqual(self.http.get("/instances/i-ffffffff").status_code, 404)

    def test_malformed_requests_are_answered_400_with_a_reason(self):
        cases = [
            ({"tags": {}}, "client_token"),
            ({"client_token": "t", "tags": {"n": 1}}, "tags"),
            ({"client_token": "t", "image": 5}, "image"),
        ]
        for body, word in cases:
            with self.subTest(body):
                response = self.http.post("/instances", json=body)
                self.assertEqual(response.status_code, 400)
                self.assertIn(word, response.json()["error"]["message"])
        response = self.http.post("/instances", content=b"{not json")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["code"], "BadRequest")

    def test_a_batch_answers_each_create_as_post_instances_would_in_order(self):
        made_before = self.create("node-old").json()
        made = self.cloud.stats()["made"]
        tags = {"occopus-infra-id": self.infra_id}
        requests = [{"client_token": f"{self.infra_id}-node-new", "tags": tags},
                    {"client_token": f"{self.infra_id}-node-old", "tags": tags},
                    {"tags": tags},
                    "not an object",
                    {"client_token": f"{self.infra_id}-node-new", "tags": tags}]
        answer = self.http.post("/instances/batch", json={"instances": requests})
        self.assertEqual(answer.status_code, 200)
        results = answer.json()["results"]
        self.assertEqual([result["status"] for result in results], [201, 200, 400, 400, 200])
        self.assertEqual(results[1]["instance"], made_before)
        self.assertEqual(results[4]["instance"]["id"], results[0]["instance"]["id"],
                         "a token twice in a batch makes one instance")
        self.assertIn("client_token", results[2]["error"]["message"])
        self.assertIn("JSON object", results[3]["error"]["message"])
        self.assertEqual(self.listed(**tags),
                         sorted([made_before["id"], results[0]["instance"]["id"]]))
        self.assertEqual(self.cloud.stats()["made"] - made, 1)

    def test_a_batch_holds_1_to_200_creates(self):
        tags = {"occopus-infra-id": self.infra_id}
        many = [{"client_token": f"{self.infra_id}-{n}", "tags": tags} for n in range(201)]
        for instances in ([], many, "x"):
            with self.subTest(len(instances)):
                answer = self.http.post("/instances/batch", json={"instances": instances})
                self.assertEqual(answer.status_code, 400)
                self.assertIn("1 to 200", answer.json()["error"]["message"])
        self.assertEqual(self.listed(**tags), [], "a refused batch makes nothing")

    def test_unknown_calls_are_404_and_wrong_methods_405(self):
        self.assertEqual(self.http.get("/volumes").status_code, 404)
        self.assertEqual(self.http.put("/instances/i-00000001", json={}).status_code, 405)


class FaultApiTest(SimCloudApiCase):
    def test_beyond_the_rate_limit_calls_get_429_with_retry_after(self):
        self.cloud.set_faults(rate_limit=2)
        answers = [self.http.get("/instances") for _ in range(4)]
        refused = [answer for answer in answers if answer.status_code == 429]
        self.assertGreaterEqual(len(refused), 1)
        self.assertGreaterEqual(int(refused[0].headers["Retry-After"]), 1)
        self.assertEqual(refused[0].json()["error"]["code"], "RateLimited")

    def test_health_and_admin_calls_are_never_faulted(self):
        self.cloud.set_faults(error_rate=1.0)
        self.assertEqual(self.http.get("/instances").status_code, 503)
        self.assertEqual(self.http.get("/health").status_code, 200)
        self.assertEqual(self.http.get("/admin/faults").json()["error_rate"], 1.0)

    def test_fail_next_answers_the_next_calls_with_the_armed_status(self):
        self.cloud.fail_next(400, count=2)
        statuses = [self.http.get("/instances").status_code for _ in range(3)]
        self.assertEqual(statuses, [400, 400, 200])

    def test_a_ghost_create_answers_500_and_keeps_the_instance(self):
        ghosts = self.cloud.stats()["ghosts"]
        self.cloud.set_faults(ghost_rate=1.0)
        ghost = self.create("node-g")
        self.assertEqual(ghost.status_code, 500)
        self.cloud.set_faults(ghost_rate=0.0)
        retry = self.create("node-g")
        self.assertEqual(retry.status_code, 200, "the retry finds the instance the ghost made")
        self.assertEqual(self.listed(**{"occopus-infra-id": self.infra_id}), [retry.json()["id"]])
        self.assertEqual(self.cloud.stats()["ghosts"] - ghosts, 1)

    def test_a_batch_is_one_call_for_faults_but_ghosts_hit_each_create(self):
        tags = {"occopus-infra-id": self.infra_id}
        batch = {"instances": [{"client_token": f"{self.infra_id}-{n}", "tags": tags}
                               for n in range(3)]}
        self.cloud.fail_next(503, count=1)
        self.assertEqual(self.http.post("/instances/batch", json=batch).status_code, 503)
        self.assertEqual(self.listed(**tags), [], "a batch refused whole makes nothing")
        ghosts = self.cloud.stats()["ghosts"]
        self.cloud.set_faults(ghost_rate=1.0)
        answer = self.http.post("/instances/batch", json=batch)
        self.assertEqual([result["status"] for result in answer.json()["results"]], [500] * 3)
        self.assertEqual(len(self.listed(**tags)), 3, "each ghost keeps its instance")
        self.assertEqual(self.cloud.stats()["ghosts"] - ghosts, 3)

    def test_fault_settings_are_checked(self):
        for body in ({"error_rate": 2}, {"latency": -1}, {"rate_limit": 0}, {"speed": 1},
                     {"ghost_rate": True}, [1]):
            with self.subTest(body):
                self.assertEqual(self.http.put("/admin/faults", json=body).status_code, 400)
        self.assertEqual(self.http.get("/admin/faults").json(), {
            "latency": 0.0, "boot_time": 0.2, "rate_limit": None, "error_rate": 0.0,
            "ghost_rate": 0.0})

    def test_a_listing_by_ids_is_faulted_like_any_call(self):
        instance = self.create("node-f").json()
        self.cloud.fail_next(503)
        self.assertEqual(self.by_ids(instance["id"]).status_code, 503)
        self.cloud.set_faults(rate_limit=1)
        answers = [self.by_ids(instance["id"]).status_code for _ in range(3)]
        self.assertIn(429, answers)

    def test_stats_count_answers_and_instances_by_state(self):
        before = self.cloud.stats()
        self.create("node-s")
        self.http.get("/instances/i-ffffffff")
        self.by_ids("i-ffffffff")
        after = self.cloud.stats()
        self.assertEqual(after["calls"] - before["calls"], 3)
        self.assertEqual(after["answers"]["404"] - before["answers"].get("404", 0), 1)
        self.assertEqual(sum(after["instances"].values()) - sum(before["instances"].values()), 1)
        self.assertEqual(after["made"] - before["made"], 1)


class ManyClientsTest(SimCloudApiCase):
    CLIENTS = 20
    TOKENS = 300

    def test_concurrent_clients_racing_on_tokens_make_one_instance_each(self):
        """Every token is created by two clients at once; each gets one instance, all saved."""
        ids: dict[str, set[str]] = {}
        failures: list[str] = []
        lock = threading.Lock()

        def client(number: int) -> None:
            with httpx.Client(base_url=self.cloud.url) as http:
                for index in range(number % (self.CLIENTS // 2), self.TOKENS, self.CLIENTS // 2):
                    answer = self.create_with(http, f"race-{index}")
                    with lock:
                        if answer.status_code not in (200, 201):
                            failures.append(answer.text)
                        else:
                            ids.setdefault(f"race-{index}", set()).add(answer.json()["id"])
        self.assertEqual(run_threads(partial(client, number) for number in range(self.CLIENTS)),
                         [])
        self.assertEqual(failures, [])
        self.assertEqual(len(ids), self.TOKENS)
        self.assertTrue(all(len(made) == 1 for made in ids.values()))
        saved = json.loads(self.cloud.state_file.read_text())["instances"]
        self.assertTrue({made.pop() for made in ids.values()} <= set(saved))
        self.assertEqual([path.name for path in self.cloud.state_file.parent.glob("*.tmp")], [])

    def create_with(self, http: httpx.Client, token: str) -> httpx.Response:
        return http.post("/instances", json={"client_token": token,
                                             "tags": {"occopus-infra-id": self.infra_id}})
