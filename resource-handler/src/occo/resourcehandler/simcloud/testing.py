"""A unittest base for tests that drive simcloud: one server per test class.

Shared by the tests of every component that runs nodes on simcloud (the
resource handler's own, the engine's). Faults a test sets last only for that
test: they are reset before its cleanups run, so what a test made is dropped
by a healthy cloud.
"""
from __future__ import annotations

import time
import unittest

from .process import SimCloudProcess


class SimCloudTestCase(unittest.TestCase):
    """Starts `cloud` for the class, booting instances in `BOOT_TIME` seconds."""

    BOOT_TIME = 0.2
    cloud: SimCloudProcess

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.cloud = SimCloudProcess(boot_time=cls.BOOT_TIME).start()
        cls.addClassCleanup(cls.cloud.close)

    def tearDown(self) -> None:
        self.cloud.set_faults(latency=0.0, rate_limit=None, error_rate=0.0, ghost_rate=0.0,
                              boot_time=self.BOOT_TIME)
        self.cloud.fail_next(500, 0)
        super().tearDown()

    def wait_for_the_cloud_to_settle(self, deadline: float = 30.0) -> None:
        """Until no call comes for 0.1 s: a request a killed client sent just before it
        died may still be answered."""
        end = time.monotonic() + deadline
        while True:
            before = self.cloud.stats()["calls"]
            time.sleep(0.1)
            if self.cloud.stats()["calls"] == before:
                return
            if time.monotonic() > end:
                raise AssertionError(f"simcloud still answered calls after {deadline:g} s")
