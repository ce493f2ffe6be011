"""Backoff delays and retrying transient failures, with a seeded rng and a fake sleep."""
import random
import unittest

from occo.infraprocessor.engine import Backoff, Retrier
from occo.resourcehandler.base import PermanentError, TransientError


def first(backoff, count, seed=1):
    delays = backoff.delays(random.Random(seed))
    return [round(next(delays), 6) for _ in range(count)]


class BackoffTest(unittest.TestCase):
    def test_delays_grow_by_the_factor_up_to_the_cap(self):
        self.assertEqual(first(Backoff(0.1, 2.0, 0.5), 5), [0.1, 0.2, 0.4, 0.5, 0.5])

    def test_jitter_takes_up_to_its_share_off_each_delay(self):
        plain = first(Backoff(0.1, 2.0, 0.5), 8)
        jittered = first(Backoff(0.1, 2.0, 0.5, jitter=0.5), 8)
        for delay, base in zip(jittered, plain):
            self.assertTrue(base / 2 <= delay <= base, (delay, base))
        self.assertEqual(len(set(jittered[3:])), 5)      # capped delays still differ
        self.assertEqual(jittered, first(Backoff(0.1, 2.0, 0.5, jitter=0.5), 8))

    def test_a_paced_delay_is_its_share_of_the_time_waited_within_initial_and_cap(self):
        backoff = Backoff(0.25, 1.25, 10.0)
        rng = random.Random(1)
        self.assertEqual([round(backoff.paced(elapsed, rng), 6) for elapsed in
                          (0.0, 0.5, 1.0, 4.0, 20.0, 40.0, 400.0)],
                         [0.25, 0.25, 0.25, 1.0, 5.0, 10.0, 10.0])

    def test_jitter_only_shortens_a_paced_delay(self):
        backoff = Backoff(0.25, 1.25, 10.0, jitter=0.5)
        rng = random.Random(3)
        delays = [backoff.paced(8.0, rng) for _ in range(50)]
        self.assertTrue(all(1.0 <= delay <= 2.0 for delay in delays), delays)
        self.assertGreater(len(set(delays)), 40)

    def test_nonsense_is_refused(self):
        for arguments in ((0,), (1.0, 0.5), (2.0, 2.0, 1.0), (0.1, 2.0, 1.0, 1.5)):
            with self.subTest(arguments=arguments), self.assertRaises(ValueError):
                Backoff(*arguments)


class RetrierTest(unittest.TestCase):
    def setUp(self):
        self.slept = []
        self.stop = False

    def retrier(self, attempts=3):
        def sleep(seconds):
            self.slept.append(round(seconds, 6))
            return self.stop
        return Retrier(Backoff(0.1, 2.0, 1.0), attempts, rng=random.Random(0), sleep=sleep)

    def failing(self, *errors, value="done"):
        calls = []

        def call():
            calls.append(1)
            if len(calls) <= len(errors):
                raise errors[len(calls) - 1]
            return value
        return call, calls

    def test_transient_errors_are_retried_after_growing_delays(self):
        call, calls = self.failing(TransientError("429"), TransientError("503"))
        self.assertEqual(self.retrier().call("creating", call), "done")
        self.assertEqual((len(calls), self.slept), (3, [0.1, 0.2]))

    def test_a_throttled_call_waits_at_least_what_the_cloud_says(self):
        call, calls = self.failing(TransientError("RequestLimitExceeded", retry_after=1.0),
                                   TransientError("503"))
        self.assertEqual(self.retrier().call("creating", call), "done")
        self.assertEqual(self.slept, [1.0, 0.2])

    def test_what_a_cloud_asks_to_be_waited_is_capped(self):
        from occo.infraprocessor.engine.retry import LONGEST_WAIT
        call, calls = self.failing(TransientError("throttled", retry_after=float("inf")),
                                   TransientError("throttled", retry_after=float("nan")))
        self.assertEqual(self.retrier().call("creating", call), "done")
        self.assertEqual(self.slept, [LONGEST_WAIT, 0.2])

    def test_a_permanent_error_is_raised_at_once(self):
        call, calls = self.failing(PermanentError("bad image"))
        with self.assertRaises(PermanentError):
            self.retrier().call("creating", call)
        self.assertEqual((len(calls), self.slept), (1, []))

    def test_the_last_transient_error_is_raised_when_attempts_run_out(self):
        call, calls = self.failing(*[TransientError("503", hint="later")] * 5)
        with self.assertRaises(TransientError) as raised:
            self.retrier(attempts=3).call("creating", call)
        self.assertEqual(raised.exception.message, "503 (gave up after 3 attempts)")
        self.assertEqual(raised.exception.hint, "later")
        self.assertEqual(len(calls), 3)

    def test_a_sleep_cut_short_stops_the_retries(self):
        self.stop = True
        call, calls = self.failing(TransientError("503"))
        with self.assertRaises(TransientError):
            self.retrier().call("creating", call)
        self.assertEqual((len(calls), self.slept), (1, [0.1]))

    def test_attempts_must_be_positive(self):
        with self.assertRaises(ValueError):
            self.retrier(attempts=0)


