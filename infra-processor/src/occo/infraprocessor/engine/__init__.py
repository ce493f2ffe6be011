"""The engine: executes create and drop instructions against real backends, crash-safe.

- `engine`: `Engine` (`execute`, `recover`, `cancel`) and its `Tuning`.
- `record`: the instance record stored for every node instance (`InstanceRecord`, `Phase`).
- `results`: `ExecutionResult`, `NodeResult`, `Outcome`, `RecoveryReport`.
- `survey`: the live state of stored instances (`InstanceStatus`).
- `progress`: the `Progress` callback interface and its `Step`s.
- `retry`: `Backoff` and `Retrier`; `walk`: the dependency walk per node type.
- `execution`, `recovery`, `operations`, `backends`, `dispatcher`: how it is done.
"""
from .engine import Engine, Tuning
from .execution import UnknownNode
from .progress import NoProgress, Progress, Step
from .record import InstanceRecord, Phase, RecordError
from .results import ExecutionResult, NodeResult, Outcome, RecoveryReport
from .retry import Backoff, Retrier
from .survey import InstanceStatus, by_name, recorded
from .walk import DependencyWalk, StuckWalk

__all__ = ["Backoff", "DependencyWalk", "Engine", "ExecutionResult", "InstanceRecord",
           "InstanceStatus",
           "NoProgress", "NodeResult", "Outcome", "Phase", "Progress", "RecordError",
           "RecoveryReport", "Retrier", "Step", "StuckWalk", "Tuning", "UnknownNode", "by_name",
           "recorded"]
