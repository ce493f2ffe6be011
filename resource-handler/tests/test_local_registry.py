"""The registry: addresses given out once, shared by handlers in other processes."""
from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

from occo.resourcehandler.base import PermanentError
from occo.resourcehandler.local.registry import Entry, Registry, RegistryError, address_range

from .test_local_support import random_range

# Each child takes the lock, takes the lowest free address and records a node, many times over.
ALLOCATE = textwrap.dedent("""\
    import ipaddress, sys
    from pathlib import Path
    from occo.resourcehandler.local.registry import Entry, Registry
    registry = Registry(Path(sys.argv[1]), ipaddress.ip_network(sys.argv[2]))
    for index in range(int(sys.argv[4])):
        with registry.locked() as nodes:
            node_id = f"{sys.argv[3]}-{index}"
            nodes.put(Entry(node_id, "infra", "web", node_id, nodes.free_address()))
    """)


def entry(node_id: str, address: str) -> Entry:
    return Entry(node_id, "infra-1", "web", f"local-{node_id}", address)


class RegistryTest(unittest.TestCase):
    def setUp(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="occo-local-registry-"))
        self.addCleanup(shutil.rmtree, self.workdir)

    def registry(self, network: str = "127.0.9.0/29") -> Registry:
        return Registry(self.workdir, address_range(network))

    def test_the_lowest_free_address_is_given_and_given_again_once_freed(self) -> None:
        registry = self.registry()
        with registry.locked() as nodes:
            for node_id in ("a", "b", "c"):
                nodes.put(entry(node_id, nodes.free_address()))
            nodes.remove("b")
            self.assertEqual(nodes.free_address(), "127.0.9.2")
        self.assertEqual([item.address for item in registry.read().values()],
                         ["127.0.9.1", "127.0.9.3"])

    def test_127_0_0_1_is_never_given_out(self) -> None:
        with self.registry("127.0.0.0/30").locked() as nodes:
            self.assertEqual(nodes.free_address(), "127.0.0.2")
            nodes.put(entry("a", "127.0.0.2"))
            with self.assertRaises(RegistryError):
                nodes.free_address()

    def test_a_full_range_is_a_permanent_error_with_a_hint(self) -> None:
        with self.registry("127.0.9.8/31").locked() as nodes:
            nodes.put(entry("a", nodes.free_address()))
            nodes.put(entry("b", nodes.free_address()))
            with self.assertRaises(PermanentError) as raised:
                nodes.free_address()
        self.assertIn("127.0.9.8/31", raised.exception.message)
        self.assertIn("address_range", raised.exception.hint)

    def test_only_loopback_ranges_are_accepted(self) -> None:
        self.assertEqual(address_range("127.0.1.0/24"), ipaddress.ip_network("127.0.1.0/24"))
        for text in ("10.0.0.0/24", "126.0.0.0/7", "::1/128", "not a network"):
            with self.subTest(text), self.assertRaises(RegistryError):
                address_range(text)

    def test_a_second_registry_object_sees_every_change(self) -> None:
        with self.registry().locked() as nodes:
            nodes.put(entry("a", "127.0.9.1"))
        self.assertEqual(self.registry().read(), {"a": entry("a", "127.0.9.1")})
        self.assertEqual(json.loads((self.workdir / "registry.json").read_text())["version"], 1)

    def test_processes_allocating_at_once_never_share_an_address(self) -> None:
        network, children, each = random_range(), 4, 25
        processes = [subprocess.Popen([sys.executable, "-c", ALLOCATE, str(self.workdir), network,
                                       f"child{child}", str(each)]) for child in range(children)]
        self.assertEqual([process.wait(timeout=120) for process in processes], [0] * children)
        addresses = [item.address for item in self.registry(network).read().values()]
        self.assertEqual(len(addresses), children * each, "every node was recorded")
        self.assertEqual(len(set(addresses)), children * each, "no address was given twice")

    def test_an_unreadable_registry_is_reported_with_a_hint(self) -> None:
        (self.workdir / "registry.json").write_text("{not json")
        with self.assertRaises(RegistryError) as raised:
            self.registry().read()
        self.assertIn("registry.json", raised.exception.message)
        (self.workdir / "registry.json").write_text('{"version": 99, "nodes": {}}')
        with self.assertRaises(RegistryError):
            self.registry().read()
