"""Azure's refusals as the contract's errors: one line naming the node and quoting Azure, the
client secret never in them; throttling, conflicts and 5xx transient with Azure's Retry-After;
what the section gets wrong refused before anything is sent, saying what to write."""
from __future__ import annotations

import logging
import os
import uuid
from typing import Any
from unittest import mock

from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.credentials import CREDENTIALS_HINT
from occo.resourcehandler.azure.errors import PERMISSION_HINT
from occo.resourcehandler.azure.fakenetwork import NETWORK_TYPE
from occo.resourcehandler.azure.aci.handler import AciHandler
from occo.resourcehandler.base import Instance, PermanentError, ResourceError, TransientError
from occo.resourcehandler.httpanswers import CERTIFICATE_HINT

from .azure_aci_support import FakeAciCase

GROUPS = "*/containerGroups/*"


class AciErrorsCase(FakeAciCase):

    def setUp(self) -> None:
        super().setUp()
        self.handler = self.aci_handler()
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def create(self, handler: AciHandler | None = None, node_id: str | None = None,
               **resource: Any) -> Instance | ResourceError:
        handler = handler or self.handler
        node = self.aci_node(self.infra_id, node_id or uuid.uuid4().hex, **resource)
        [made] = handler.create_nodes([node])
        if isinstance(made, Instance):
            self.addCleanup(handler.drop_node, made)
        else:
            self.assertNotIn("\n", made.message)
            self.assertNotIn(fake.CLIENT_SECRET, made.message + str(made.hint))
        return made

    def refused(self, status: int, words: str, *, code: str = "",
                retry_after: int | None = None, **resource: Any) -> ResourceError:
        before = self.calls("PUT", "")
        self.cloud.fail_next(status, words, code=code, method="PUT", path=GROUPS,
                             retry_after=retry_after)
        made = self.create(**resource)
        self.assertIsInstance(made, ResourceError)
        assert isinstance(made, ResourceError)
        self.assertIn(words, made.message)
        self.assertEqual(self.calls("PUT", "") - before, 1,
                         "the SDK must not retry by itself: the engine does")
        self.assertEqual(self.groups_of(self.infra_id), [])
        return made


