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
finish or roll back, leases are released), the connections close, exit 0. A
second SIGINT stops without waiting for the requests in flight.

uvicorn's own warnings and errors come out as the commands' warning lines
(`occo.api.warninglines`); there is no access log, so no header (an
`Authorization` among them) is ever logged.
"""
from __future__ import annotations

import ipaddress
import logging
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
from .service import RestService
from .webhooks import WebhookSender

PROG = "occopus-rest-service"
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
        server = Server(uvicorn.Config(create_app(service), host=host, port=port,
                                       log_config=None, log_level="warning", access_log=False,
                                       timeout_graceful_shutdown=GRACE),
                        stopping=stopping, url=url_of(host, listener.getsockname()[1]))
        _route_logs()
        webhooks = WebhookSender(service)
        webhooks.start()         # first: a key file it cannot make stops the start, not a pass
        try:
            maintainer.start()
            server.run(sockets=[listener])
        finally:
            stopping.cancel()
            try:
                webhooks.stop()
            finally:
                try:
                    maintainer.stop()
                finally:
                    service.close()
    return 0


class Server(uvicorn.Server):
    """uvicorn's server, with the service's own answer to SIGTERM and SIGINT (uvicorn's would
    raise the signal again once stopped: the command is to exit 0) and its serving line."""

    def __init__(self, config: uvicorn.Config, *, stopping: Cancellation, url: str) -> None:
        super().__init__(config)
        self.stopping = stopping
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            say(f"serving on {self.url}")

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        signals = (signal.SIGTERM, signal.SIGINT)
        previous = {number: signal.signal(number, self._stop) for number in signals}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _stop(self, number: int, frame: FrameType | None) -> None:
        if self.should_exit and number == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True
        self.stopping.cancel()


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
