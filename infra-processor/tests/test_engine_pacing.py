"""Pacing readiness polls: the schedule, hints from peers and kin seen ready, hurrying; and the
dispatcher's timers at a time, and its step that does not wait."""
import random
import threading
import unittest

from occo.infraprocessor.engine import Backoff
from occo.infraprocessor.engine.dispatcher import Dispatcher
from occo.infraprocessor.engine.backends import section_key as kin
from occo.infraprocessor.engine.pacing import LATE, SCOUTS, Boot, Pacing, peer_group

POLL = Backoff(0.25, 1.25, 10.0)        # no jitter: exact delays
RETRY = Backoff(0.025, 2.0, 10.0)


def pacing(late=0.0):
    """Polls at the ages peers and kin give, not `LATE` after (one test says how late)."""
    return Pacing(POLL, RETRY, random.Random(0), late=late)


def seen_ready(pacing, boot, asked):
    """A poll of `boot` made at `asked` saw it ready; whether that told its peers anything."""
    pacing.answered(boot, asked)
    return pacing.ready(boot)


class ScheduleTest(unittest.TestCase):
    def test_alone_an_instance_is_polled_a_share_of_its_age_later(self):
        boot = Boot(None, began=100.0)
        self.assertEqual([round(pacing().delay(boot, 100.0 + age), 6) for age in (0, 1, 4, 20, 60)],
                         [0.25, 0.25, 1.0, 5.0, 10.0])

    def test_a_failed_poll_is_retried_at_the_retry_delays_until_the_schedule_is_sooner(self):
        paced, boot = pacing(), Boot(None, began=100.0)
        paced.failed(boot)
        self.assertEqual([round(paced.delay(boot, 104.0), 6) for _ in range(7)],
                         [0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0])

    def test_an_answer_ends_the_hurry_of_a_failure(self):
        paced, boot = pacing(), Boot(None, began=100.0)
        paced.failed(boot)
        paced.failed(boot)          # a second failure goes on where the first left off
        self.assertEqual(round(paced.delay(boot, 104.0), 6), 0.025)
        self.assertEqual(round(paced.delay(boot, 104.0), 6), 0.05)
        paced.answered(boot, 104.1)
        self.assertEqual(round(paced.delay(boot, 104.2), 6), 1.05)


class ScoutsTest(unittest.TestCase):
    def test_beyond_its_scouts_a_group_polls_at_doubling_intervals_until_one_is_ready(self):
        paced = pacing()
        group = [Boot("web", began=100.0) for _ in range(SCOUTS + 2)]
        delays = [round(paced.delay(boot, 100.0), 6) for boot in group]
        self.assertEqual(delays, [0.25] * SCOUTS + [1.0, 1.0])
        (late, _) = group[SCOUTS:]
        self.assertEqual(round(paced.delay(late, 103.0), 6), 3.0)      # its age, not a quarter
        self.assertEqual(round(paced.delay(group[0], 103.0), 6), 0.75)  # a scout keeps its pace
        self.assertTrue(seen_ready(paced, group[0], 101.0))
        # once one is ready the others are due at its age, and back on the common schedule
        self.assertEqual(round(paced.delay(late, 100.5), 6), 0.25)
        self.assertEqual(round(paced.hint(late), 6), 101.0)

    def test_instances_without_peers_are_never_held_back(self):
        paced = pacing()
        self.assertEqual([round(paced.delay(Boot(None, began=100.0), 100.0), 6)
                          for _ in range(SCOUTS + 2)], [0.25] * (SCOUTS + 2))


class PeersTest(unittest.TestCase):
    def setUp(self):
        self.pacing = pacing()
        self.first = Boot("web", began=100.0)
        self.late = Boot("web", began=100.3)

    def test_peers_are_due_at_the_age_the_first_was_seen_ready_at(self):
        self.assertTrue(seen_ready(self.pacing, self.first, 100.9))
        self.assertEqual(round(self.pacing.hint(self.late), 6), 101.2)
        # its schedule comes first while the hint is further away...
        self.assertEqual(round(self.pacing.delay(self.late, 100.5), 6), 0.25)
        # ...and the hint once it is nearer, or past
        self.assertEqual(round(self.pacing.delay(self.late, 101.1), 6), 0.1)
        self.assertEqual(self.pacing.delay(self.late, 101.5), 0.0)

    def test_only_a_shorter_boot_tells_the_peers_anything(self):
        self.assertTrue(seen_ready(self.pacing, self.first, 100.9))
        self.assertFalse(seen_ready(self.pacing, Boot("web", began=100.0), 101.0))
        self.assertTrue(seen_ready(self.pacing, Boot("web", began=100.0), 100.8))
        self.assertEqual(round(self.pacing.hint(self.late), 6), 101.1)

    def test_other_nodes_and_instances_without_peers_get_no_hint(self):
        self.assertTrue(seen_ready(self.pacing, self.first, 100.9))
        self.assertIsNone(self.pacing.hint(Boot("db", began=100.0)))
        self.assertIsNone(self.pacing.hint(Boot(None, began=100.0)))
        self.assertFalse(seen_ready(self.pacing, Boot(None, began=100.0), 100.5))

    def test_still_booting_at_that_age_it_is_hurried_instead(self):
        self.assertTrue(seen_ready(self.pacing, self.first, 100.9))
        self.pacing.answered(self.late, 101.25)     # looked at when 0.95 s old: not ready
        self.assertIsNone(self.pacing.hint(self.late))
        self.assertEqual([round(self.pacing.delay(self.late, 101.3), 6) for _ in range(3)],
                         [0.025, 0.05, 0.1])

    def test_sooner_says_when_waiting_peers_should_be_polled_now(self):
        looked = Boot("web", began=100.0)
        self.pacing.answered(looked, 101.0)          # not ready when 1 s old
        self.assertIsNone(self.pacing.sooner(self.late, 101.0))     # nothing known yet
        self.assertTrue(seen_ready(self.pacing, self.first, 100.9))
        self.assertEqual(round(self.pacing.sooner(self.late, 101.0), 6), 101.2)
        self.assertEqual(round(self.pacing.sooner(looked, 101.2), 6), 101.225)

    def test_a_group_is_one_node_on_one_connection(self):
        self.assertEqual(peer_group("web", "connection-a"), peer_group("web", "connection-a"))
        self.assertNotEqual(peer_group("web", "connection-a"), peer_group("db", "connection-a"))
        self.assertNotEqual(peer_group("web", "connection-a"), peer_group("web", "connection-b"))