class CloudRefusalTest(AciErrorsCase):

    def test_a_wrong_client_secret_is_permanent_asking_for_the_credentials(self) -> None:
        wrong = "a-wrong-client-secret-0123456789"
        handler = self.aci_handler({**fake.CREDENTIALS, "client_secret": wrong})
        made = self.create(handler)
        self.assertIsInstance(made, PermanentError)
        self.assertIn("AADSTS7000215: Invalid client secret provided", made.message)
        self.assertNotIn(wrong, made.message)
        self.assertEqual(made.hint, CREDENTIALS_HINT)

    def test_a_missing_credential_is_permanent_naming_it(self) -> None:
        credentials = {key: value for key, value in fake.CREDENTIALS.items()
                       if key != "client_secret"}
        made = self.create(self.aci_handler(credentials))
        self.assertIsInstance(made, PermanentError)
        self.assertIn("have no client_secret", made.message)

    def test_forbidden_is_permanent_asking_for_a_role(self) -> None:
        error = self.refused(403, "The client does not have authorization to perform action "
                                  "'Microsoft.ContainerInstance/containerGroups/write'",
                             code="AuthorizationFailed")
        self.assertIsInstance(error, PermanentError)
        self.assertIn("403 AuthorizationFailed", error.message)
        self.assertEqual(error.hint, PERMISSION_HINT)

    def test_an_image_azure_cannot_pull_names_the_node_and_says_what_to_fix(self) -> None:
        node_id = uuid.uuid4().hex
        made = self.create(node_id=node_id, image="no-such-image:1.0")
        self.assertIsInstance(made, PermanentError)
        self.assertIn(f"node {node_id}: creating the container group failed: 400 "
                      "InaccessibleImage: The image 'no-such-image:1.0'", made.message)
        self.assertIn("check image", made.hint or "")
        self.assertEqual(self.groups_of(self.infra_id), [])

    def test_a_private_group_in_a_subnet_not_delegated_is_refused_saying_so(self) -> None:
        made = self.create(network_type="Private", vnet_name=f"occopus-{self.infra_id}",
                           subnet_name="default")
        self.assertIsInstance(made, PermanentError)     # the infrastructure has no network yet
        self.assertIn("has no virtual network", made.message)
        self.create(network_type="Private")             # makes it, with its subnets
        made = self.create(network_type="Private", vnet_name=f"occopus-{self.infra_id}",
                           subnet_name="default")
        self.assertIsInstance(made, PermanentError)
        self.assertIn("400 SubnetMissingRequiredDelegation", made.message)
        self.assertIn("subnet_name", made.hint or "")

    def test_a_resource_group_gone_meanwhile_is_permanent_naming_it(self) -> None:
        error = self.refused(404, "Resource group 'occopus-tests' could not be found.",
                             code="ResourceGroupNotFound")
        self.assertIsInstance(error, PermanentError)
        self.assertIn("404 ResourceGroupNotFound", error.message)
        self.assertIn("resource_group must name a resource group", error.hint or "")

    def test_a_conflict_is_transient(self) -> None:
        error = self.refused(409, "Another operation on this container group is in progress.",
                             code="Conflict")
        self.assertIsInstance(error, TransientError)

    def test_a_conflict_over_a_quota_is_permanent(self) -> None:
        """A retry cannot end it: the engine must not wait for it."""
        cases = {"OperationNotAllowed": "quota (e.g. of cores",
                 "ContainerGroupQuotaReached": "quota of container groups"}
        for code, hint in cases.items():
            with self.subTest(code=code):
                error = self.refused(409, "Resource type 'Microsoft.ContainerInstance/"
                                          "containerGroups' has reached the quota 'StandardCores'"
                                          " of the region.", code=code)
                self.assertIsInstance(error, PermanentError)
                self.assertIn(hint, error.hint or "")

    def test_a_conflict_over_a_size_is_permanent(self) -> None:
        error = self.refused(409, "The requested size is currently not available.",
                             code="SkuNotAvailable")
        self.assertIsInstance(error, PermanentError)

    def test_the_nodes_environment_is_not_quoted_but_a_short_value_is(self) -> None:
        """Azure may quote what a group was given: an environment value (a token, say) is
        hidden, but one too short to be a secret stays, lest every word with it be cut up."""
        self.cloud.fail_next(400, "The environment variable TOKEN=tok-0123456789 or DEBUG=on is "
                                  "not valid.", code="InvalidEnvironmentVariable", method="PUT",
                             path=GROUPS)
        made = self.create(contextualisation={
            "type": "docker", "env": ["TOKEN=tok-0123456789", "DEBUG=on"], "command": ["true"]})
        self.assertIsInstance(made, PermanentError)
        self.assertNotIn("tok-0123456789", made.message)
        self.assertIn("TOKEN=", made.message)
        self.assertIn("DEBUG=on is not valid", made.message)

    def test_neither_the_client_secret_nor_an_environment_value_is_quoted(self) -> None:
        token = "tok-abcdef-0123456789"
        self.cloud.fail_next(400, f"Bad request: secret {fake.CLIENT_SECRET}, env TOKEN={token}",
                             code="InvalidParameter", method="PUT", path=GROUPS)
        made = self.create(contextualisation={"type": "docker", "env": [f"TOKEN={token}"]})
        self.assertIsInstance(made, PermanentError)
        self.assertIn("Bad request: secret", made.message)
        for secret in (fake.CLIENT_SECRET, token):
            self.assertNotIn(secret, made.message)
            self.assertNotIn(secret, str(made.hint))

    def test_the_networks_create_failing_in_azure_is_told_by_its_code(self) -> None:
        """Azure took the network's PUT, then its operation failed: the poll answers 200, the
        error's code says whether a retry may help; the retry makes the network afresh."""
        node_id = uuid.uuid4().hex
        self.cloud.fail_next_operation("InternalServerError", "An error occurred.",
                                       method="PUT", path="*/virtualNetworks/*")
        made = self.create(node_id=node_id, network_type="Private")
        self.assertIsInstance(made, TransientError)
        self.assertIn("the operation failed with InternalServerError: An error occurred.",
                      made.message)
        self.assertNotIn("200", made.message)
        self.assertIsInstance(self.create(node_id=node_id, network_type="Private"), Instance)
        node_infra = self.infra_id
        self.cloud.fail_next_operation("InvalidAddressSpace", "The address space overlaps.",
                                       method="PUT", path="*/virtualNetworks/*")
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"
        made = self.create(network_type="Private")
        self.assertIsInstance(made, PermanentError)
        self.assertIn("InvalidAddressSpace: The address space overlaps.", made.message)
        self.assertEqual([network.name for network in self.cloud.resources(NETWORK_TYPE)],
                         [f"occopus-{node_infra}"], "the failed network is not left behind")

    def test_throttling_is_transient_with_azures_retry_after(self) -> None:
        error = self.refused(429, "Too many requests", retry_after=7)
        self.assertIsInstance(error, TransientError)
        assert isinstance(error, TransientError)
        self.assertEqual(error.retry_after, 7.0)

    def test_a_throttled_look_at_the_resource_group_is_transient_and_logs_no_traceback(self):
        """Azure answers a HEAD without a body: the SDK's traceback of that is not logged."""
        sdk = logging.getLogger("azure.mgmt")
        self.addCleanup(sdk.setLevel, sdk.level)
        sdk.setLevel(logging.NOTSET)            # as in a process where no handler was built
        handler = self.aci_handler()
        self.cloud.fail_next(429, "Too many requests", method="HEAD", path="*/resourcegroups/*",
                             retry_after=3)
        with self.assertNoLogs("azure", "WARNING"):
            error = self.create(handler)
        self.assertIsInstance(error, TransientError)
        assert isinstance(error, TransientError)
        self.assertIn("making sure of the resource group failed: 429", error.message)
        self.assertEqual(error.retry_after, 3.0)

    def test_a_5xx_is_transient_and_sent_once(self) -> None:
        for status in (500, 503):
            with self.subTest(status=status):
                error = self.refused(status, "The service is unavailable right now.")
                self.assertIsInstance(error, TransientError)

    def test_throttling_then_a_retry_makes_one_group(self) -> None:
        """What the engine does with a throttled create: retry it later; one group results."""
        node_id = uuid.uuid4().hex
        self.cloud.fail_next(429, "Too many requests", method="PUT", path=GROUPS)
        self.assertIsInstance(self.create(node_id=node_id), TransientError)
        self.assertIsInstance(self.create(node_id=node_id), Instance)
        self.assertEqual(len(self.groups_of(self.infra_id, node_id)), 1)

    def test_a_failing_list_is_transient_for_the_whole_batch(self) -> None:
        instance = self.create()
        assert isinstance(instance, Instance)
        self.cloud.fail_next(503, "The service is unavailable right now.", method="GET",
                             path="*/containerGroups")
        with self.assertRaises(TransientError) as raised:
            self.handler.get_states([instance])
        self.assertIn("listing container groups failed: 503", raised.exception.message)


