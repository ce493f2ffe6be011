"""Health checks of node instances, and the one state a node is in.

- `checker`: `HealthChecker` runs a node's checks (ping → ports → urls →
  mysqldbs) into a `HealthReport`, many nodes at once.
- `failing`: `FailingPeriods` makes a node that fails for too long FAILED.
- `state`: `combine` and `node_state(s)`: resource, config-manager and health
  states into one.
- `provider`: the info-broker keys `node.health_check.*` and `synch.*`.
"""
from __future__ import annotations

from .checker import HealthChecker, HealthCheckError, HealthTarget
from .failing import FailingPeriods
from .ping import Pinger, PingMethod
from .report import CheckResult, HealthReport
from .state import NodeProbe, combine, node_state, node_states

__all__ = ["CheckResult", "FailingPeriods", "HealthCheckError", "HealthChecker", "HealthReport",
           "HealthTarget", "NodeProbe", "PingMethod", "Pinger", "combine", "node_state",
           "node_states"]
