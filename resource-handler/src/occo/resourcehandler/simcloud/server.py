"""simcloud's HTTP server: a small simulated cloud for tests, chaos runs and benchmarks.

    python -m occo.resourcehandler.simcloud.server --port P --state FILE [--latency S]
        [--boot-time S] [--rate-limit N] [--error-rate F] [--ghost-rate F] [--seed N]

It listens on 127.0.0.1 only and prints one line once it accepts
connections: `simcloud listening on http://127.0.0.1:P` (with `--port 0` the
system picks the port: read it from that line). The state (`cloud.py`) is
kept in FILE and survives a restart; every change is in the file before it
is answered.

The API speaks JSON; an error is `{"error": {"code": ..., "message": ...}}`.

    POST   /instances           {"client_token", "tags"?, "image"?, "flavor"?, "user_data"?}
                                201: the new instance; 200: the one made before for this
                                client token (the first request's parameters win)
    GET    /instances/ID        200: the instance; 404
    GET    /instances?tag.K=V   200: {"instances": [...]} carrying every tag given,
                                terminated ones included
    DELETE /instances/ID        200: the instance, terminated (again: the same); 404
    GET    /health              200: {"status": "ok"}
    GET    /admin/faults        200: the fault settings
    PUT    /admin/faults        change some: {"latency", "boot_time", "rate_limit",
                                "error_rate", "ghost_rate"}; 200: all of them
    POST   /admin/fail-next     {"status": 400, "count": 1}: the next API calls answer this
    GET    /admin/stats         200: {"calls", "answers": {status: n}, "ghosts"} since it
                                started, and "instances": {state: n}

An instance: `id`, `client_token`, `state` (pending, running, terminated),
`tags`, `image`, `flavor`, `user_data`, `private_ip`, `created_at`,
`ready_at`, `terminated_at` (epoch seconds) and `cost` (so far).

Faults hit the API calls (`/instances...`), never `/health` or `/admin`, in
this order: every call waits `latency` seconds; beyond `rate_limit` calls a
second (a bucket of one second's calls) the answer is 429 with Retry-After;
then a status armed by fail-next; then a 503 at `error_rate`; and a create
that made an instance answers 500 at `ghost_rate`, the instance staying (a
retry with its client token gets it). `boot_time` counts for instances
created after it is set; setting faults refills the rate-limit bucket.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..limits import TokenBucket
from .cloud import Cloud, StateFileError

HOST = "127.0.0.1"
INSTANCE_PATH = re.compile(r"/instances/(?P<id>[^/]+)")


class BadRequest(Exception):
    """The request cannot be understood: answered 400."""


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and how slowly; see the module's doc."""

    latency: float = 0.0
    boot_time: float = 0.0
    rate_limit: float | None = None
    error_rate: float = 0.0
    ghost_rate: float = 0.0

    def changed(self, changes: Any) -> Faults:
        """These faults with `changes` applied; `BadRequest` naming what is wrong."""
        if not isinstance(changes, dict):
            raise BadRequest("fault settings must be a JSON object")
        known = {item.name for item in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise BadRequest(f"unknown fault settings: {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
        for name, value in changes.items():
            if name == "rate_limit" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise BadRequest(f"{name} must be a number of at least 0, not {value!r}")
            if name.endswith("_rate") and value > 1:
                raise BadRequest(f"{name} is a fraction of calls: 0 to 1, not {value!r}")
            if name == "rate_limit" and value == 0:
                raise BadRequest("rate_limit must be more than 0, or null for none")
        return replace(self, **changes)


class SimCloudServer(ThreadingHTTPServer):
    """The cloud behind its API, with its faults; a thread per connection."""

    daemon_threads = True
    # connections waiting to be accepted: an engine opens one per call in flight, hundreds at
    # once when a level of a large infrastructure starts, and a connection the queue has no
    # room for is retried by the client's TCP only a second later
    request_queue_size = 1024

    def __init__(self, port: int, cloud: Cloud, faults: Faults, rng: random.Random) -> None:
        super().__init__((HOST, port), ApiHandler)
        self.cloud = cloud
        self.rng = rng
        self._lock = threading.Lock()
        self._answers: Counter[int] = Counter()
        self._ghosts = 0
        self._fail_next: tuple[int, int] = (0, 0)        # (status, how many calls)
        self.set_faults(faults)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def set_faults(self, faults: Faults) -> None:
        bucket = (TokenBucket(faults.rate_limit, max(1.0, faults.rate_limit))
                  if faults.rate_limit else None)
        with self._lock:
            self.faults, self.bucket = faults, bucket

    def arm_fail_next(self, status: int, count: int) -> None:
        with self._lock:
            self._fail_next = (status, count)

    def take_fail_next(self) -> int | None:
        with self._lock:
            status, count = self._fail_next
            if count <= 0:
                return None
            self._fail_next = (status, count - 1)
            return status

    def count(self, status: int) -> None:
        with self._lock:
            self._answers[status] += 1

    def count_ghost(self) -> None:
        with self._lock:
            self._ghosts += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            answers = dict(self._answers)
            ghosts = self._ghosts
        return {"calls": sum(answers.values()), "answers": {str(k): v for k, v in answers.items()},
                "ghosts": ghosts, "instances": self.cloud.count_by_state()}


class Reply(Exception):
    """An answer: returned by a route, or raised from anywhere to end the request with it."""

    def __init__(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = headers or {}


def error(status: int, code: str, message: str, **headers: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message}}, headers)


class ApiHandler(BaseHTTPRequestHandler):
    """One connection: kept open between requests (HTTP/1.1), answered without delay."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: SimCloudServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a benchmark makes thousands of calls."""

    def handle_call(self) -> None:
        method, url = self.command, urlsplit(self.path)
        api = url.path == "/instances" or url.path.startswith("/instances/")
        try:
            body = self._read_body()        # first, so that the connection stays in step
            if api:
                self._inject_faults()
            answer = self._route(method, url.path, dict(parse_qsl(url.query)), body)
        except Reply as reply:
            answer = reply
        except BadRequest as problem:
            answer = error(HTTPStatus.BAD_REQUEST, "BadRequest", str(problem))
        except Exception as bug:      # a bug here: say so, and keep serving
            traceback.print_exc(file=sys.stderr)
            answer = error(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError", repr(bug))
        if api:
            self.server.count(answer.status)
        self._send(answer)

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise BadRequest("Content-Length must be a number") from None
        return self.rfile.read(length)

    do_GET = do_POST = do_PUT = do_DELETE = handle_call

    def _inject_faults(self) -> None:
        server = self.server
        faults, bucket = server.faults, server.bucket
        if faults.latency:
            time.sleep(faults.latency)
        if bucket is not None:
            wait = bucket.try_take()
            if wait > 0:
                raise error(HTTPStatus.TOO_MANY_REQUESTS, "RateLimited",
                            f"more than {faults.rate_limit:g} calls a second; "
                            f"retry after {wait:.3f} s", **{"Retry-After": str(math.ceil(wait))})
        status = server.take_fail_next()
        if status is not None:
            raise error(status, "Injected", f"fault armed by /admin/fail-next: {status}",
                        **({"Retry-After": "1"} if status == HTTPStatus.TOO_MANY_REQUESTS else {}))
        if faults.error_rate and server.rng.random() < faults.error_rate:
            raise error(HTTPStatus.SERVICE_UNAVAILABLE, "Unavailable", "injected at error_rate")

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        cloud = self.server.cloud
        found = INSTANCE_PATH.fullmatch(path)
        if found:
            instance = {"GET": cloud.get, "DELETE": cloud.delete}.get(method, _refuse)(found["id"])
            if instance is None:
                raise error(HTTPStatus.NOT_FOUND, "NotFound", f"no instance {found['id']}")
            return Reply(HTTPStatus.OK, instance)
        route: Callable[[dict[str, str], bytes], Any] | None = {
            ("POST", "/instances"): self._create,
            ("GET", "/instances"): lambda query, body: {"instances": cloud.find(
                {key[4:]: value for key, value in query.items() if key.startswith("tag.")})},
            ("GET", "/health"): lambda query, body: {"status": "ok"},
            ("GET", "/admin/faults"): lambda query, body: asdict(self.server.faults),
            ("PUT", "/admin/faults"): self._set_faults,
            ("POST", "/admin/fail-next"): self._fail_next,
            ("GET", "/admin/stats"): lambda query, body: self.server.stats(),
        }.get((method, path))
        if route is None:
            raise error(HTTPStatus.NOT_FOUND, "NotFound", f"no such call: {method} {path}")
        answer = route(query, body)
        return answer if isinstance(answer, Reply) else Reply(HTTPStatus.OK, answer)

    def _create(self, query: dict[str, str], body: bytes) -> Any:
        request = _json_object(body)
        token = request.get("client_token")
        tags = request.get("tags", {})
        if not isinstance(token, str) or not token:
            raise BadRequest("client_token must be a non-empty string")
        if not (isinstance(tags, dict) and all(isinstance(value, str) for value in tags.values())):
            raise BadRequest("tags must map names to strings")
        for key in ("image", "flavor", "user_data"):
            if not isinstance(request.get(key), (str, type(None))):
                raise BadRequest(f"{key} must be a string")
        server = self.server
        instance, created = server.cloud.create(
            token, tags, request.get("image"), request.get("flavor"), request.get("user_data"),
            server.faults.boot_time)
        if created and server.faults.ghost_rate and server.rng.random() < server.faults.ghost_rate:
            server.count_ghost()
            return error(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError",
                         "injected at ghost_rate (the instance was made)")
        return Reply(HTTPStatus.CREATED if created else HTTPStatus.OK, instance)

    def _set_faults(self, query: dict[str, str], body: bytes) -> Any:
        self.server.set_faults(self.server.faults.changed(_json_object(body)))
        return asdict(self.server.faults)

    def _fail_next(self, query: dict[str, str], body: bytes) -> Any:
        request = _json_object(body)
        status, count = request.get("status"), request.get("count", 1)
        if not (isinstance(status, int) and 400 <= status <= 599):
            raise BadRequest("status must be an HTTP error status (400 to 599)")
        if not (isinstance(count, int) and count >= 0):
            raise BadRequest("count must be a whole number of at least 0")
        self.server.arm_fail_next(status, count)
        return {"status": status, "count": count}

    def _send(self, reply: Reply) -> None:
        data = json.dumps(reply.payload).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _refuse(instance_id: str) -> None:
    raise error(HTTPStatus.METHOD_NOT_ALLOWED, "MethodNotAllowed",
                "an instance takes GET and DELETE")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError as problem:
        raise BadRequest(f"the body is not JSON: {problem}") from None
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m occo.resourcehandler.simcloud.server",
                                     description="simcloud: a simulated cloud on 127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="0: any free port")
    parser.add_argument("--state", type=Path, required=True, help="the state file")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every call takes")
    parser.add_argument("--boot-time", type=float, default=0.0,
                        help="seconds an instance stays pending")
    parser.add_argument("--rate-limit", type=float, help="calls a second beyond which 429 answers")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction of 503 answers")
    parser.add_argument("--ghost-rate", type=float, default=0.0,
                        help="fraction of creates answered 500 although made")
    parser.add_argument("--seed", type=int, help="for reproducible faults")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        faults = Faults().changed({"latency": args.latency, "boot_time": args.boot_time,
                                   "rate_limit": args.rate_limit, "error_rate": args.error_rate,
                                   "ghost_rate": args.ghost_rate})
        cloud = Cloud(args.state.absolute())
        server = SimCloudServer(args.port, cloud, faults, random.Random(args.seed))
    except (BadRequest, StateFileError, OSError) as problem:
        print(f"simcloud: {problem}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _exit)
    print(f"simcloud listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _exit(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
