"""occo-dev hosts: network namespaces with an sshd each, made, reached over SSH and removed.

Each test's hosts belong to a temporary checkout of its own, so they take a slot of their
own beside the checkout's hosts (which other suites use) without touching them. SSH is
OpenSSH's client, run with the checkout's key and no known-hosts file.
"""
from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from occodev import hostslots
from occodev.errors import DevError
from occodev.hosts import up

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "dev"


def occo_dev(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`occo-dev ARGS` run as a process of its own, for the checkout at `root`."""
    env = dict(os.environ, PYTHONPATH=str(DEV), OCCO_DEV_ROOT=str(root))
    return subprocess.run([sys.executable, "-m", "occodev", *args], env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=600)


def namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], text=True, capture_output=True).stdout
    return {line.split()[0] for line in listed.splitlines() if line.split()}


class HostsCase(unittest.TestCase):
    """A temporary checkout whose hosts are removed after the test."""

    def setUp(self) -> None:
        if os.environ.get("CI") != "true" and os.geteuid() != 0:
            self.skipTest("test hosts are network namespaces: making them needs root")
        self.root = self.checkout()

    def checkout(self) -> Path:
        scratch = tempfile.TemporaryDirectory(prefix="occo-hosts-test-")
        self.addCleanup(scratch.cleanup)
        root = Path(scratch.name)
        self.addCleanup(occo_dev, root, "hosts", "down")      # before the folder goes
        return root

    def up(self, root: Path, count: int) -> dict:
        made = occo_dev(root, "hosts", "up", str(count), "--json")
        self.assertEqual(made.returncode, 0, made.stderr)
        return json.loads(made.stdout)

    def ssh(self, state: dict, address: str, command: str, *,
            namespace: str | None = None) -> subprocess.CompletedProcess:
        """`command` on the host at `address`, from this machine or from inside a host."""
        inside = ["ip", "netns", "exec", namespace] if namespace else []
        return subprocess.run(
            [*inside, "ssh", "-i", state["key"], "-o", "BatchMode=yes", "-o",
             "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
             "ConnectTimeout=10", "-o", "LogLevel=ERROR", f"{state['user']}@{address}",
             command], text=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=60)


class UpAndDownTest(HostsCase):
    def test_each_host_answers_ssh_as_itself_and_reaches_only_the_test_network(self):
        state = self.up(self.root, 2)
        first, second = state["hosts"]
        self.assertNotEqual(first["address"], second["address"])
        for host in state["hosts"]:
            answer = self.ssh(state, host["address"], "hostname; ip -o -4 addr show eth0")
            self.assertEqual(answer.returncode, 0, answer.stderr)
            name, address = answer.stdout.splitlines()
            self.assertEqual(name, host["name"])
            self.assertIn(f"inet {host['address']}/", address)
        # the hosts reach each other...
        across = self.ssh(state, second["address"], "hostname", namespace=first["namespace"])
        self.assertEqual((across.returncode, across.stdout.strip()), (0, second["name"]),
                         across.stderr)
        # ...and nothing else: not the rest of the test range, not the world
        for elsewhere in ("10.213.255.1", "192.0.2.1"):
            refused = self.ssh(state, elsewhere, "true", namespace=first["namespace"])
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("unreachable", refused.stderr.lower())
        # the bridge forwards nothing, and this machine sends nothing for the rest of the
        # test range anywhere either
        forwarding = Path(f"/proc/sys/net/ipv4/conf/{state['bridge']}/forwarding")
        self.assertEqual(forwarding.read_text().strip(), "0")
        route = subprocess.run(["ip", "route", "get", "10.213.255.1"], text=True,
                               capture_output=True)
        self.assertNotEqual(route.returncode, 0, route.stdout)     # "No route to host"

    def test_a_key_other_than_the_checkouts_is_refused(self):
        state = self.up(self.root, 1)
        other = Path(tempfile.mkdtemp(prefix="occo-hosts-key-"))
        self.addCleanup(subprocess.run, ["rm", "-rf", str(other)])
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(other / "key")], check=True)
        refused = self.ssh({**state, "key": str(other / "key")}, state["hosts"][0]["address"],
                           "true")
        self.assertEqual(refused.returncode, 255)
        self.assertIn("Permission denied", refused.stderr)

    def test_up_keeps_running_hosts_adds_and_removes_to_the_count_and_down_removes_all(self):
        state = self.up(self.root, 2)
        pid_file = Path(state["key"]).parent / "h1" / "sshd.pid"
        pid = pid_file.read_text()
        grown = self.up(self.root, 3)
        self.assertEqual([host["name"] for host in grown["hosts"]], ["h1", "h2", "h3"])
        self.assertEqual(pid_file.read_text(), pid)       # h1 kept as it was
        shrunk = self.up(self.root, 1)
        self.assertEqual([host["name"] for host in shrunk["hosts"]], ["h1"])
        self.assertNotIn(grown["hosts"][2]["namespace"], namespaces())
        removed = occo_dev(self.root, "hosts", "down", "--json")
        self.assertEqual(json.loads(removed.stdout), {"removed": 1}, removed.stderr)
        self.assertFalse({host["namespace"] for host in grown["hosts"]} & namespaces())
        self.assertFalse(Path(f"/sys/class/net/{state['bridge']}").exists())
        self.assertEqual(occo_dev(self.root, "hosts", "status").returncode, 1)

    def test_a_host_whose_sshd_died_is_made_again(self):
        state = self.up(self.root, 1)
        pid = int((Path(state["key"]).parent / "h1" / "sshd.pid").read_text())
        os.kill(pid, 9)
        again = self.up(self.root, 1)
        answer = self.ssh(again, again["hosts"][0]["address"], "hostname")
        self.assertEqual((answer.returncode, answer.stdout.strip()), (0, "h1"), answer.stderr)


class SlotsTest(HostsCase):
    def test_two_checkouts_get_separate_networks_and_a_gone_ones_slot_is_taken_back(self):
        mine = self.up(self.root, 1)
        other_root = self.checkout()
        theirs = self.up(other_root, 1)
        self.assertNotEqual(mine["slot"], theirs["slot"])
        self.assertNotEqual(mine["network"], theirs["network"])
        for state in (mine, theirs):
            answer = self.ssh(state, state["hosts"][0]["address"], "hostname")
            self.assertEqual(answer.returncode, 0, answer.stderr)
        their_sshd = int((Path(theirs["key"]).parent / "h1" / "sshd.pid").read_text())
        # their checkout is removed without `down`: the next `up` clears what it left
        subprocess.run(["rm", "-rf", str(other_root / "env")], check=True)
        self.up(self.checkout(), 1)
        self.assertFalse(Path(f"/proc/{their_sshd}").exists())
        self.assertEqual(self.ssh(mine, mine["hosts"][0]["address"], "true").returncode, 0)


class RangeTest(HostsCase):
    def test_a_machine_that_routes_part_of_the_range_gets_no_hosts(self):
        taken = "10.213.254.0/24"
        subprocess.run(["ip", "route", "add", "blackhole", taken], check=True)
        self.addCleanup(subprocess.run, ["ip", "route", "del", "blackhole", taken])
        refused = occo_dev(self.root, "hosts", "up", "1")
        self.assertEqual(refused.returncode, 1)
        self.assertIn("already uses the test hosts' range", refused.stderr)
        self.assertIn(taken, refused.stderr)
        self.assertNotIn("Traceback", refused.stderr)


class CountTest(unittest.TestCase):
    def test_a_count_out_of_bounds_is_refused_before_anything_is_made(self):
        for count in (0, hostslots.MOST_HOSTS + 1):
            with self.subTest(count), self.assertRaises(DevError) as caught:
                up(Path(tempfile.gettempdir()), count)
            self.assertIn(f"1 to {hostslots.MOST_HOSTS}", str(caught.exception))

    def test_addresses_stay_in_the_slots_network_and_links_within_linuxs_name_limit(self):
        most = hostslots.MOST_HOSTS
        for number in (0, hostslots.SLOTS - 1):
            slot = hostslots.Slot(number)
            addresses = {slot.host(index).address
                         for index in (1, hostslots.PER_OCTET, hostslots.PER_OCTET + 1, most)}
            self.assertEqual(len(addresses), 4)
            for address in addresses | {slot.gateway}:
                self.assertIn(ipaddress.ip_address(address), slot.network)
            self.assertNotIn(slot.gateway, addresses)
            self.assertLessEqual(len(slot.veth(slot.host(most).namespace)), 15)
            self.assertLessEqual(len(slot.bridge), 15)


if __name__ == "__main__":
    unittest.main()
