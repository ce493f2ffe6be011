"""simcloud's HTTP server: a small simulated cloud for tests, chaos runs and benchmarks.

    python -m occo.resourcehandler.simcloud.server --port P --state FILE [--latency S]
        [--boot-time S] [--rate-limit N] [--error-rate F] [--ghost-rate F] [--seed N]

It listens on 127.0.0.1 only and prints one line once it accepts
connections: `simcloud listening on http://127.0.0.1:P` (with `--port 0` the
system picks the port: read it from that line). The state (`cloud.py`) is
kept in FILE and survives a restart; every change is in the file before it
is answered. SIGTERM stops it, the calls in flight given a moment to finish.

It serves every connection on one asyncio event loop (aiohttp), kept open
between calls (HTTP/1.1): hundreds of calls waiting out their latency at
once cost next to no CPU, so that a benchmark measures the engine, not the
simulator.

The API speaks JSON; an error is `{"error": {"code": ..., "message": ...}}`.

    POST   /instances           {"client_token", "tags"?, "image"?, "flavor"?, "user_data"?}
                                201: the new instance; 200: the one made before for this
                                client token (the first request's parameters win)
    POST   /instances/batch     {"instances": [up to 200 such requests]}; 200:
                                {"results": [...]}, one per request, in order: {"status",
                                "instance"} or {"status", "error"}, each status what
                                POST /instances would have answered that request
    GET    /instances/ID        200: the instance, with its user_data; 404
    GET    /instances?tag.K=V   200: {"instances": [...]} carrying every tag given,
                                terminated ones included
    GET    /instances?ids=A,B   200: {"instances": [...]} of these ids, in this order, each
                                once: those it knows (terminated ones included); with
                                tag.K=V too, only those also carrying every tag given;
                                with view=status, only the "id", "state" and
                                "private_ip" of each (what a poll needs)
    DELETE /instances/ID        200: the instance, terminated (again: the same); 404
    GET    /health              200: {"status": "ok"}
    GET    /admin/faults        200: the fault settings
    PUT    /admin/faults        change some: {"latency", "boot_time", "rate_limit",
                                "error_rate", "ghost_rate"}; 200: all of them
    POST   /admin/fail-next     {"status": 400, "count": 1}: the next API calls answer this
    GET    /admin/stats         200: {"calls", "answers": {status: n}, "made", "ghosts"}
                                since it started ("made": instances made, in batches too),
                                and "instances": {state: n}

An instance: `id`, `client_token`, `state` (pending, running, terminated),
`tags`, `image`, `flavor`, `private_ip`, `created_at`, `ready_at`,
`terminated_at` (epoch seconds), `cost` (so far), and `user_data` where one
instance is asked for.

Faults hit the API calls (`/instances...`), never `/health` or `/admin`, in
this order: every call waits `latency` seconds; beyond `rate_limit` calls a
second (a bucket of one second's calls) the answer is 429 with Retry-After;
then a status armed by fail-next; then a 503 at `error_rate`; and a create
that made an instance answers 500 at `ghost_rate`, the instance staying (a
retry with its client token gets it). A batch is one call: its faults hit it
whole, but for `ghost_rate`, which hits each create in it. `boot_time` counts for instances
created after it is set; setting faults refills the rate-limit bucket.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import signal
import socket
import sys
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aiohttp import web

from ..limits import TokenBucket
from .cloud import Cloud, StateFileError

HOST = "127.0.0.1"
# connections waiting to be accepted: an engine opens one per call in flight, hundreds at once
# when a level of a large infrastructure starts, and a connection the queue has no room for is
# retried by the client's TCP only a second later
BACKLOG = 1024
# once told to stop, the seconds a call in flight gets to be answered (then as many again to end
# once cancelled: aiohttp's shutdown)
STOP_GRACE = 0.5
INSTANCE_PATH = re.compile(r"/instances/(?P<id>[^/]+)")
MAX_BATCH = 200         # creates in one POST /instances/batch


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


class Reply(Exception):
    """An answer: returned by a route, or raised from anywhere to end the request with it."""

    def __init__(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = headers or {}


def error(status: int, code: str, message: str, **headers: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message}}, headers)


# a call of the API: given the query and the body, its answer (a Reply, or the payload of a 200)
Route = Callable[[Mapping[str, str], bytes], Awaitable[Any]]


class SimCloudServer:
    """The cloud behind its API, with its faults; on one event loop, so without locks."""

    def __init__(self, cloud: Cloud, faults: Faults, rng: random.Random) -> None:
        self.cloud = cloud
        self.rng = rng
        self._answers: Counter[int] = Counter()
        self._ghosts = 0
        self._made = 0
        self._fail_next: tuple[int, int] = (0, 0)        # (status, how many calls)
        self._routes: dict[tuple[str, str], Route] = {
            ("POST", "/instances"): self._create,
            ("POST", "/instances/batch"): self._create_batch,
            ("GET", "/instances"): self._list,
            ("GET", "/health"): self._health,
            ("GET", "/admin/faults"): self._get_faults,
            ("PUT", "/admin/faults"): self._set_faults,
            ("POST", "/admin/fail-next"): self._arm_fail_next,
            ("GET", "/admin/stats"): self._stats,
        }
        self.set_faults(faults)

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.bucket = (TokenBucket(faults.rate_limit, max(1.0, faults.rate_limit))
                       if faults.rate_limit else None)

    async def handle(self, request: web.BaseRequest) -> web.Response:
        """Any request; every answer is JSON, the errors (404 and 405 too) in the API's shape."""
        method, path = request.method, request.path
        api = path == "/instances" or path.startswith("/instances/")
        try:
            body = await request.read()
            if api:
                await self._inject_faults()
            answer = await self._route(method, path, request.query, body)
        except Reply as reply:
            answer = reply
        except BadRequest as problem:
            answer = error(HTTPStatus.BAD_REQUEST, "BadRequest", str(problem))
        except web.HTTPRequestEntityTooLarge as refused:    # a body beyond aiohttp's 1 MiB
            answer = error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "TooLarge", str(refused.text))
        except Exception as bug:      # a bug here: say so, and keep serving
            traceback.print_exc(file=sys.stderr)
            answer = error(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError", repr(bug))
        if api:
            self._answers[answer.status] += 1
        return web.json_response(answer.payload, status=answer.status, headers=answer.headers)

    async def _inject_faults(self) -> None:
        faults, bucket = self.faults, self.bucket
        if faults.latency:
            await asyncio.sleep(faults.latency)
        if bucket is not None:
            wait = bucket.try_take()
            if wait > 0:
                raise error(HTTPStatus.TOO_MANY_REQUESTS, "RateLimited",
                            f"more than {faults.rate_limit:g} calls a second; "
                            f"retry after {wait:.3f} s", **{"Retry-After": str(math.ceil(wait))})
        status, count = self._fail_next
        if count > 0:
            self._fail_next = (status, count - 1)
            raise error(status, "Injected", f"fault armed by /admin/fail-next: {status}",
                        **({"Retry-After": "1"} if status == HTTPStatus.TOO_MANY_REQUESTS else {}))
        if faults.error_rate and self.rng.random() < faults.error_rate:
            raise error(HTTPStatus.SERVICE_UNAVAILABLE, "Unavailable", "injected at error_rate")

    async def _route(self, method: str, path: str, query: Mapping[str, str], body: bytes
                     ) -> Reply:
        route = self._routes.get((method, path))
        found = INSTANCE_PATH.fullmatch(path)
        if route is None and found:
            return await self._instance(method, found["id"])
        if route is None:
            raise error(HTTPStatus.NOT_FOUND, "NotFound", f"no such call: {method} {path}")
        answer = await route(query, body)
        return answer if isinstance(answer, Reply) else Reply(HTTPStatus.OK, answer)

    async def _instance(self, method: str, instance_id: str) -> Reply:
        if method == "GET":
            instance = self.cloud.get(instance_id)
        elif method == "DELETE":
            instance = await self.cloud.delete(instance_id)
        else:
            raise error(HTTPStatus.METHOD_NOT_ALLOWED, "MethodNotAllowed",
                        "an instance takes GET and DELETE")
        if instance is None:
            raise error(HTTPStatus.NOT_FOUND, "NotFound", f"no instance {instance_id}")
        return Reply(HTTPStatus.OK, instance)

    async def _create(self, query: Mapping[str, str], body: bytes) -> Reply:
        reply = self._make(_json_object(body))
        await self.cloud.state.saved()
        return reply

    async def _create_batch(self, query: Mapping[str, str], body: bytes) -> Any:
        requests = _json_object(body).get("instances")
        if not (isinstance(requests, list) and 1 <= len(requests) <= MAX_BATCH):
            raise BadRequest(f"instances must be a list of 1 to {MAX_BATCH} create requests")
        try:
            replies = [self._make_or_refuse(request) for request in requests]
        finally:                    # what was made before a failure is saved all the same
            await self.cloud.state.saved()
        return {"results": [{"status": reply.status, "instance": reply.payload}
                            if reply.status < 400 else {"status": reply.status, **reply.payload}
                            for reply in replies]}

    def _make_or_refuse(self, request: Any) -> Reply:
        """One create of a batch: its answer, refusals included."""
        try:
            if not isinstance(request, dict):
                raise BadRequest("a create request must be a JSON object")
            return self._make(request)
        except BadRequest as problem:
            return error(HTTPStatus.BAD_REQUEST, "BadRequest", str(problem))

    def _make(self, request: dict[str, Any]) -> Reply:
        """One create, made but not saved yet: the caller awaits `cloud.state.saved()`."""
        token = request.get("client_token")
        tags = request.get("tags", {})
        if not isinstance(token, str) or not token:
            raise BadRequest("client_token must be a non-empty string")
        if not (isinstance(tags, dict) and all(isinstance(value, str) for value in tags.values())):
            raise BadRequest("tags must map names to strings")
        for key in ("image", "flavor", "user_data"):
            if not isinstance(request.get(key), (str, type(None))):
                raise BadRequest(f"{key} must be a string")
        faults = self.faults
        instance, created = self.cloud.make(
            token, tags, request.get("image"), request.get("flavor"), request.get("user_data"),
            faults.boot_time)
        self._made += created
        if created and faults.ghost_rate and self.rng.random() < faults.ghost_rate:
            self._ghosts += 1
            return error(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError",
                         "injected at ghost_rate (the instance was made)")
        return Reply(HTTPStatus.CREATED if created else HTTPStatus.OK, instance)

    async def _list(self, query: Mapping[str, str], body: bytes) -> Any:
        tags = {key[4:]: value for key, value in query.items() if key.startswith("tag.")}
        ids = query.get("ids")
        return {"instances": self.cloud.find(tags, None if ids is None else ids.split(","),
                                             status=query.get("view") == "status")}

    async def _health(self, query: Mapping[str, str], body: bytes) -> Any:
        return {"status": "ok"}

    async def _get_faults(self, query: Mapping[str, str], body: bytes) -> Any:
        return asdict(self.faults)

    async def _set_faults(self, query: Mapping[str, str], body: bytes) -> Any:
        self.set_faults(self.faults.changed(_json_object(body)))
        return asdict(self.faults)

    async def _arm_fail_next(self, query: Mapping[str, str], body: bytes) -> Any:
        request = _json_object(body)
        status, count = request.get("status"), request.get("count", 1)
        if not (isinstance(status, int) and 400 <= status <= 599):
            raise BadRequest("status must be an HTTP error status (400 to 599)")
        if not (isinstance(count, int) and count >= 0):
            raise BadRequest("count must be a whole number of at least 0")
        self._fail_next = (status, count)
        return {"status": status, "count": count}

    async def _stats(self, query: Mapping[str, str], body: bytes) -> Any:
        return {"calls": sum(self._answers.values()),
                "answers": {str(status): n for status, n in self._answers.items()},
                "made": self._made, "ghosts": self._ghosts,
                "instances": self.cloud.count_by_state()}


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
        listener = socket.create_server((HOST, args.port), backlog=BACKLOG)
    except (BadRequest, StateFileError, OSError, OverflowError) as problem:  # Overflow: a bad port
        print(f"simcloud: {problem}", file=sys.stderr)
        return 2
    asyncio.run(serve(SimCloudServer(cloud, faults, random.Random(args.seed)), listener))
    return 0


async def serve(server: SimCloudServer, listener: socket.socket) -> None:
    """Answer on `listener` until SIGTERM or SIGINT, then let the calls in flight end."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    runner = web.ServerRunner(web.Server(server.handle, access_log=None),
                              shutdown_timeout=STOP_GRACE)
    await runner.setup()
    try:
        await web.SockSite(runner, listener, backlog=BACKLOG).start()
        print(f"simcloud listening on http://{HOST}:{listener.getsockname()[1]}", flush=True)
        await stopped.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    sys.exit(main())
