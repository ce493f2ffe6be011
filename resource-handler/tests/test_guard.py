"""The face the engine calls plugins through: limits, failures classified, secrets hidden."""
from __future__ import annotations

import threading
import unittest
from types import MappingProxyType

from occo.util.config import PluginSettings, Settings
from occo.util.errors import ConfigurationError
from occo.util.nodes import NodeState, ResolvedNode
from occo.util.schema import Field, Schema

from occo.resourcehandler.base import (GONE, Capabilities, Instance, PermanentError,
                                       ResourceHandler, ResourceStatus, TransientError)
from occo.resourcehandler.guard import HandlerUnavailable, ResourceHandlers
from occo.resourcehandler.simcloud.plugin import SimCloudHandler

from .simcloud_support import SimCloudCase
from .support import run_threads
from .test_limits import InFlight

INSTANCE = Instance("infra", "node", "i-1")


def _connection_keys(*names: str) -> dict[str, Field]:
    return {name: Field("any", connection=True) for name in names}


class ScriptedHandler(ResourceHandler):
    """A test double of a plugin: `get_states` raises `raise` of its connection, or waits at a
    barrier; `answers` says how many answers it gives."""

    type_name = "scripted"
    schema = Schema("resource scripted", {
        "type": Field("str"), "image": Field("str"),
        **_connection_keys("endpoint", "name", "raise", "inside", "together", "broken",
                           "answers", "vnc_password")})
    capabilities = Capabilities(states_per_call=3)

    def __init__(self, connection):
        if connection.settings.get("broken"):
            raise ValueError(f"cannot use {dict(connection.credentials)}")
        super().__init__(connection)
        self.closed = False
        self.inside = connection.settings.get("inside")

    def get_states(self, instances):
        settings = self.connection.settings
        if "raise" in settings:
            raise settings["raise"]
        if "answers" in settings:
            return [GONE] * settings["answers"]
        with self.inside:
            settings["together"].wait()
        return [ResourceStatus(NodeState.READY)] * len(instances)

    def close(self):
        self.closed = True

    create_nodes = drop_node = list_owned = None  # not called


def load(type_name: str) -> type[ResourceHandler]:
    return {"scripted": ScriptedHandler, "simcloud": SimCloudHandler}[type_name]


