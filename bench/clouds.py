"""The clouds the chaos runs and the docker benchmark build on, behind one small interface.

- `SimCloud`: a simcloud server of the run's own, whose faults can be switched on.
- `DockerEngine`: the checkout's Docker engine (`./occo-dev docker start`, which
  starts it unless it runs), with containers of its base busybox image that
  sleep until they are stopped: ready as soon as they run. It has no faults to
  switch. The engine is shared (tests and other runs use it), so only the
  containers labelled with the run's owner are the run's: `close` removes them.

Each gives a node definition, what it holds now (`Held`: an id and the tags or
labels the plugin set, `occopus-infra-id` and the rest), and the time a call
takes, roughly. The engine is spoken to over its socket with httpx: a few
calls, for which the chaos runs need not load the Docker SDK.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from occo.resourcehandler.base import OWNER_TAG
from occo.resourcehandler.simcloud.process import SimCloudProcess

ROOT = Path(__file__).resolve().parents[1]
SLEEPER = "sleep inf"           # a container's main process: runs until it is stopped
API = "http://docker/v1.41"     # the engine's API (Docker 20.10), over its unix socket


@dataclass(frozen=True)
class Held:
    """A resource a cloud holds: its id, its tags (labels) and its state there."""

    id: str
    tags: dict[str, str] = field(default_factory=dict)
    state: str = ""


def start_engine() -> dict[str, Any]:
    """The checkout's Docker engine, started unless it runs: what `occo-dev docker start
    --json` prints (its pid, endpoints, version, base image)."""
    done = subprocess.run([str(ROOT / "occo-dev"), "docker", "start", "--json"], cwd=ROOT,
                          text=True, capture_output=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise SystemExit(f"./occo-dev docker start failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def docker_definition(endpoint: str, image: str) -> dict[str, Any]:
    """A node definition: `image` (`repository:tag`, on the engine already) sleeping on the
    engine at `endpoint`; its health check does not ping."""
    repository, _, tag = image.rpartition(":")
    return {"resource": {"type": "docker", "endpoint": endpoint, "origin": "local",
                         "image": repository, "tag": tag},
            "contextualisation": {"type": "docker", "env": [], "command": SLEEPER},
            "health_check": {"ping": False}}


class SimCloud:
    """A simcloud server of its own: `latency` a call, `boot_time` to boot; faults switchable."""

    pass_timeout = 180.0        # seconds: a pass that takes longer has hung

    def __init__(self, *, latency: float, boot_time: float, error_rate: float,
                 ghost_rate: float, seed: int) -> None:
        self.latency, self.boot_time = latency, boot_time
        self.call_time = latency
        self.process = SimCloudProcess(latency=latency, boot_time=boot_time, seed=seed)
        self.error_rate, self.ghost_rate = error_rate, ghost_rate
        self.http = httpx.Client(timeout=30.0)

    def start(self) -> None:
        self.process.start()

    def describe(self) -> str:
        return f"simcloud {self.latency * 1000:.0f} ms a call, {self.boot_time:g} s boot"

    def definition(self) -> dict[str, Any]:
        return {"resource": self.process.resource(image="debian-12"),
                "health_check": {"ping": False}}

    def held(self) -> list[Held]:
        """Every instance it holds that is not terminated."""
        for _ in range(50):        # the faults hit this listing too
            response = self.http.get(self.process.url + "/instances")
            if response.status_code < 500:
                break
        response.raise_for_status()
        return [Held(i["id"], i["tags"], i["state"]) for i in response.json()["instances"]
                if i["state"] != "terminated"]

    def faults(self, on: bool) -> None:
        self.process.set_faults(error_rate=self.error_rate if on else 0.0,
                                ghost_rate=self.ghost_rate if on else 0.0)

    def close(self) -> None:
        self.http.close()
        self.process.close()


class DockerEngine:
    """The checkout's Docker engine; the containers labelled with `owner` are the run's."""

    call_time = 0.15            # seconds a create or a start takes it, about, unloaded
    pass_timeout = 60.0         # seconds: a pass of 20 containers takes 10 at most

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.state: dict[str, Any] = {}
        self.http: httpx.Client | None = None

    def start(self) -> None:
        self.state = start_engine()
        self.http = httpx.Client(transport=httpx.HTTPTransport(uds=self.state["socket"]),
                                 base_url=API, timeout=120.0)

    def describe(self) -> str:
        return (f"the project's Docker engine {self.state['version']} (pid "
                f"{self.state['pid']}), {self.state['base_image']} running `{SLEEPER}`")

    def definition(self) -> dict[str, Any]:
        return docker_definition(self.state["endpoints"]["unix"], self.state["base_image"])

    def held(self) -> list[Held]:
        """Every container labelled with the owner, running or not."""
        assert self.http is not None, "start it first"
        filters = json.dumps({"label": [f"{OWNER_TAG}={self.owner}"]})
        response = self.http.get("/containers/json", params={"all": "1", "filters": filters})
        response.raise_for_status()
        return [Held(c["Id"], c.get("Labels") or {}, c.get("State", ""))
                for c in response.json()]

    def faults(self, on: bool) -> None:
        """None to switch: the engine is real."""

    def remove_all(self) -> int:
        """Remove every container of the owner, running or not; how many there were."""
        held = self.held()
        assert self.http is not None
        for container in held:
            response = self.http.delete(f"/containers/{container.id}",
                                        params={"force": "1", "v": "1"})
            if response.status_code not in (204, 404, 409):     # 409: being removed already
                response.raise_for_status()
        return len(held)

    def close(self) -> None:
        if self.http is not None:
            self.remove_all()
            self.http.close()
