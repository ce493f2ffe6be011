"""A simcloud server in its own process: started on a free port, waited for, always stopped.

    with SimCloudProcess(boot_time=0.2) as cloud:
        handler = SimCloudHandler(cloud.resource())
        cloud.set_faults(rate_limit=5)

`kill()` ends it as a crash would and `restart()` brings it back on the same
port and state file, for chaos runs.
"""
from __future__ import annotations

import os
import re
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx

from occo.util.errors import OccoError

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
LISTENING = re.compile(r"simcloud listening on (?P<url>http://[\d.]+:(?P<port>\d+))")


class SimCloudError(OccoError):
    """A simcloud server would not start, or refused an admin call."""


class SimCloudProcess:
    """One simcloud server process and its scratch folder (state file and log)."""

    def __init__(self, state_file: str | os.PathLike | None = None, *, port: int = 0,
                 latency: float = 0.0,
                 boot_time: float = 0.0, rate_limit: float | None = None,
                 error_rate: float = 0.0, ghost_rate: float = 0.0,
                 seed: int | None = None) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="simcloud-"))
        self.state_file = Path(state_file) if state_file else self.scratch / "state.json"
        self.log_file = self.scratch / "server.log"
        options = {"--latency": latency, "--boot-time": boot_time, "--rate-limit": rate_limit,
                   "--error-rate": error_rate, "--ghost-rate": ghost_rate, "--seed": seed}
        self._options = [item for name, value in options.items() if value is not None
                         for item in (name, str(value))]
        self.port = port            # 0: a free one, kept from the first start on
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._stdout: IO[bytes] | None = None
        self._admin: httpx.Client | None = None

    # --- the process ----------------------------------------------------------
    def start(self) -> SimCloudProcess:
        """Start the server (on the port it had before, if any) and wait until it answers."""
        if self._process is not None:
            raise SimCloudError("this simcloud server is running already")
        command = [sys.executable, "-m", "occo.resourcehandler.simcloud.server",
                   "--port", str(self.port), "--state", str(self.state_file), *self._options]
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=log)
        self._stdout = self._process.stdout
        deadline = time.monotonic() + START_TIMEOUT
        try:
            found = LISTENING.search(self._first_line(deadline))
            if found is None:
                raise self._failed("printed no 'listening' line")
            self.url, self.port = found["url"], int(found["port"])
            self._wait_until_healthy(deadline)
        except BaseException:
            self.kill()
            raise
        return self

    def stop(self) -> None:
        """Ask the server to stop (SIGTERM), killing it if it will not; keeps its state file."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self) -> None:
        """End the server at once (SIGKILL), as a crash would; keeps its state file."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process = None
        if self._stdout is not None:
            self._stdout.close()
            self._stdout = None

    def restart(self) -> SimCloudProcess:
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove the scratch folder (a state file given stays)."""
        self.stop()
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> SimCloudProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # --- using it -------------------------------------------------------------
    def resource(self, **keys: Any) -> dict[str, Any]:
        """A `resource` section for this server, with `keys` added."""
        return {"type": "simcloud", "endpoint": self.url, **keys}

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change fault settings now (latency, boot_time, rate_limit, error_rate, ghost_rate)."""
        return self._admin_call("PUT", "/admin/faults", changes)

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer the next `count` API calls with `status`."""
        self._admin_call("POST", "/admin/fail-next", {"status": status, "count": count})

    def stats(self) -> dict[str, Any]:
        return self._admin_call("GET", "/admin/stats")

    def _admin_call(self, method: str, path: str, body: Any = None) -> Any:
        if self._admin is None:
            self._admin = httpx.Client(timeout=STOP_TIMEOUT)
        response = self._admin.request(method, self.url + path, json=body)
        if response.status_code != 200:
            raise SimCloudError(f"simcloud {method} {path} answered {response.status_code}: "
                                f"{response.text}")
        return response.json()

    # --- starting -------------------------------------------------------------
    def _first_line(self, deadline: float) -> str:
        assert self._stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._stdout, selectors.EVENT_READ)
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                raise self._failed(f"did not say it listens within {START_TIMEOUT:g} s")
        return self._stdout.readline().decode(errors="replace")

    def _wait_until_healthy(self, deadline: float) -> None:
        with httpx.Client(timeout=1.0) as client:
            while True:
                try:
                    if client.get(self.url + "/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or not self.running:
                    raise self._failed("does not answer /health")
                time.sleep(0.02)

    def _failed(self, what: str) -> SimCloudError:
        log = self.log_file.read_text(errors="replace").strip().splitlines()[-5:]
        return SimCloudError(f"the simcloud server {what}",
                             hint="its log ends: " + (" | ".join(log) or "(empty)"))