class ClassificationTest(unittest.TestCase):
    def setUp(self) -> None:
        self.handlers = ResourceHandlers(Settings(), load=load)
        self.addCleanup(self.handlers.close)

    def state_raising(self, error: Exception, auth_data=None, **resource):
        handler = self.handlers.for_resource({"type": "scripted", "raise": error, **resource},
                                             auth_data)
        return handler.get_states([INSTANCE])

    def test_resource_errors_pass_as_they_are(self):
        for error in (TransientError("rate limited"), PermanentError("no such image")):
            with self.subTest(error), self.assertRaises(type(error)) as raised:
                self.state_raising(error)
            self.assertIs(raised.exception, error)

    def test_any_other_exception_is_a_permanent_error_naming_the_plugin(self):
        with self.assertLogs("occo.resourcehandler", "WARNING") as logged, \
                self.assertRaises(PermanentError) as raised:
            self.state_raising(KeyError("instanceId"), name="my-cloud")
        message = raised.exception.message
        self.assertEqual(message, "[my-cloud] get_states failed unexpectedly: KeyError: "
                                  "'instanceId'")
        self.assertIn("bug in the scripted plugin", raised.exception.hint)
        self.assertIn("Traceback", logged.output[0])

    def test_an_occo_error_keeps_its_hint(self):
        with self.assertLogs("occo.resourcehandler", "WARNING"), \
                self.assertRaises(PermanentError) as raised:
            self.state_raising(ConfigurationError("bad key file", hint="check key_name"))
        self.assertEqual(raised.exception.message, "[scripted] get_states failed unexpectedly: "
                                                   "ConfigurationError: bad key file")
        self.assertEqual(raised.exception.hint, "check key_name")

    def test_secrets_are_hidden_from_the_message_and_the_log(self):
        error = RuntimeError("login s3cr3t-pw failed at https://bob:hunter22@cloud/api "
                             "with vnc pass vnc-secret")
        with self.assertLogs("occo.resourcehandler", "WARNING") as logged, \
                self.assertRaises(PermanentError) as raised:
            self.state_raising(error, {"username": "bob", "password": "s3cr3t-pw"},
                               vnc_password="vnc-secret")
        for text in (raised.exception.message, "\n".join(logged.output)):
            for secret in ("s3cr3t-pw", "hunter22", "vnc-secret"):
                self.assertNotIn(secret, text)
        self.assertIn("login *** failed at https://bob:***@cloud/api", raised.exception.message)
        self.assertIsNone(raised.exception.__cause__)
        self.assertTrue(raised.exception.__suppress_context__)

    def test_a_resource_error_quoting_a_secret_has_it_hidden(self):
        error = PermanentError("cannot fetch https://bob:hunter22@images.example/x.tar with "
                               "key s3cr3t-pw", hint="check https://bob:hunter22@images.example")
        with self.assertRaises(PermanentError) as raised:
            self.state_raising(error, {"password": "s3cr3t-pw"})
        self.assertIs(raised.exception, error)
        self.assertEqual(raised.exception.message, "cannot fetch https://bob:***@images.example/"
                                                   "x.tar with key ***")
        self.assertEqual(str(raised.exception).count("hunter22"), 0)
        self.assertNotIn("hunter22", raised.exception.hint)

    def test_a_handler_that_cannot_be_built_is_a_permanent_error_without_its_secrets(self):
        with self.assertLogs("occo.resourcehandler", "WARNING"), \
                self.assertRaises(PermanentError) as raised:
            self.handlers.for_resource({"type": "scripted", "broken": True},
                                       {"secret_key": "abcdef123"})
        self.assertIn("[scripted] building the handler failed unexpectedly: ValueError",
                      raised.exception.message)
        self.assertNotIn("abcdef123", raised.exception.message)


class BatchCheckTest(unittest.TestCase):
    def setUp(self) -> None:
        self.handlers = ResourceHandlers(Settings(), load=load)

    def test_a_call_never_carries_more_than_the_plugin_declares(self):
        handler = self.handlers.for_resource({"type": "scripted", "answers": 4})
        for count in (0, 4):
            with self.subTest(count), self.assertRaises(ValueError) as raised:
                handler.get_states([INSTANCE] * count)
            self.assertIn(f"takes 1 to 3 items a call, not {count}", str(raised.exception))

    def test_a_wrong_number_of_answers_is_a_plugin_bug(self):
        handler = self.handlers.for_resource({"type": "scripted", "answers": 1})
        with self.assertRaises(PermanentError) as raised:
            handler.get_states([INSTANCE, INSTANCE])
        self.assertIn("get_states gave 1 answers for 2 items: a bug in the scripted plugin",
                      raised.exception.message)

    def test_what_describes_the_handler_is_read_from_it_and_nothing_else(self):
        handler = self.handlers.for_resource({"type": "scripted", "endpoint": "e"})
        self.assertEqual((handler.label, handler.capabilities.states_per_call), ("e", 3))
        self.assertEqual(handler.get_states.__doc__, ScriptedHandler.get_states.__doc__)
        for hidden in ("inside", "close", "_not_there"):
            with self.subTest(hidden), self.assertRaises(AttributeError):
                getattr(handler, hidden)

    def test_a_status_that_is_not_a_resource_status_is_a_plugin_bug(self):
        handler = self.handlers.for_resource({"type": "scripted", "answers": 1,
                                              "image": "wrong"})
        handler.handler.get_states = lambda instances: ["ready"]
        with self.assertRaises(PermanentError) as raised:
            handler.get_states([INSTANCE])
        self.assertIn("get_states answered str, not a ResourceStatus", raised.exception.message)

    def test_a_type_without_a_plugin_is_a_handler_unavailable(self):
        handlers = ResourceHandlers(Settings())
        self.addCleanup(handlers.close)
        with self.assertRaises(HandlerUnavailable) as raised:
            handlers.for_resource({"type": "vmware", "endpoint": "https://vcenter"})
        self.assertIn("no resource type 'vmware' is installed", raised.exception.message)


