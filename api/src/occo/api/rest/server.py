"""Running the REST service under uvicorn until SIGTERM or SIGINT.

Before serving: the address is checked (without a token the service listens
only on a loopback address: `auth: none`, or a token file with no token), the
tokens are read or made (`auth`), the port is bound (a port in use is an
error of the command, not a traceback), and the maintainer starts. Once the
socket listens, one line on stderr says where:

    occopus-rest-service: serving on http://HOST:PORT

(the real port when 0 was asked). SIGTERM or SIGINT: `stopping` is cancelled
(no new work: 503; the maintainer's passes are cancelled), uvicorn stops
accepting and lets the requests in flight end, the maintainer stops (passes
finish or roll back, leases are released), then the webhook sender (so the
events of those last passes are still sent), the connections close, exit 0.
The service's own handlers of both signals are installed from the start (and
the signals ignored once all is done, until the exit): a second signal cannot
kill it half way (leases held, a traceback); it only says on stderr that the
service is still stopping, and shortens nothing (the requests in flight get
their `GRACE`, and event streams end as soon as `stopping` is cancelled).

uvicorn's own warnings and errors come out as the commands' warning lines
(`occo.api.warninglines`); there is no access log, so no header (an
`Authorization` among them) is ever logged.
"""
from __future__ import annotations

import gc
import ipaddress
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn

from occo.util.cancel import Cancellation
from occo.util.config import Settings
from occo.util.errors import ConfigurationError, OccoError

from ..warninglines import WarningLines
from .app import create_app
from .auth import Tokens
from .daemon import Maintainer
from .errors import PROG
from .service import RestService
from .webhooks import WebhookSender

GRACE = 30.0       # seconds the requests in flight (an event stream) may take to end


def say(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def serve(settings: Settings, host: str, port: int) -> int:
    """Serve until SIGTERM or SIGINT; 0 then. `OccoError` for what stops it before serving."""
    found = addresses(host, port)
    loopback = all(_is_loopback(address) for address in found)
    if settings.rest.auth == "none" and not loopback:
        raise ConfigurationError(
            f"refusing to listen on {host} without authentication (rest auth is 'none'): "
            "anyone who can reach it could build and destroy infrastructures",
            hint="listen on 127.0.0.1 (or ::1), or set rest: {auth: token}")
    tokens = Tokens.load(settings.rest, say)
    if tokens.empty and tokens.required and not loopback:
        raise ConfigurationError(
            f"refusing to listen on {host}: the token file {tokens.path} holds no token",
            hint="put a token in it (one a line), or listen on 127.0.0.1")
    with bound(found[0], host, port) as listener:
        stopping = Cancellation()
        maintainer = Maintainer(settings, cancel=stopping)
        service = RestService(settings, tokens, maintainer, stopping=stopping)
        # proxy_headers off: no route uses the client's address or scheme, so a layer that
        # rewrites them from X-Forwarded-* would only cost every request
        server = Server(uvicorn.Config(create_app(service), host=host, port=port,
                                       log_config=None, log_level="warning", access_log=False,
                                       timeout_graceful_shutdown=GRACE, proxy_headers=False),
                        url=url_of(host, listener.getsockname()[1]))
        _route_logs()
        with Shutdown(stopping, server):
            webhooks = WebhookSender(service)
            webhooks.start()     # first: a key file it cannot make stops the start, not a pass
            try:
                maintainer.start()
                if not stopping.cancelled:
                    # uvicorn runs its event loop in this thread: this is the connection the
                    # coroutine routes use, opened before the first requests wait for it
                    service.store()
                    # what exists now lives as long as the process: out of the collector's
                    # sight, a full collection scans only what serving makes (it scanned
                    # everything for ~50 ms, stalling every request in flight)
                    gc.freeze()
                    server.run(sockets=[listener])
            finally:
                stopping.cancel()
                try:
                    maintainer.stop()        # first: its last passes' events are still sent
                finally:
                    try:
                        webhooks.stop()
                    finally:
                        service.close()
    return 0


class Shutdown:
    """`with Shutdown(stopping, server):` SIGTERM and SIGINT stop the service, from the
    moment it starts: the first cancels `stopping` and ends serving; a later one only says
    (once) that it is still stopping, never interrupts the cleanup. When the block ends
    both signals are ignored, as serving is the command's last act: one between the
    cleanup and the exit (Python puts back the default handlers as it exits) would
    otherwise still kill it, and make its exit code lie."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, stopping: Cancellation, server: uvicorn.Server) -> None:
        self.stopping = stopping
        self.server = server
        self._told = False

    def __enter__(self) -> Shutdown:
        for number in self.SIGNALS:
            signal.signal(number, self._on_signal)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number in self.SIGNALS:
            signal.signal(number, signal.SIG_IGN)

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        if not (self.server.should_exit or self.stopping.cancelled):
            self.server.should_exit = True
            self.stopping.cancel()
        elif not self._told:
            self._told = True
            _say_from_handler(f"still stopping ({signal.Signals(number).name}): the passes in "
                              "flight finish or roll back and the leases are released first")


def _say_from_handler(text: str) -> None:
    """A line on stderr from a signal handler: written straight to the descriptor, as the
    handler may have interrupted a write of stderr's own buffer (a reentrant write of it
    raises)."""
    try:
        os.write(sys.stderr.fileno(), f"{PROG}: {text}\n".encode())
    except (OSError, ValueError):
        pass


class Server(uvicorn.Server):
    """uvicorn's server, with its serving line and without its own signal handlers: the
    service's (`Shutdown`) are installed for the whole of `serve` (uvicorn's would be taken
    away as serving ends, and would raise the signal again: the command is to exit 0)."""

    def __init__(self, config: uvicorn.Config, *, url: str) -> None:
        super().__init__(config)
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            say(f"serving on {self.url}")

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def addresses(host: str, port: int) -> list[tuple]:
    """What `host` names: (family, type, protocol, socket address) each, the first to bind."""
    try:
        found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise ConfigurationError(f"cannot listen on {host!r}: {reason}",
                                 hint="give --host an address of this machine, e.g. 127.0.0.1"
                                 ) from None
    return [(family, kind, protocol, address) for family, kind, protocol, _, address in found]


def _is_loopback(found: tuple) -> bool:
    try:
        return ipaddress.ip_address(found[3][0].split("%")[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def bound(found: tuple, host: str, port: int) -> Iterator[socket.socket]:
    """A socket bound to the address (uvicorn makes it listen); `OccoError` if it cannot be."""
    family, kind, protocol, address = found
    listener = socket.socket(family, kind, protocol)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as error:
        listener.close()
        raise OccoError(f"cannot listen on {host} port {port}: {error.strerror or error}",
                        hint="choose another port with --port (0: any free one)") from None
    try:
        yield listener
    finally:
        listener.close()


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _route_logs() -> None:
    """uvicorn's warnings and errors as the command's warning lines (details to a private
    file, never a traceback on the terminal)."""
    logger = logging.getLogger("uvicorn")
    logger.handlers = [handler for handler in logger.handlers
                       if not isinstance(handler, WarningLines)]
    logger.addHandler(WarningLines(PROG))
    logger.propagate = False
