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
import unittest.mock
from pathlib import Path

from occo.resourcehandler.base import PermanentError
from occo.resourcehandler.local import claims as claims_module
from occo.resourcehandler.local.claims import PREFIX, ClaimError, Claims
from occo.resourcehandler.local.registry import Entry, Registry, RegistryError, address_range

from .test_local_support import random_range

# Each child takes the lock, takes the lowest free address and records a node, many times over.
ALLOCATE = textwrap.dedent("""\
    import ipaddress, sys
    from pathlib import Path
    from occo.resourcehandler.local.registry import Entry, Registry
    registry = Registry(Path(sys.argv[1]), ipaddress.ip_network(sys.argv[2]), Path(sys.argv[5]))
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
        # the machine-wide claims folder of these tests: private, so no other test meets it
        self.claims = Path(tempfile.mkdtemp(prefix="occo-local-claims-"))
        self.addCleanup(shutil.rmtree, self.claims)

    def registry(self, network: str = "127.0.9.0/29", workdir: Path | None = None) -> Registry:
        return Registry(workdir or self.workdir, address_range(network), self.claims)

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
        # two HOMEs: two workdirs, two children each
        workdirs = [self.workdir / "home-a", self.workdir / "home-b"]
        processes = [subprocess.Popen([sys.executable, "-c", ALLOCATE,
                                       str(workdirs[child % 2]), network, f"child{child}",
                                       str(each), str(self.claims)])
                     for child in range(children)]
        self.assertEqual([process.wait(timeout=120) for process in processes], [0] * children)
        addresses = [item.address for workdir in workdirs
                     for item in self.registry(network, workdir).read().values()]
        self.assertEqual(len(addresses), children * each, "every node was recorded")
        self.assertEqual(len(set(addresses)), children * each, "no address was given twice")

    def test_two_homes_never_get_the_same_address(self) -> None:
        home_a = self.registry(workdir=self.workdir / "a")
        home_b = self.registry(workdir=self.workdir / "b")
        with home_a.locked() as nodes:
            nodes.put(entry("a1", nodes.free_address()))
        with home_b.locked() as nodes:
            nodes.put(entry("b1", nodes.free_address()))
        with home_a.locked() as nodes:
            nodes.remove("a1")            # its address is free again, for either
        with home_b.locked() as nodes:
            nodes.put(entry("b2", nodes.free_address()))
        self.assertEqual([e.address for e in home_b.read().values()], ["127.0.9.2", "127.0.9.1"])
        self.assertEqual(sorted(path.name for path in self.claims.iterdir()),
                         [PREFIX + "127.0.9.1", PREFIX + "127.0.9.2"])

    def test_a_stale_claim_of_this_user_is_taken_back(self) -> None:
        other = self.registry(workdir=self.workdir / "gone")
        with other.locked() as nodes:
            self.assertEqual(nodes.free_address(), "127.0.9.1")   # claimed, never recorded
        with self.registry().locked() as nodes:
            self.assertEqual(nodes.free_address(), "127.0.9.1")
            nodes.put(entry("a", "127.0.9.1"))
        shutil.rmtree(self.workdir / "gone")
        with self.registry().locked() as nodes:
            self.assertEqual(nodes.free_address(), "127.0.9.2")

    def test_two_registries_judging_one_stale_claim_never_both_take_it(self) -> None:
        gone, first, second = (Claims(self.claims, self.workdir / name)
                               for name in ("gone", "first", "second"))
        self.assertTrue(gone.claim("127.0.9.1", lambda _address: True))  # never recorded
        taken: dict[str, bool] = {}
        real_lists = claims_module._lists

        def judged_stale(workdir: Path, address: str) -> bool:
            # `second` has judged the claim of "gone" stale; before it acts on that,
            # `first` judges it stale too and takes the address
            if "first" not in taken:
                taken["first"] = False
                taken["first"] = first.claim(address, lambda _address: False)
            return real_lists(workdir, address)

        with unittest.mock.patch.object(claims_module, "_lists", judged_stale):
            taken["second"] = second.claim("127.0.9.1", lambda _address: False)
        self.assertEqual(sorted(name for name, won in taken.items() if won), ["second"])
        holder = json.loads((self.claims / (PREFIX + "127.0.9.1")).read_text())["workdir"]
        self.assertEqual(holder, str(self.workdir / "second"))

    def test_a_claim_replaced_while_it_was_judged_is_left_to_its_new_holder(self) -> None:
        gone, first, second = (Claims(self.claims, self.workdir / name)
                               for name in ("gone", "first", "second"))
        path = self.claims / (PREFIX + "127.0.9.1")
        self.assertTrue(gone.claim("127.0.9.1", lambda _address: True))
        real_open = claims_module.os.open
        opened: list[str] = []

        def open_then_lose_the_race(file: object, flags: int, *args: object) -> int:
            descriptor = real_open(file, flags, *args)
            if file == path and not flags & claims_module.os.O_CREAT and not opened:
                # between `second` opening the stale claim and locking it, `first`
                # takes it over: `second` now holds the old file, unlinked
                opened.append("second")
                self.assertTrue(first.claim("127.0.9.1", lambda _address: False))
            return descriptor

        (self.workdir / "first").mkdir()
        (self.workdir / "first" / "registry.json").write_text(
            json.dumps({"version": 1, "nodes": {"a": {"address": "127.0.9.1"}}}))
        with unittest.mock.patch.object(claims_module.os, "open", open_then_lose_the_race):
            self.assertFalse(second.claim("127.0.9.1", lambda _address: False))
        self.assertEqual(json.loads(path.read_text())["workdir"], str(self.workdir / "first"))

    def test_a_planted_claim_is_skipped_and_never_written_through(self) -> None:
        target = self.workdir / "victim"
        target.write_text("keep me")
        (self.claims / (PREFIX + "127.0.9.1")).symlink_to(target)
        with self.registry().locked() as nodes:
            self.assertEqual(nodes.free_address(), "127.0.9.2")
        self.assertEqual(target.read_text(), "keep me")

    def test_nodes_made_before_claims_are_claimed_when_the_registry_is_next_locked(self) -> None:
        with self.registry().locked() as nodes:
            nodes.put(entry("a", nodes.free_address()))
        (self.claims / (PREFIX + "127.0.9.1")).unlink()
        with self.registry().locked():
            pass
        with self.registry(workdir=self.workdir / "b").locked() as nodes:
            self.assertEqual(nodes.free_address(), "127.0.9.2")

    def test_a_claims_folder_others_could_tamper_with_is_refused(self) -> None:
        self.claims.chmod(0o777)
        with self.assertRaises(ClaimError) as raised, self.registry().locked() as nodes:
            nodes.free_address()
        self.assertIn("sticky", raised.exception.message)
        self.claims.chmod(0o1777)
        with self.registry().locked() as nodes:
            self.assertEqual(nodes.free_address(), "127.0.9.1")
        link = self.workdir / "link"
        link.symlink_to(self.claims)
        with self.assertRaises(ClaimError), \
                Registry(self.workdir, address_range("127.0.9.0/29"), link).locked() as nodes:
            nodes.free_address()

    def test_an_unreadable_registry_is_reported_with_a_hint(self) -> None:
        (self.workdir / "registry.json").write_text("{not json")
        with self.assertRaises(RegistryError) as raised:
            self.registry().read()
        self.assertIn("registry.json", raised.exception.message)
        (self.workdir / "registry.json").write_text('{"version": 99, "nodes": {}}')
        with self.assertRaises(RegistryError):
            self.registry().read()
