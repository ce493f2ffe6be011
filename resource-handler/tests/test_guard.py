"""The face the engine calls plugins through: limits, failures classified, secrets hidden."""
from __future__ import annotations

import threading
import unittest
from types import MappingProxyType

from occo.util.config import PluginSettings, Settings
from occo.util.errors import ConfigurationError
from occo.util.nodes import NodeState, ResolvedNode
from occo.util.schema import Schema

from occo.resourcehandler.base import (Instance, PermanentError, ResourceHandler,
                                       TransientError)
from occo.resourcehandler.guard import ResourceHandlers
from occo.resourcehandler.simcloud.plugin import SimCloudHandler

from .simcloud_support import SimCloudCase
from .support import run_threads
from .test_limits import InFlight

INSTANCE = Instance("infra", "node", "i-1")


class ScriptedHandler(ResourceHandler):
    """A test double of a plugin: `get_state` raises `resource["raise"]`, or waits at a barrier."""

    type_name = "scripted"
    schema = Schema("resource scripted", {})
    built: list["ScriptedHandler"] = []

    def __init__(self, resource, auth_data=None):
        if resource.get("broken"):
            raise ValueError(f"cannot use {auth_data}")
        super().__init__(resource, auth_data)
        self.closed = False
        self.inside = resource.get("inside")

    def get_state(self, instance):
        if "raise" in self.resource:
            raise self.resource["raise"]
        with self.inside:
            self.resource["together"].wait()
        return NodeState.READY

    def close(self):
        self.closed = True

    create_node = drop_node = get_address = get_ip_address = list_owned = None  # not called


def load(type_name: str) -> type[ResourceHandler]:
    return {"scripted": ScriptedHandler, "simcloud": SimCloudHandler}[type_name]


class ClassificationTest(unittest.TestCase):
    def setUp(self) -> None:
        self.handlers = ResourceHandlers(Settings(), load=load)
        self.addCleanup(self.handlers.close)

    def state_raising(self, error: Exception, auth_data=None, **resource):
        handler = self.handlers.for_resource({"type": "scripted", "raise": error, **resource},
                                             auth_data)
        return handler.get_state(INSTANCE)

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
        self.assertEqual(message, "[my-cloud] get_state failed unexpectedly: KeyError: "
                                  "'instanceId'")
        self.assertIn("bug in the scripted plugin", raised.exception.hint)
        self.assertIn("Traceback", logged.output[0])

    def test_an_occo_error_keeps_its_hint(self):
        with self.assertLogs("occo.resourcehandler", "WARNING"), \
                self.assertRaises(PermanentError) as raised:
            self.state_raising(ConfigurationError("bad key file", hint="check key_name"))
        self.assertEqual(raised.exception.message, "[scripted] get_state failed unexpectedly: "
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

    def test_a_handler_that_cannot_be_built_is_a_permanent_error_without_its_secrets(self):
        with self.assertLogs("occo.resourcehandler", "WARNING"), \
                self.assertRaises(PermanentError) as raised:
            self.handlers.for_resource({"type": "scripted", "broken": True},
                                       {"secret_key": "abcdef123"})
        self.assertIn("[scripted] building the handler failed unexpectedly: ValueError",
                      raised.exception.message)
        self.assertNotIn("abcdef123", raised.exception.message)


class HandlerKeepingTest(unittest.TestCase):
    def setUp(self) -> None:
        self.handlers = ResourceHandlers(Settings(), load=load)

    def test_one_handler_per_section_and_credentials(self):
        section = {"type": "scripted", "endpoint": "e", "tags": {"a": "1", "b": "2"}}
        first = self.handlers.for_resource(section, {"token": "t"})
        self.assertIs(self.handlers.for_resource(dict(reversed(section.items())), {"token": "t"}),
                      first)
        self.assertIsNot(self.handlers.for_resource(section, {"token": "other"}), first)
        self.assertIsNot(self.handlers.for_resource(dict(section, endpoint="f"),
                                                    {"token": "t"}), first)

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
            handler.get_state(INSTANCE)
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
            instance = handler.create_node(node)
            self.assertEqual(handler.list_owned("guarded-infra"), [instance])
            handler.drop_node(instance)
            self.assertIs(handler.get_state(instance), NodeState.SHUTDOWN)
            self.assertEqual(handler.label, self.cloud.url)
            self.assertEqual(handler.backend_key, f"simcloud:{self.cloud.url}")
