"""Limits per backend: at most N calls at once, calls spaced to the rate, shared by handlers."""
from __future__ import annotations

import threading
import unittest
from types import MappingProxyType

from occo.util.config import PluginSettings, Settings

from occo.resourcehandler.limits import Limiter, Limits, TokenBucket

from .support import Clock, run_threads


class InFlight:
    """Counts the calls inside a limiter slot; the most seen at once is `peak`."""

    def __init__(self) -> None:
        self.now = self.peak = self.calls = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.calls += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self.now -= 1


class ConcurrencyTest(unittest.TestCase):
    def test_at_most_n_calls_run_at_once_and_n_do(self):
        limiter, inside = Limiter(concurrency=3), InFlight()
        together = threading.Barrier(3, timeout=10)   # breaks unless 3 can be inside at once

        def call() -> None:
            with limiter.slot(), inside:
                together.wait()
        self.assertEqual(run_threads([call] * 12), [])
        self.assertEqual((inside.peak, inside.calls), (3, 12))

    def test_without_limits_every_caller_runs_at_once(self):
        limiter, inside = Limiter(), InFlight()
        together = threading.Barrier(8, timeout=10)

        def call() -> None:
            with limiter.slot(), inside:
                together.wait()
        self.assertEqual(run_threads([call] * 8), [])
        self.assertEqual(inside.peak, 8)

    def test_a_failing_call_gives_its_place_back(self):
        limiter = Limiter(concurrency=1)
        for _ in range(3):
            with self.assertRaises(RuntimeError), limiter.slot():
                raise RuntimeError("cloud error")
        acquired = threading.Event()

        def call() -> None:
            with limiter.slot():
                acquired.set()
        self.assertEqual(run_threads([call]), [])
        self.assertTrue(acquired.is_set())


class RateTest(unittest.TestCase):
    def test_calls_are_spaced_evenly_at_the_rate(self):
        clock, waits = Clock(), []
        limiter = Limiter(rate_per_second=4, clock=clock, sleep=waits.append)
        for _ in range(5):
            with limiter.slot():
                pass
        self.assertEqual(waits, [0.25, 0.5, 0.75, 1.0])

    def test_time_passing_pays_back_the_wait(self):
        clock, waits = Clock(), []
        limiter = Limiter(rate_per_second=2, clock=clock, sleep=waits.append)
        with limiter.slot():
            pass
        clock.now += 10          # a long pause earns no burst: at most one call at once
        for _ in range(2):
            with limiter.slot():
                pass
        self.assertEqual(waits, [0.5])

    def test_threads_share_one_schedule(self):
        clock, waits, lock = Clock(), [], threading.Lock()

        def sleep(seconds: float) -> None:
            with lock:
                waits.append(seconds)
        limiter = Limiter(rate_per_second=10, clock=clock, sleep=sleep)

        def call() -> None:
            with limiter.slot():
                pass
        self.assertEqual(run_threads([call] * 6), [])
        self.assertEqual(sorted(round(wait, 6) for wait in waits), [0.1, 0.2, 0.3, 0.4, 0.5])


class TokenBucketTest(unittest.TestCase):
    def test_try_take_refuses_beyond_the_capacity_and_says_how_long_to_wait(self):
        clock = Clock()
        bucket = TokenBucket(rate=2, capacity=2, clock=clock)
        self.assertEqual([bucket.try_take() for _ in range(3)], [0.0, 0.0, 0.5])
        clock.now += 0.5
        self.assertEqual(bucket.try_take(), 0.0)
        clock.now += 100
        self.assertEqual([bucket.try_take() for _ in range(3)], [0.0, 0.0, 0.5])

    def test_nonsense_settings_are_refused(self):
        for rate, capacity in ((0, 1), (-1, 1), (1, 0.5)):
            with self.subTest(rate=rate, capacity=capacity), self.assertRaises(ValueError):
                TokenBucket(rate, capacity)


class SharedLimitsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.limits = Limits(Settings(plugins=MappingProxyType({
            "ec2": PluginSettings(concurrency=2, rate_per_second=5.0)})))

    def test_one_backend_has_one_limiter_with_its_types_settings(self):
        limiter = self.limits.for_backend("ec2", "ec2:https://a")
        self.assertIs(self.limits.for_backend("ec2", "ec2:https://a"), limiter)
        self.assertEqual((limiter.concurrency, limiter.rate_per_second), (2, 5.0))

    def test_each_backend_gets_the_full_allowance(self):
        first = self.limits.for_backend("ec2", "ec2:https://a")
        second = self.limits.for_backend("ec2", "ec2:https://b")
        self.assertIsNot(first, second)
        self.assertEqual(second.concurrency, 2)

    def test_a_type_without_settings_is_unlimited(self):
        limiter = self.limits.for_backend("nova", "nova:https://k")
        self.assertEqual((limiter.concurrency, limiter.rate_per_second), (None, None))

    def test_threads_asking_at_once_get_the_same_limiter(self):
        found, lock = [], threading.Lock()

        def ask() -> None:
            limiter = self.limits.for_backend("ec2", "ec2:https://c")
            with lock:
                found.append(limiter)
        self.assertEqual(run_threads([ask] * 16), [])
        self.assertEqual(len({id(limiter) for limiter in found}), 1)
