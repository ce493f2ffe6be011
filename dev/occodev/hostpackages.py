"""Debian packages the test suites read from the host, installed before they run.

A component's tests may check Occopus against a file a Debian package
installs on the Occopus host (cloud-init's JSON schema of cloud-config), or
drive a program one installs (chromium and its driver, for the status page; mariadbd,
for a MariaDB server of the tests' own). As root, occo-dev installs what is missing,
starting none of the services the packages bring, so no such test is ever skipped for
want of it; as another user it says what to install.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .apt import install_without_services
from .errors import DevError


@dataclass(frozen=True)
class HostPackage:
    package: str
    provides: Path      # the file the tests read; present means installed
    components: tuple[str, ...]
    services: tuple[str, ...] = ()      # the systemd services it enables, left disabled


PACKAGES = (
    HostPackage("cloud-init", Path("/usr/lib/python3/dist-packages/cloudinit/config/schemas/"
                                   "schema-cloud-config-v1.json"), ("infra-processor",)),
    # puppet_solo applies manifests with the Puppet of the test hosts, which share this
    # machine's files
    HostPackage("puppet-agent", Path("/usr/bin/puppet"), ("config-manager",), ("puppet",)),
    # the REST service's status page is tested in a real headless browser
    HostPackage("chromium", Path("/usr/bin/chromium"), ("api",)),
    HostPackage("chromium-driver", Path("/usr/bin/chromedriver"), ("api",)),
    # mysqldbs health checks are tested against a MariaDB server of the test process's own,
    # which the api tests' test hosts run too
    HostPackage("mariadb-server", Path("/usr/sbin/mariadbd"), ("infra-processor", "api"),
                ("mariadb",)),
)


def ensure(components: list[str]) -> None:
    """Install the host packages the tests of `components` read, where missing."""
    missing = [wanted for wanted in PACKAGES
               if set(wanted.components) & set(components) and not wanted.provides.is_file()]
    if not missing:
        return
    names = [wanted.package for wanted in missing]
    if os.geteuid() != 0:
        raise DevError(f"the tests need Debian's {', '.join(names)}; install as root with: "
                       f"apt-get install -y --no-install-recommends {' '.join(names)}")
    print(f"occo-dev: installing {', '.join(names)} with apt-get", file=sys.stderr, flush=True)
    install_without_services(names, [service for wanted in missing
                                     for service in wanted.services])
