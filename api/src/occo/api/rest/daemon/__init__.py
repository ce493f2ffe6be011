"""The maintenance daemon of the REST service: a pass of every attached infrastructure each
interval, and the destroys asked, shared among the service's processes.

- `maintainer`: `Maintainer`, what the routes ask (attach, detach, destroy, wake, status)
  and its life (start, stop);
- `schedule`: what is known of each infrastructure and when its next job is due (no threads);
- `membership`: which process maintains which infrastructure (rendezvous hashing) and the
  scheduler thread that keeps up with the store;
- `workers`: the threads that run the passes and destroys.
"""
from .maintainer import (InfrastructureBeingDestroyed, Maintainer, MaintainerStopped,
                         MaintenanceStatus)
from .membership import default_member

__all__ = ["InfrastructureBeingDestroyed", "Maintainer", "MaintainerStopped",
           "MaintenanceStatus", "default_member"]
