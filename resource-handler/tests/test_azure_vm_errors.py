"""Azure's refusals as the contract's errors: one line naming the node and quoting Azure, with
a hint of what to fix; throttling, conflicts and 5xx transient with Azure's Retry-After;
the client secret and the admin password never shown."""
from __future__ import annotations

import os
import uuid

import certifi

from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.vm import testing as vmfake
from occo.resourcehandler.base import (Instance, PermanentError, ResourceError,
                                       TransientError)

from .azure_vm_support import FakeAzureVmCase

VM_PUT = "*/virtualMachines/*"


class CreateErrorsTest(FakeAzureVmCase):

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.vm_handler()
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def create(self, node_id: str | None = None, handler: object = None,
               **resource: object) -> Instance | ResourceError:
        node = self.vm_node(self.infra_id, node_id, **resource)
        [made] = (handler or self.handler).create_nodes([node])     # type: ignore[attr-defined]
        if isinstance(made, Instance):
            self.addCleanup(self.handler.drop_node, made)
        return made

    def refused(self, status: int, words: str, *, code: str = "", path: str = VM_PUT,
                method: str = "PUT", retry_after: int | None = None) -> ResourceError:
        self.cloud.fail_next(status, words, code=code, method=method, path=path,
                             retry_after=retry_after)
        made = self.create()
        self.assertIsInstance(made, ResourceError)
        assert isinstance(made, ResourceError)
        self.assertNotIn("\n", made.message)
        self.assertIn(words, made.message)
        self.assert_no_secret(made)
        return made

    def vm_puts(self, since: int) -> int:
        """The VM PUTs the fake answered since `since` calls."""
        return sum(1 for method, path in self.cloud.calls[since:]
                   if method == "PUT" and "/virtualMachines/" in path)

    def assert_no_secret(self, error: ResourceError) -> None:
        for secret in (fake.CLIENT_SECRET, vmfake.ADMIN_PASSWORD):
            self.assertNotIn(secret, f"{error.message} {error.hint}")

    def test_throttling_is_transient_with_azures_retry_after(self) -> None:
        error = self.refused(429, "The request is being throttled.", retry_after=7)
        self.assertIsInstance(error, TransientError)
        assert isinstance(error, TransientError)
        self.assertEqual(error.retry_after, 7.0)

    def test_a_throttled_vm_keeps_its_interface_and_the_retry_makes_one_vm(self) -> None:
        node_id = uuid.uuid4().hex
        self.cloud.fail_next(429, "The request is being throttled.", method="PUT",
                             path=VM_PUT, retry_after=1)
        self.assertIsInstance(self.create(node_id), TransientError)
        [nic] = self.of_node(node_id, vmfake.NIC_TYPE)
        self.assertIsInstance(self.create(node_id), Instance)
        self.assertEqual(len(self.of_node(node_id, vmfake.VM_TYPE)), 1)
        self.assertEqual([item.id for item in self.of_node(node_id, vmfake.NIC_TYPE)], [nic.id])

    def test_a_5xx_is_transient_and_sent_once(self) -> None:
        before = len(self.cloud.calls)
        error = self.refused(503, "The service is unavailable.")
        self.assertIsInstance(error, TransientError)
        self.assertEqual(self.vm_puts(since=before), 1,
                         "the SDK must not retry by itself: the engine does")

    def test_a_conflict_is_transient(self) -> None:
        error = self.refused(409, "Operation 'PUT' is not allowed while another operation is "
                                  "in progress.", code="OperationNotAllowed")
        self.assertIsInstance(error, TransientError)

    def test_a_size_the_location_does_not_offer_now_is_permanent(self) -> None:
        error = self.refused(409, "The requested VM size Standard_B1s is currently not "
                                  "available in location 'westeurope'.", code="SkuNotAvailable")
        self.assertIsInstance(error, PermanentError)
        self.assertIn("vm_size", error.hint or "")

    def test_a_quota_is_permanent(self) -> None:
        error = self.refused(409, "Operation could not be completed as it results in exceeding "
                                  "approved Total Regional Cores quota.",
                             code="OperationNotAllowed")
        self.assertIsInstance(error, PermanentError)
        self.assertIn("quota", error.hint or "")

    def test_forbidden_is_permanent_asking_for_a_role(self) -> None:
        error = self.refused(403, "The client does not have authorization to perform action "
                                  "'Microsoft.Compute/virtualMachines/write'.",
                             code="AuthorizationFailed")
        self.assertIsInstance(error, PermanentError)
        self.assertIn("role", error.hint or "")

    def test_an_unknown_image_names_the_node_and_the_image_and_leaves_nothing(self) -> None:
        node_id = uuid.uuid4().hex
        made = self.create(node_id, offer="no-such-offer")
        self.assertIsInstance(made, PermanentError)
        assert isinstance(made, PermanentError)
        self.assertIn(f"node {node_id}: creating the virtual machine failed: 404 "
                      "PlatformImageNotFound: The platform image 'Canonical:no-such-offer:",
                      made.message)
        self.assertIn("publisher, offer, sku and version", made.hint or "")
        self.assertEqual(self.left(), [], "a VM refused for good leaves no part behind")

    def test_an_unknown_size_says_which_key_to_check(self) -> None:
        made = self.create(vm_size="Standard_Z99")
        self.assertIsInstance(made, PermanentError)
        self.assertIn("400 InvalidParameter: The value Standard_Z99 provided for the VM size",
                      made.message)
        self.assertIn("vm_size", made.hint or "")

    def test_a_weak_password_is_permanent_and_never_shown(self) -> None:
        weak = "occopus-password"
        made = self.create(password=weak)
        self.assertIsInstance(made, PermanentError)
        self.assertIn("The supplied password must be between 6-72 characters", made.message)
        self.assertIn("password", made.hint or "")
        self.assertNotIn(weak, f"{made.message} {made.hint}")

    def test_secrets_azure_echoes_are_never_shown(self) -> None:
        echoed = (f"The value '{fake.CLIENT_SECRET}' of client secret or "
                  f"'{vmfake.ADMIN_PASSWORD}' of adminPassword is not valid.")
        for path in ("*/networkInterfaces/*", VM_PUT):
            with self.subTest(path=path):
                self.cloud.fail_next(400, echoed, code="InvalidParameter", method="PUT",
                                     path=path)
                made = self.create()
                self.assertIsInstance(made, PermanentError)
                assert isinstance(made, PermanentError)
                self.assertIn("of client secret or", made.message)
                self.assert_no_secret(made)

    def test_a_missing_network_interface_is_permanent_and_sends_no_vm(self) -> None:
        before = len(self.cloud.calls)
        made = self.create(nic_name="no-such-nic")
        self.assertIsInstance(made, PermanentError)
        self.assertIn("has no network interface 'no-such-nic'", made.message)
        self.assertIn("nic_name", made.hint or "")
        self.assertEqual(self.vm_puts(since=before), 0)

    def test_a_missing_key_or_a_bad_name_sends_nothing(self) -> None:
        before = len(self.cloud.calls)
        self.assertIn("no vm_size", self.create(vm_size="").message)
        self.assertIn("neither password nor ssh_key_data",
                      self.create(password=None).message)
        bad = self.create(server_name="web_1.")
        self.assertIn("'web_1.' cannot name an Azure VM", bad.message)
        self.assertIn("server_name", bad.hint or "")
        self.assertIn("public_ip_needed cannot be met with nic_name",
                      self.create(nic_name="my-nic", public_ip_needed=True).message)
        self.assertEqual(len(self.cloud.calls), before)

    def test_a_vm_name_taken_by_another_node_is_permanent_saying_how_to_name_them(self) -> None:
        first = self.create(server_name="myhelloworld")
        self.assertIsInstance(first, Instance)
        second = self.create(server_name="myhelloworld")
        self.assertIsInstance(second, PermanentError)
        assert isinstance(first, Instance) and isinstance(second, PermanentError)
        self.assertIn(f"a virtual machine myhelloworld, node {first.node_id}'s", second.message)
        self.assertIn("{{name}}-{{cut(node_id,0,8)}}", second.hint or "")
        self.assertEqual(len(self.cloud.resources(vmfake.VM_TYPE)), 1)

    def test_a_bad_client_secret_is_permanent_and_not_shown(self) -> None:
        wrong = "wrong-client-secret-0123456789"
        handler = self.vm_handler({**fake.CREDENTIALS, "client_secret": wrong})
        made = self.create(handler=handler)
        self.assertIsInstance(made, PermanentError)
        self.assertIn("AADSTS7000215", made.message)
        self.assertIn("auth_data", made.hint or "")
        self.assertNotIn(wrong, f"{made.message} {made.hint}")

    def test_a_missing_credential_key_is_permanent(self) -> None:
        handler = self.vm_handler({key: value for key, value in fake.CREDENTIALS.items()
                                   if key != "client_secret"})
        with self.assertRaises(PermanentError) as raised:
            handler.list_owned(self.infra_id)
        self.assertIn("no client_secret", raised.exception.message)

    def test_an_endpoint_not_https_is_refused(self) -> None:
        handler = self.vm_handler(endpoint=self.cloud.endpoint.replace("https:", "http:"))
        with self.assertRaises(PermanentError) as raised:
            handler.list_owned(self.infra_id)
        self.assertIn("must be an https URL", raised.exception.message)
        self.assertIn("endpoint", raised.exception.hint or "")

    def test_a_certificate_not_trusted_is_permanent_with_a_hint(self) -> None:
        before = os.environ["REQUESTS_CA_BUNDLE"]
        os.environ["REQUESTS_CA_BUNDLE"] = certifi.where()      # the public authorities only
        self.addCleanup(os.environ.__setitem__, "REQUESTS_CA_BUNDLE", before)
        handler = self.vm_handler()
        with self.assertRaises(PermanentError) as raised:
            handler.list_owned(self.infra_id)
        self.assertIn("certificate", raised.exception.hint or "")

    def test_an_unreachable_endpoint_is_transient(self) -> None:
        handler = self.vm_handler(endpoint="https://127.0.0.1:9")
        with self.assertRaises(TransientError) as raised:
            handler.list_owned(self.infra_id)
        self.assertNotIn(fake.CLIENT_SECRET, raised.exception.message)


