"""The engine: executes create and drop instructions against real backends, crash-safe.

- `engine`: `Engine` (`execute`, `recover`, `survey`); an execution obeys its cancellation token.
- `parts`: what an engine is made of (`Parts`), handed down as one value, and its `Tuning`.
- `results`: `ExecutionResult`, `NodeResult`, `Outcome`, `RecoveryReport`.
- `survey`: the live state of stored instances (`InstanceStatus`).
- `progress`: the `Progress` callback interface and its `Step`s.
- `retry`: `Backoff` and `Retrier`; `walk`: the dependency walk per node type.
- `execution` (the loop and creates), `polling` (readiness), `teardown` (rollbacks and
  drops), `writes` (the write-behind), `state` (what those share), `recovery`,
  `operations` (the blocking calls), `backends`, `dispatcher`, `pacing`: how it is done.

The instance record (`InstanceRecord`, `Phase`) is `occo.infraprocessor.record`'s.
"""
from ..record import InstanceRecord, Phase, RecordError
from .engine import Engine
from .execution import UnknownNode
from .parts import Tuning
from .progress import NoProgress, Progress, Step
from .results import ExecutionResult, NodeResult, Outcome, RecoveryReport
from .retry import Backoff, Retrier
from .survey import InstanceStatus, by_name, recorded
from .walk import DependencyWalk, StuckWalk

__all__ = ["Backoff", "DependencyWalk", "Engine", "ExecutionResult", "InstanceRecord",
           "InstanceStatus",
           "NoProgress", "NodeResult", "Outcome", "Phase", "Progress", "RecordError",
           "RecoveryReport", "Retrier", "Step", "StuckWalk", "Tuning", "UnknownNode", "by_name",
           "recorded"]
