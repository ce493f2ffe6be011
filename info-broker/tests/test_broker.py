import threading
import unittest
from importlib.metadata import EntryPoint
from unittest import mock

from occo.infobroker import broker
from occo.infobroker.broker import (InfoArgumentError, InfoKeyError, InfoProvider, InfoRouter,
                                    ProviderError, load_providers, provides)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class NodeProvider(InfoProvider):
    """Counts its calls, so that tests can see when the router asks it."""

    def __init__(self):
        self.calls = []

    @provides("node.state", ttl=10)
    def state(self, node_id, instance_data=None):
        self.calls.append(("node.state", node_id))
        return {"node_id": node_id, "call": len(self.calls)}

    @provides("node.address")
    def address(self, node_id):
        self.calls.append(("node.address", node_id))
        return f"10.0.0.{len(self.calls)}"


class InfraProvider(InfoProvider):
    def __init__(self, store, limit=3):
        self.store = store
        self.limit = limit

    @provides("infrastructure.name")
    def name(self, infra_id):
        return self.store[infra_id]


class Unhashable:
    __hash__ = None


class RoutingTest(unittest.TestCase):
    def setUp(self):
        self.nodes = NodeProvider()
        self.router = InfoRouter([self.nodes, InfraProvider({"i1": "web"})])

    def test_keys_lists_every_providers_keys(self):
        self.assertEqual(self.router.keys(), ["infrastructure.name", "node.address", "node.state"])

    def test_each_key_goes_to_its_provider(self):
        self.assertEqual(self.router.get("infrastructure.name", infra_id="i1"), "web")
        self.assertEqual(self.router.get("node.address", node_id="n1"), "10.0.0.1")
        self.assertEqual(self.nodes.calls, [("node.address", "n1")])

    def test_an_unknown_key_lists_close_keys(self):
        with self.assertRaises(InfoKeyError) as raised:
            self.router.get("node.stat", node_id="n1")
        self.assertIn("'node.stat'", raised.exception.message)
        self.assertIn("node.state", raised.exception.hint)
        with self.assertRaises(InfoKeyError) as raised:
            self.router.get("zzz")
        self.assertEqual(raised.exception.hint,
                         "known keys: infrastructure.name, node.address, node.state")

    def test_wrong_arguments_are_refused_before_the_provider_is_asked(self):
        with self.assertRaises(InfoArgumentError) as raised:
            self.router.get("node.address", node="n1")
        self.assertIn("(node_id)", raised.exception.hint)
        with self.assertRaises(InfoArgumentError):
            self.router.get("node.address")
        self.assertEqual(self.nodes.calls, [])

    def test_positional_arguments_fill_the_providers_parameters_in_order(self):
        self.assertEqual(self.router.get("infrastructure.name", "i1"), "web")
        self.assertEqual(self.router.get("node.state", "n1")["node_id"], "n1")
        # a positional answer and a keyword one are the same query: the kept answer is reused
        self.assertEqual(self.router.get("node.state", node_id="n1")["call"], 1)
        self.assertEqual(self.router.get("node.state", "n2", {"x": 1})["node_id"], "n2")
        for args, kwargs in ((("n1", None, "extra"), {}), (("n1",), {"node_id": "n2"})):
            with self.subTest(args=args), self.assertRaises(InfoArgumentError) as raised:
                self.router.get("node.state", *args, **kwargs)
            self.assertIn("(node_id, instance_data=None)", raised.exception.hint)
        self.assertEqual(self.nodes.calls, [("node.state", "n1"), ("node.state", "n2")])

    def test_a_key_declared_by_two_providers_is_an_error(self):
        class Other(InfoProvider):
            @provides("node.address")
            def addr(self, node_id):
                return "x"

        with self.assertRaises(ProviderError) as raised:
            InfoRouter([NodeProvider(), Other()])
        self.assertIn("NodeProvider", raised.exception.message)
        self.assertIn("Other", raised.exception.message)

    def test_a_key_declared_twice_in_one_class_is_an_error(self):
        class Twice(InfoProvider):
            @provides("k")
            def one(self):
                return 1

            @provides("k")
            def two(self):
                return 2

        with self.assertRaises(ProviderError):
            InfoRouter([Twice()])

    def test_subclasses_inherit_and_may_override_keys(self):
        class Quiet(NodeProvider):
            def address(self, node_id):        # no longer provides node.address
                return None

            @provides("node.state")
            def state(self, node_id, instance_data=None):
                return "overridden"

        router = InfoRouter([Quiet()])
        self.assertEqual(router.keys(), ["node.state"])
        self.assertEqual(router.get("node.state", node_id="n"), "overridden")

    def test_ttl_must_be_positive(self):
        with self.assertRaises(ValueError):
            provides("k", ttl=0)

    def test_queries_are_logged_without_secrets(self):
        class Db(InfoProvider):
            @provides("synch.mysql_ready")
            def ready(self, host, user, password):
                return True

        router = InfoRouter([Db()])
        with self.assertLogs("occo.infobroker", "DEBUG") as logs:
            router.get("synch.mysql_ready", host="h", user="u", password="hunter2")
        self.assertNotIn("hunter2", "\n".join(logs.output))
        self.assertIn("synch.mysql_ready", "\n".join(logs.output))


