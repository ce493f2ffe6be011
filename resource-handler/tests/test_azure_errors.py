"""`azure.errors.classify` of an operation Azure took and then failed: the SDK raises it with
the poll's status (200), so its Azure error code, not that status, says what it is."""
from __future__ import annotations

import uuid

from azure.core.exceptions import HttpResponseError
from azure.mgmt.network.models import AddressSpace, VirtualNetwork

from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.errors import (OPERATION_TRANSIENT, QUOTA_HINT, REQUEST_HINT,
                                               classify)
from occo.resourcehandler.base import PermanentError, ResourceError, TransientError

from .azure_network_support import FakeNetworkCase


class FailedOperationTest(FakeNetworkCase):

    def failed(self, code: str, message: str, **hints: str) -> ResourceError | None:
        """What classify makes of a network's create whose operation failed with `code`."""
        self.cloud.fail_next_operation(code, message, method="PUT", path="*/virtualNetworks/*")
        network = VirtualNetwork(location=fake.LOCATION,
                                 address_space=AddressSpace(address_prefixes=["10.0.0.0/16"]))
        with self.assertRaises(HttpResponseError) as raised:
            self.client.virtual_networks.begin_create_or_update(
                fake.RESOURCE_GROUP, f"net-{uuid.uuid4().hex[:8]}", network).result()
        self.assertEqual(raised.exception.status_code, 200)
        return classify(raised.exception, where="[test]", operation="making the network",
                        secrets={fake.CLIENT_SECRET}, hints=hints)

    def test_a_server_side_or_preempted_failure_is_transient(self) -> None:
        for code in sorted(OPERATION_TRANSIENT):
            with self.subTest(code=code):
                error = self.failed(code, "Please try again.")
                self.assertIsInstance(error, TransientError)
                assert error is not None
                self.assertEqual(error.message, "[test]: making the network failed: the "
                                                f"operation failed with {code}: Please try again.")

    def test_any_other_code_is_permanent_with_the_hint_of_its_code(self) -> None:
        error = self.failed("InvalidAddressSpace", "The address space overlaps.",
                            InvalidAddressSpace="choose another address space")
        self.assertIsInstance(error, PermanentError)
        assert error is not None
        self.assertEqual(error.hint, "choose another address space")
        error = self.failed("NetcfgInvalidSubnet", "The subnet is not valid.")
        self.assertIsInstance(error, PermanentError)
        assert error is not None
        self.assertEqual(error.hint, REQUEST_HINT)

    def test_a_quota_used_up_is_permanent_asking_for_quota(self) -> None:
        error = self.failed("QuotaExceeded", "Operation results in exceeding quota limits.")
        self.assertIsInstance(error, PermanentError)
        assert error is not None
        self.assertEqual(error.hint, QUOTA_HINT)

    def test_the_cloud_s_words_are_one_line_without_the_client_secret(self) -> None:
        error = self.failed("InternalServerError", f"Failed for {fake.CLIENT_SECRET}\tnow")
        assert error is not None
        self.assertNotIn(fake.CLIENT_SECRET, error.message)
        self.assertIn("Failed for", error.message)
        self.assertNotIn("\t", error.message)