class LateTest(unittest.TestCase):
    def test_polls_at_an_age_peers_or_kin_give_come_late_by_the_margin(self):
        paced = pacing(late=0.01)
        cloud = {"type": "simcloud", "endpoint": "http://127.0.0.1:1"}
        self.assertTrue(seen_ready(paced, Boot("web", 100.0, kin=kin(cloud)), 100.9))
        self.assertEqual(round(paced.hint(Boot("web", began=100.3)), 6), 101.21)
        app = Boot("app", began=102.0, kin=kin(cloud))
        self.assertEqual(round(paced.delay(app, 102.8), 6), 0.11)
        self.assertEqual(LATE, Pacing(POLL, RETRY, random.Random(0)).late)


class KinTest(unittest.TestCase):
    """Another node made from the same resource section: its first guess."""

    def setUp(self):
        self.pacing = pacing()
        self.cloud = {"type": "simcloud", "endpoint": "http://127.0.0.1:1", "image": "debian"}
        self.assertTrue(seen_ready(self.pacing, Boot("web", 100.0, kin=kin(self.cloud)), 100.9))

    def test_a_new_group_polls_once_at_the_age_its_kin_were_seen_ready_at(self):
        app = Boot("app", began=102.0, kin=kin(self.cloud))
        self.assertEqual(round(self.pacing.delay(app, 102.5), 6), 0.25)    # its schedule first
        self.assertEqual(round(self.pacing.delay(app, 102.8), 6), 0.1)     # then the guess
        self.pacing.answered(app, 102.9)            # not ready at that age: a wrong guess
        self.assertEqual(round(self.pacing.delay(app, 103.0), 6), 0.25,
                         "back on its own schedule, not hurried")

    def test_a_group_that_saw_one_of_its_own_ready_goes_by_that(self):
        app, late = Boot("app", 102.0, kin=kin(self.cloud)), Boot("app", 102.2, kin=kin(self.cloud))
        self.assertTrue(seen_ready(self.pacing, app, 103.5))
        self.assertEqual(round(self.pacing.delay(late, 103.6), 6), 0.1)    # at 1.5 s, not 0.9 s

    def test_a_shorter_boot_of_any_kin_is_the_guess(self):
        self.assertTrue(seen_ready(self.pacing, Boot("db", 200.0, kin=kin(self.cloud)), 200.7))
        app = Boot("app", began=300.0, kin=kin(self.cloud))
        self.assertEqual(round(self.pacing.delay(app, 300.6), 6), 0.1)

    def test_other_resource_sections_and_instances_without_kin_guess_nothing(self):
        other = Boot("app", 102.0, kin=kin({**self.cloud, "image": "ubuntu"}))
        self.assertEqual(round(self.pacing.delay(other, 102.8), 6), 0.25)
        self.assertEqual(round(self.pacing.delay(Boot("app", 102.0), 102.8), 6), 0.25)

    def test_kin_share_a_resource_section_whatever_its_keys_order(self):
        self.assertEqual(kin({"type": "ec2", "image_id": "ami-1"}),
                         kin({"image_id": "ami-1", "type": "ec2"}))
        self.assertNotEqual(kin({"type": "ec2", "image_id": "ami-1"}),
                            kin({"type": "ec2", "image_id": "ami-2"}))


class DispatcherTest(unittest.TestCase):
    def setUp(self):
        self.dispatcher = Dispatcher(2)
        self.addCleanup(self.dispatcher.close)
        self.ran = []

    def test_a_timer_at_a_past_moment_runs_at_the_next_step(self):
        self.dispatcher.at(0.0, lambda: self.ran.append("past"))
        self.assertTrue(self.dispatcher.ready)
        self.dispatcher.step()
        self.assertEqual(self.ran, ["past"])
        self.assertTrue(self.dispatcher.idle)

    def test_a_step_that_does_not_wait_runs_only_what_is_ready(self):
        self.dispatcher.after(3600.0, lambda: self.ran.append("later"))
        self.assertFalse(self.dispatcher.ready)
        self.dispatcher.step(wait=False)
        self.assertEqual(self.ran, [])
        self.assertFalse(self.dispatcher.idle)

    def test_a_finished_call_is_ready_for_the_next_step(self):
        returned = threading.Event()
        self.dispatcher.submit(lambda: "done", then=lambda future: self.ran.append(future.result()))
        self.dispatcher.submit(returned.set, then=lambda future: None)
        returned.wait()
        while self.ran != ["done"]:
            self.dispatcher.step()
        self.dispatcher.drain()
        self.assertFalse(self.dispatcher.ready)