class CachingTest(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.nodes = NodeProvider()
        self.router = InfoRouter([self.nodes], clock=self.clock)

    def test_an_answer_is_reused_within_its_ttl_for_the_same_arguments(self):
        first = self.router.get("node.state", node_id="n1")
        self.clock.now += 9.9
        self.assertEqual(self.router.get("node.state", node_id="n1"), first)
        self.assertEqual(len(self.nodes.calls), 1)
        self.clock.now += 0.1
        self.assertEqual(self.router.get("node.state", node_id="n1")["call"], 2)

    def test_other_arguments_are_asked_separately(self):
        self.router.get("node.state", node_id="n1")
        self.router.get("node.state", node_id="n2")
        self.router.get("node.state", node_id="n1", instance_data={"a": [1, 2]})
        self.router.get("node.state", node_id="n1", instance_data={"a": [1, 2]})
        self.router.get("node.state", node_id="n1", instance_data={"a": [1, 3]})
        self.router.get("node.state", node_id="n1", instance_data={"a": (1, 3)})
        self.assertEqual(len(self.nodes.calls), 4)

    def test_keys_without_ttl_are_asked_every_time(self):
        self.router.get("node.address", node_id="n1")
        self.router.get("node.address", node_id="n1")
        self.assertEqual(len(self.nodes.calls), 2)

    def test_arguments_that_cannot_be_compared_are_not_cached(self):
        self.router.get("node.state", node_id="n1", instance_data=Unhashable())
        self.router.get("node.state", node_id="n1", instance_data=Unhashable())
        self.assertEqual(len(self.nodes.calls), 2)

    def test_callers_get_copies_of_kept_answers(self):
        self.router.get("node.state", node_id="n1")["node_id"] = "changed"
        again = self.router.get("node.state", node_id="n1")
        again["call"] = 99
        self.assertEqual(self.router.get("node.state", node_id="n1"), {"node_id": "n1", "call": 1})

    def test_errors_are_not_kept(self):
        outcomes = [RuntimeError("cloud down"), "ready"]

        class Flaky(InfoProvider):
            @provides("node.resource.state", ttl=60)
            def state(self, node_id):
                outcome = outcomes.pop(0)
                if isinstance(outcome, Exception):
                    raise outcome
                return outcome

        router = InfoRouter([Flaky()], clock=self.clock)
        with self.assertRaises(RuntimeError):
            router.get("node.resource.state", node_id="n")
        self.assertEqual(router.get("node.resource.state", node_id="n"), "ready")

    def test_invalidate_forgets_one_key_or_all(self):
        class Infra(InfoProvider):
            def __init__(self):
                self.count = 0

            @provides("infrastructure.state", ttl=60)
            def state(self, infra_id):
                self.count += 1
                return self.count

        infra = Infra()
        router = InfoRouter([self.nodes, infra], clock=self.clock)
        router.get("node.state", node_id="n1")
        router.get("infrastructure.state", infra_id="i")
        router.invalidate("infrastructure.state")
        self.assertEqual(router.get("infrastructure.state", infra_id="i"), 2)
        self.assertEqual(router.get("node.state", node_id="n1")["call"], 1)
        router.invalidate()
        self.assertEqual(router.get("node.state", node_id="n1")["call"], 2)
        self.assertEqual(router.get("infrastructure.state", infra_id="i"), 3)

    def test_concurrent_queries_each_get_the_answer_for_their_arguments(self):
        errors = []

        def ask(worker):
            try:
                for round_ in range(200):
                    node_id = f"n{(worker + round_) % 7}"
                    if self.router.get("node.state", node_id=node_id)["node_id"] != node_id:
                        errors.append((worker, node_id))
                    if round_ % 50 == 0:
                        self.clock.now += 11
            except Exception as error:    # surfaced below
                errors.append(error)

        threads = [threading.Thread(target=ask, args=(worker,)) for worker in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertLess(len(self.nodes.calls), 8 * 200)


def entry(name, target):
    return EntryPoint(name=name, value=target, group=broker.ENTRY_POINT_GROUP)


class LoadProvidersTest(unittest.TestCase):
    def load(self, entries, **dependencies):
        with mock.patch.object(broker, "entry_points", return_value=entries) as found:
            providers = load_providers(**dependencies)
        found.assert_called_once_with(group="occo.info_providers")
        return providers

    def test_each_provider_gets_the_dependencies_it_asks_for(self):
        store = {"i1": "web"}
        providers = self.load([entry("nodes", "tests.test_broker:NodeProvider"),
                               entry("infra", "tests.test_broker:InfraProvider")],
                              store=store, resource_handler=object())
        self.assertEqual([type(p).__name__ for p in providers], ["InfraProvider", "NodeProvider"])
        self.assertIs(providers[0].store, store)
        self.assertEqual(providers[0].limit, 3)
        self.assertEqual(InfoRouter(providers).get("infrastructure.name", infra_id="i1"), "web")

    def test_a_missing_dependency_is_named(self):
        with self.assertRaises(ProviderError) as raised:
            self.load([entry("infra", "tests.test_broker:InfraProvider")])
        self.assertIn("needs store", raised.exception.message)

    def test_an_entry_point_that_is_not_a_provider_is_refused(self):
        with self.assertRaises(ProviderError) as raised:
            self.load([entry("bad", "tests.test_broker:FakeClock")])
        self.assertIn("not an InfoProvider", raised.exception.message)

    def test_an_entry_point_that_cannot_be_imported_is_named(self):
        with self.assertRaises(ProviderError) as raised:
            self.load([entry("gone", "occo.no_such_module:Provider")])
        self.assertIn("'gone'", raised.exception.message)
        self.assertIn("occo.no_such_module", raised.exception.message)

    def test_the_info_brokers_own_provider_is_registered(self):
        registered = {e.name: e.value for e in broker.entry_points(group="occo.info_providers")}
        self.assertEqual(registered.get("store"), "occo.infobroker.providers:StoreProvider")