class HandlerKeepingTest(unittest.TestCase):
    def setUp(self) -> None:
        self.handlers = ResourceHandlers(Settings(), load=load)

    def test_one_handler_per_connection_whatever_the_launch_parameters(self):
        section = {"type": "scripted", "endpoint": "e", "image": "debian"}
        first = self.handlers.for_resource(section, {"token": "t"})
        for same in (dict(reversed(section.items())), dict(section, image="alpine"),
                     {"type": "scripted", "endpoint": "e"}):
            with self.subTest(same):
                self.assertIs(self.handlers.for_resource(same, {"token": "t"}), first)
        self.assertIsNot(self.handlers.for_resource(section, {"token": "other"}), first)
        self.assertIsNot(self.handlers.for_resource(dict(section, endpoint="f"),
                                                    {"token": "t"}), first)
        self.assertEqual(dict(first.connection.settings), {"endpoint": "e"})

    def test_close_closes_every_kept_handler_and_forgets_it(self):
        with self.handlers as handlers:
            first = handlers.for_resource({"type": "scripted", "endpoint": "e"})
        self.assertTrue(first.handler.closed)
        self.assertIsNot(self.handlers.for_resource({"type": "scripted", "endpoint": "e"}), first)


class BackendLimitTest(unittest.TestCase):
    def test_handlers_of_one_backend_share_its_concurrency(self):
        settings = Settings(plugins=MappingProxyType({"scripted": PluginSettings(concurrency=2)}))
        handlers = ResourceHandlers(settings, load=load)
        inside = InFlight()
        together = threading.Barrier(2, timeout=10)
        guarded = [handlers.for_resource({"type": "scripted", "endpoint": "cloud-a", "name": name,
                                          "inside": inside, "together": together})
                   for name in ("web", "db")]
        self.assertIs(guarded[0].limiter, guarded[1].limiter)
        turns = iter(guarded * 4)
        lock = threading.Lock()

        def call() -> None:
            with lock:
                handler = next(turns)
            handler.get_states([INSTANCE])
        self.assertEqual(run_threads([call] * 8), [])
        self.assertEqual((inside.peak, inside.calls), (2, 8))

    def test_another_endpoint_has_a_limiter_of_its_own(self):
        settings = Settings(plugins=MappingProxyType({"scripted": PluginSettings(concurrency=1)}))
        handlers = ResourceHandlers(settings, load=load)
        first = handlers.for_resource({"type": "scripted", "endpoint": "a"})
        second = handlers.for_resource({"type": "scripted", "endpoint": "b"})
        self.assertIsNot(first.limiter, second.limiter)
        self.assertEqual(second.limiter.concurrency, 1)


class InstalledPluginTest(SimCloudCase):
    def test_the_installed_simcloud_plugin_works_through_the_guard(self):
        with ResourceHandlers(Settings()) as handlers:
            handler = handlers.for_resource(self.cloud.resource())
            self.assertIsInstance(handler.handler, SimCloudHandler)
            node = ResolvedNode("guarded-infra", "g", "u", "guarded-node", "web",
                                self.cloud.resource())
            [instance] = handler.create_nodes([node])
            self.assertEqual(handler.list_owned("guarded-infra"), [instance])
            handler.drop_node(instance)
            self.assertEqual(handler.get_states([instance]), [GONE])
            self.assertEqual(handler.label, self.cloud.url)
            self.assertEqual(handler.backend_key, f"simcloud:{self.cloud.url}")