class ConnectionTest(AciErrorsCase):

    def test_an_endpoint_not_https_is_refused_before_signing_in(self) -> None:
        before = len(self.cloud.calls)
        endpoint = self.cloud.endpoint.replace("https://", "http://")
        made = self.create(self.aci_handler(endpoint=endpoint), endpoint=endpoint)
        self.assertIsInstance(made, PermanentError)
        self.assertIn("must be an https URL", made.message)
        self.assertIn("https://management.azure.com", made.hint or "")
        self.assertEqual(len(self.cloud.calls), before)

    def test_a_certificate_not_trusted_is_permanent_saying_so(self) -> None:
        # the endpoint by another name, so that its metadata is read afresh, and the same one
        # (its metadata known): the sign-in then meets the certificate
        by_name = self.cloud.endpoint.replace("127.0.0.1", "localhost")
        for endpoint in (by_name, self.cloud.endpoint):
            with self.subTest(endpoint=endpoint), mock.patch.dict(os.environ):
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
                made = self.create(self.aci_handler(endpoint=endpoint), endpoint=endpoint)
                self.assertIsInstance(made, PermanentError)
                self.assertIn("CERTIFICATE_VERIFY_FAILED", made.message)
                self.assertEqual(made.hint, CERTIFICATE_HINT)

    def test_an_unreachable_endpoint_is_transient(self) -> None:
        handler = self.aci_handler(endpoint="https://127.0.0.1:9")
        with self.assertRaises(TransientError):
            handler.list_owned(self.infra_id)

    def test_a_sign_in_service_in_trouble_is_transient(self) -> None:
        self.cloud.fail_next(503, "The sign-in service is unavailable.",
                             path="*/oauth2/v2.0/token")
        handler = self.aci_handler()
        with self.assertRaises(TransientError) as raised:
            handler.list_owned(self.infra_id)
        self.assertIn("HTTP Error: 503", raised.exception.message)
        self.assertNotIn(fake.CLIENT_SECRET, raised.exception.message)


class SectionTest(AciErrorsCase):
    """Values no container group can take: refused with what to write, nothing sent."""

    def test_each_bad_value_is_refused_before_anything_is_sent(self) -> None:
        cases: dict[str, tuple[dict[str, Any], str, str]] = {
            "network": ({"network_type": "internet"}, "network_type is 'internet'",
                        "Public or Private"),
            "os": ({"os_type": "bsd"}, "os_type is 'bsd'", "Linux or Windows"),
            "cpu": ({"cpu_cores": "two"}, "cpu_cores must be a number above 0, not 'two'",
                    "cpu_cores: 1"),
            "memory": ({"memory": 0}, "memory must be a number above 0, not 0", "memory: 1.5"),
            "port": ({"ports": [80, "99999"]}, "ports has '99999'", "1 to 65535"),
            "protocol": ({"ports": ["53/SCTP"]}, "ports has '53/SCTP'", "/UDP"),
            "gpu": ({"gpu_type": "A100"}, "gpu_type is 'A100'", "K80, P100 or V100"),
            "gpu count": ({"gpu_type": "K80", "gpu_count": "many"}, "gpu_count must be",
                          "gpu_count: 1"),
            "missing": ({"image": ""}, "the resource section has no image", "azure_aci"),
        }
        before = len(self.cloud.calls)
        for name, (resource, said, hint) in cases.items():
            with self.subTest(name):
                made = self.create(**resource)
                self.assertIsInstance(made, PermanentError)
                self.assertIn(said, made.message)
                self.assertIn(hint, made.hint or "")
        self.assertEqual(len(self.cloud.calls), before)

    def test_a_bad_environment_or_command_is_refused(self) -> None:
        for section, said in (({"type": "docker", "env": ["no-equals-sign"]}, "without NAME="),
                              ({"type": "docker", "command": "sh -c 'unclosed"},
                               "cannot be split"),
                              ({"type": "docker", "command": 7}, "a string or a list")):
            with self.subTest(section=section):
                made = self.create(contextualisation=section)
                self.assertIsInstance(made, PermanentError)
                self.assertIn(said, made.message)
