"""A FakeAzure per test class, trusted through REQUESTS_CA_BUNDLE: what the azure_vm and
azure_aci tests share (`azure_vm_support`, `azure_aci_support` add their handlers and nodes)."""
from __future__ import annotations

import unittest
from typing import ClassVar

from occo.resourcehandler.azure.testing import FakeAzure


class FakeAzureCase(unittest.TestCase):
    """`cloud`: the fake for the class (`make_cloud`), cleared (resources, faults, a failure
    asked of the type's resources: `clear_failure`) before each test."""

    cloud: ClassVar[FakeAzure]
    BOOT_SECONDS: ClassVar[float] = 0.2
    DELETE_SECONDS: ClassVar[float] = 0.0

    @classmethod
    def make_cloud(cls) -> FakeAzure:
        """The fake of the type's resources, not started."""
        raise NotImplementedError

    def clear_failure(self) -> None:
        """Make the type's resources boot as asked again."""
        raise NotImplementedError

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.cloud = cls.make_cloud().start()
        cls.addClassCleanup(cls.cloud.stop)
        cls.enterClassContext(cls.cloud.trusting())

    def setUp(self) -> None:
        super().setUp()
        self.cloud.clear()
        self.clear_failure()

    def calls(self, method: str, pattern: str) -> int:
        """How many calls of `method` on a path ending in `pattern` the fake answered."""
        return sum(1 for made, path in self.cloud.calls
                   if made == method and path.endswith(pattern))