class StateErrorsTest(FakeAzureVmCase):

    def test_a_throttled_poll_is_transient_with_azures_retry_after(self) -> None:
        handler = self.vm_handler()
        [instance] = handler.create_nodes([self.vm_node("infra-poll")])
        assert isinstance(instance, Instance)
        self.addCleanup(handler.drop_node, instance)
        self.cloud.fail_next(429, "Too many requests.", method="GET", retry_after=5)
        with self.assertRaises(TransientError) as raised:
            handler.get_states([instance])
        self.assertEqual(raised.exception.retry_after, 5.0)

    def test_a_secret_azure_echoes_on_a_poll_or_a_drop_is_never_shown(self) -> None:
        handler = self.vm_handler()
        [instance] = handler.create_nodes([self.vm_node("infra-echo")])
        assert isinstance(instance, Instance)
        self.addCleanup(handler.drop_node, instance)
        echoed = f"Token {fake.CLIENT_SECRET} is not valid for this call."
        for name, call, method in (("poll", lambda: handler.get_states([instance]), "GET"),
                                   ("drop", lambda: handler.drop_node(instance), "DELETE")):
            with self.subTest(name):
                self.cloud.fail_next(500, echoed, code="InternalServerError", method=method)
                with self.assertRaises(TransientError) as raised:
                    call()
                self.assertIn("is not valid for this call", raised.exception.message)
                self.assertNotIn(fake.CLIENT_SECRET, raised.exception.message)
