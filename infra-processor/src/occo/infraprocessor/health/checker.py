"""Running a node's health check: ping → ports → urls → mysqldbs, as the original did.

Checking stops at the first failure, as the original's lazy `all()` did: a
node that does not answer a ping is not asked for its URLs, so a booting node
costs one short timeout instead of one per check. The report names the check
that failed and why. `urls` and the values of `mysqldbs` are Jinja2 templates
rendered with `ip`, `node_id`, `variables` and `instance_data`, and so are
`ports` given as text (`'{{ variables.port }}'`). A value that can never pass
once rendered (no port number, no URL, a template that will not render) is a
permanent failure: the node fails at once, with that reason, not after the
health check's timeout.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from occo.util.errors import OccoError
from occo.util.redact import is_secret_key, redact_url
from occo.util.schema import with_defaults
from occo.util.templated import is_template, port_number

from ..schemas import HEALTH_CHECK
from ..templates import render
from .checks import MYSQL_PORT, MysqlDb, check_mysql, check_port, check_url
from .ping import Pinger
from .report import CheckResult, HealthReport

log = logging.getLogger("occo.infraprocessor.health")

DEFAULT_WORKERS = 8

T = TypeVar("T")
R = TypeVar("R")


class HealthCheckError(OccoError):
    """A `health_check` section cannot be used as it is."""


@dataclass(frozen=True)
class HealthTarget:
    """One node instance to check: its address, its `health_check` section and its template data."""

    node_id: str
    address: str | None
    health_check: Mapping[str, Any] = field(default_factory=dict, repr=False)
    variables: Mapping[str, Any] = field(default_factory=dict, repr=False)
    instance_data: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # the section with the schema's defaults (ping on, timeout 600 s) filled in: every use of
    # a target reads it (made here, not cached on first use: a cached property takes a lock)
    section: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "section", with_defaults(dict(self.health_check), HEALTH_CHECK))

    @property
    def probes(self) -> bool:
        """Whether checking it reaches the node (ping, ports, urls, databases): only such a
        check can wait for a timeout, and is worth a call of its own."""
        section = self.section
        return bool(section["ping"] or any(section.get(key) for key in
                                           ("ports", "urls", "mysqldbs")))

    @property
    def timeout(self) -> float:
        """Seconds a failing health check is tolerated before the node counts as failed."""
        value = self.section["timeout"]
        try:
            return float(value)
        except (TypeError, ValueError):
            raise HealthCheckError(f"the health_check timeout of node {self.node_id} is not a "
                                   f"number: {value!r}") from None

    def template_context(self) -> dict[str, Any]:
        return {"ip": self.address, "node_id": self.node_id,
                "variables": dict(self.variables), "instance_data": dict(self.instance_data)}


def run_bounded(function: Callable[[T], R], items: Iterable[T], max_workers: int) -> list[R]:
    """`function` of every item, at most `max_workers` at a time, results in the items' order."""
    items = list(items)
    if len(items) < 2:      # no pool to start for one
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items)),
                            thread_name_prefix="occo-health") as pool:
        return list(pool.map(function, items))


class HealthChecker:
    """Checks nodes; one checker may serve many threads.

    `ping_timeout` bounds the ping (the original waited 1 s), `timeout` every
    other single check (the original gave HTTP 10 s); `max_workers` bounds how
    many nodes `check_many` checks at once.
    """

    def __init__(self, *, pinger: Pinger | None = None, ping_timeout: float = 1.0,
                 timeout: float = 10.0, max_workers: int = DEFAULT_WORKERS) -> None:
        self.pinger = pinger or Pinger()
        self.ping_timeout = ping_timeout
        self.timeout = timeout
        self.max_workers = max_workers

    def check(self, target: HealthTarget) -> HealthReport:
        """Run the node's checks in order until one fails."""
        results: list[CheckResult] = []
        for result in self._results(target):
            results.append(result)
            if not result.passed:
                break
        report = HealthReport(target.node_id, target.address, tuple(results))
        log.debug("health of node %s: %s", target.node_id, report)
        return report

    def check_many(self, targets: Sequence[HealthTarget]) -> list[HealthReport]:
        """The reports of many nodes, checked concurrently, in the targets' order."""
        return run_bounded(self.check, targets, self.max_workers)

    def _results(self, target: HealthTarget) -> Iterator[CheckResult]:
        """Each check, run only when the caller asks for the next one."""
        address = target.address
        if not address:
            yield CheckResult("address", target.node_id, False, "the node has no address yet")
            return
        section = target.section
        urls, databases = section.get("urls") or [], section.get("mysqldbs") or []
        ports_given = section.get("ports") or []
        context = target.template_context() if urls or databases or ports_given else {}
        ports = _ports(ports_given, context, target.node_id)
        if isinstance(ports, CheckResult):      # it can never pass: said before any probe
            yield ports
            return
        if section["ping"]:
            yield self.pinger.ping(address, ports, self.ping_timeout)
        for port in ports:
            yield check_port(address, port, self.timeout)
        for index, url in enumerate(urls):
            where = f"health_check.urls[{index}] of node {target.node_id}"
            try:
                rendered = render(url, context, source=where)
            except OccoError as error:
                yield CheckResult("url", redact_url(str(url)), False,
                                  redact_url(f"cannot render {where}: {error.message}"),
                                  permanent=True)
            else:
                yield check_url(rendered, self.timeout)
        for index, entry in enumerate(databases):
            where = f"health_check.mysqldbs[{index}] of node {target.node_id}"
            database = _mysql_entry(entry, context, where)
            yield (database if isinstance(database, CheckResult)
                   else check_mysql(address, database, self.timeout))


def _ports(values: Sequence[Any], context: Mapping[str, Any],
           node_id: str) -> list[int] | CheckResult:
    """The port numbers of `ports`, each a number or a template rendering to one; a permanent
    failure for the first that is not one (no retry can change what it renders to)."""
    ports = []
    for index, value in enumerate(values):
        where = f"health_check.ports[{index}] of node {node_id}"
        shown = value
        if is_template(value):
            try:
                shown = render(value, context, source=where)
            except OccoError as error:
                return CheckResult("port", str(value), False,
                                   f"cannot render {where}: {error.message}", permanent=True)
        port = port_number(shown)
        if port is None:
            reason = ("not a port number" if shown is value
                      else f"not a port number: {value!r} renders to {shown!r}")
            return CheckResult("port", str(value), False, reason, permanent=True)
        ports.append(port)
    return ports


def _mysql_entry(entry: Any, context: dict[str, Any], where: str) -> MysqlDb | CheckResult:
    """The rendered entry, or a failed result saying what is wrong with it."""
    if not isinstance(entry, Mapping):
        return CheckResult("mysqldb", where, False, "not a mapping of name, user and pass",
                           permanent=True)
    missing = [key for key in ("name", "user") if key not in entry]
    if missing:
        return CheckResult("mysqldb", where, False, f"{' and '.join(missing)} missing",
                           permanent=True)
    values: dict[str, str] = {}
    for key, value in entry.items():
        try:
            values[key] = render(value, context, source=f"{where}.{key}") if isinstance(
                value, str) else str(value)
        except OccoError as error:
            detail = "" if is_secret_key(key) else f": {error.message}"   # the template is the secret
            return CheckResult("mysqldb", where, False, f"cannot render {key}{detail}",
                               permanent=True)
    port = port_number(values.get("port", MYSQL_PORT))
    if port is None:
        return CheckResult("mysqldb", where, False,
                           f"port {values['port']!r} is not a port number", permanent=True)
    return MysqlDb(values["name"], values["user"], values.get("pass", ""), port)