class CallEachTest(unittest.TestCase):
    """A call answering many items: those that failed transiently are asked again."""

    def setUp(self):
        self.slept = []
        self.stop = False
        self.asked = []

    def retrier(self, attempts=3):
        def sleep(seconds):
            self.slept.append(round(seconds, 6))
            return self.stop
        return Retrier(Backoff(0.1, 2.0, 1.0), attempts, rng=random.Random(0), sleep=sleep)

    def cloud(self, answers):
        """Answers item -> the list of what each call answers it (the last one again)."""
        def call(items):
            self.asked.append(list(items))
            return [answers[item][min(len(self.asked), len(answers[item])) - 1]
                    for item in items]
        return call

    def test_only_the_items_that_failed_transiently_are_asked_again(self):
        bad_image = PermanentError("bad image")
        call = self.cloud({"a": ["made a"], "b": [TransientError("503"), "made b"],
                           "c": [bad_image]})
        got = self.retrier().call_each("creating", call, ["a", "b", "c"])
        self.assertEqual(got, ["made a", "made b", bad_image])
        self.assertEqual(self.asked, [["a", "b", "c"], ["b"]])
        self.assertEqual(self.slept, [0.1])

    def test_a_throttled_item_makes_the_next_call_wait_what_the_cloud_says(self):
        call = self.cloud({"a": [TransientError("Throttling", retry_after=0.7), "made a"],
                           "b": [TransientError("503"), "made b"]})
        self.assertEqual(self.retrier().call_each("creating", call, ["a", "b"]),
                         ["made a", "made b"])
        self.assertEqual(self.slept, [0.7])

    def test_a_whole_call_failing_transiently_asks_for_every_item_again(self):
        answers = iter([TransientError("503"), ["made a", "made b"]])

        def call(items):
            self.asked.append(list(items))
            answer = next(answers)
            if isinstance(answer, Exception):
                raise answer
            return answer
        self.assertEqual(self.retrier().call_each("creating", call, ["a", "b"]),
                         ["made a", "made b"])
        self.assertEqual(self.asked, [["a", "b"], ["a", "b"]])

    def test_an_item_still_failing_after_all_attempts_gets_its_last_error(self):
        call = self.cloud({"a": ["made a"], "b": [TransientError("503")]})
        got = self.retrier(attempts=3).call_each("creating", call, ["a", "b"])
        self.assertEqual(got[0], "made a")
        self.assertIsInstance(got[1], TransientError)
        self.assertIn("503 (gave up after 3 attempts)", got[1].message)
        self.assertEqual(self.asked, [["a", "b"], ["b"], ["b"]])

    def test_a_sleep_cut_short_ends_with_the_errors_so_far(self):
        self.stop = True
        call = self.cloud({"a": [TransientError("503"), "made a"]})
        (got,) = self.retrier().call_each("creating", call, ["a"])
        self.assertIsInstance(got, TransientError)
        self.assertEqual(self.asked, [["a"]])

    def test_a_permanent_failure_of_the_whole_call_is_raised(self):
        def call(items):
            raise PermanentError("bad credentials")
        with self.assertRaises(PermanentError):
            self.retrier().call_each("creating", call, ["a"])
