"""The info-broker keys of the original's synchronisation provider.

- `node.health_check.state(node_id, address, health_check, variables=None,
  instance_data=None)`: READY or PENDING, as the original answered; the
  failing period that turns a long PENDING into FAILED is `state.node_state`'s.
- `node.health_check.report(...)` (same arguments): the report as a dict, with
  the check that failed and why (the original's report was never written).
- `synch.node_reachable(address)`: the node answers a ping (or its fallback).
- `synch.port_available(host, port)`: the TCP port accepts connections.
- `synch.site_available(url)`: the URL answers 2xx or 3xx.
- `synch.mysql_ready(host, database, user, password="", port=3306)`: the user
  can log in (the original's `db` and `pass`, renamed: `pass` is a Python keyword).

Every answer is kept for `TTL` seconds: the engine polls every 10 s, and a
check a few seconds old is as good as a new one, while asking again would
cost a timeout per unreachable node.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from occo.infobroker.broker import InfoProvider, provides
from occo.util.nodes import NodeState

from .checker import HealthChecker, HealthTarget
from .checks import MYSQL_PORT, MysqlDb, check_mysql, check_port, check_url

TTL = 5.0


class HealthCheckProvider(InfoProvider):
    """Answers health questions about nodes; needs no dependency of `load_providers`."""

    def __init__(self, checker: HealthChecker | None = None) -> None:
        self.checker = checker or HealthChecker()

    @provides("node.health_check.state", ttl=TTL)
    def health_state(self, node_id: str, address: str | None, health_check: Mapping[str, Any],
                     variables: Mapping[str, Any] | None = None,
                     instance_data: Mapping[str, Any] | None = None) -> NodeState:
        """READY when every check passes, else PENDING."""
        report = self.checker.check(_target(node_id, address, health_check, variables,
                                            instance_data))
        return NodeState.READY if report.ready else NodeState.PENDING

    @provides("node.health_check.report", ttl=TTL)
    def health_report(self, node_id: str, address: str | None, health_check: Mapping[str, Any],
                      variables: Mapping[str, Any] | None = None,
                      instance_data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """{node_id, address, ready, results: [{check, target, passed, reason, method}]}."""
        return self.checker.check(_target(node_id, address, health_check, variables,
                                          instance_data)).to_dict()

    @provides("synch.node_reachable", ttl=TTL)
    def node_reachable(self, address: str) -> bool:
        return self.checker.pinger.ping(address, timeout=self.checker.ping_timeout).passed

    @provides("synch.port_available", ttl=TTL)
    def port_available(self, host: str, port: int) -> bool:
        return check_port(host, port, self.checker.timeout).passed

    @provides("synch.site_available", ttl=TTL)
    def site_available(self, url: str) -> bool:
        return check_url(url, self.checker.timeout).passed

    @provides("synch.mysql_ready", ttl=TTL)
    def mysql_ready(self, host: str, database: str, user: str, password: str = "",
                    port: int = MYSQL_PORT) -> bool:
        return check_mysql(host, MysqlDb(database, user, password, port),
                           self.checker.timeout).passed


def _target(node_id: str, address: str | None, health_check: Mapping[str, Any],
            variables: Mapping[str, Any] | None,
            instance_data: Mapping[str, Any] | None) -> HealthTarget:
    return HealthTarget(node_id, address, health_check, variables or {}, instance_data or {})
