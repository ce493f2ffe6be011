"""Test hosts to reach over SSH: the checkout's network namespaces with an sshd each.

    from occo.util.ssh.testing import test_hosts
    hosts = test_hosts(4)      # at least 4 up: hosts.targets, hosts.login

They are made by `./occo-dev hosts up N` (root; ADR 0017) and left up for the
next test process, as the Docker engine is; `./occo-dev hosts down` removes
them. Outside CI (`CI=true`) a machine that cannot have them (not root) skips
the tests; in CI it fails them.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
import unittest
from dataclasses import dataclass
from pathlib import Path

from ..checkout import checkout
from .sessions import SshLogin, SshTarget

UNAVAILABLE = 3             # occo-dev's exit code: this user cannot have test hosts
UP_TIMEOUT = 600.0          # a first `up` may install openssh-server


class HostsUnavailable(Exception):
    """No test hosts can be had, and the tests must not be skipped (CI)."""


@dataclass(frozen=True)
class TestHosts:
    login: SshLogin
    targets: tuple[SshTarget, ...]


_lock = threading.Lock()
_up: TestHosts | None = None


def test_hosts(count: int) -> TestHosts:
    """At least `count` test hosts up (the first `count` of them)."""
    global _up
    with _lock:
        if _up is None or len(_up.targets) < count:
            _up = _bring_up(count)
        return TestHosts(_up.login, _up.targets[:count])


test_hosts.__test__ = False     # type: ignore[attr-defined]  # not a test, for runners


def _bring_up(count: int) -> TestHosts:
    repo = checkout()
    if repo is None:
        raise HostsUnavailable("no test hosts: they are made by ./occo-dev, and this module is "
                               "not installed from an Occopus checkout")
    command = [str(repo / "occo-dev"), "hosts", "up", str(count), "--json"]
    try:
        result = subprocess.run(command, cwd=repo, text=True, capture_output=True,
                                stdin=subprocess.DEVNULL, timeout=UP_TIMEOUT,
                                env={**os.environ, "OCCO_DEV_ROOT": str(repo)})
    except (OSError, subprocess.TimeoutExpired) as error:
        raise HostsUnavailable(f"cannot run {' '.join(command)}: {error}") from None
    if result.returncode != 0:
        said = (result.stderr.strip().splitlines() or ["no output"])[-1]
        if result.returncode == UNAVAILABLE and os.environ.get("CI") != "true":
            raise unittest.SkipTest(f"no test hosts: {said}")
        raise HostsUnavailable(f"no test hosts: {said}")
    state = json.loads(result.stdout)
    login = SshLogin(state["user"], Path(state["key"]).read_text())
    return TestHosts(login, tuple(SshTarget(host["address"], host["port"], host["name"])
                                  for host in state["hosts"]))
