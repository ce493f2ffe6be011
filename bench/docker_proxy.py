#!/usr/bin/env python3
"""A proxy in front of a Docker engine's unix socket that logs each API request it passes on.

`bench/containers.py` counts the engine calls a container costs with it, for real:
the docker plugin's endpoint (and the SDK client it is compared with) points
at the proxy's socket, and each request's arrival time, method and path go to
a log file, a line each, before the request is passed on, so a request that
was answered is always in the log. Answers are passed back unread: the proxy
follows requests only (headers, then a body of a Content-Length or in chunks).
It runs in a process of its own, so that it takes no time from the engine's
threads it measures.

    python bench/docker_proxy.py LISTEN_SOCKET ENGINE_SOCKET LOG_FILE

It prints `ready` once it listens, and runs until it is terminated.
"""
from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

HEAD_END = b"\r\n\r\n"
CHUNK = 1 << 16
BACKLOG = 1024
# the connections being served: asyncio keeps a connection's task only while its client's
# socket is read, and its engine reader only weakly, so one that is closing would be lost
SERVING: set[asyncio.Task] = set()


async def _pass_answers(engine: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
    try:
        while data := await engine.read(CHUNK):
            client.write(data)
            await client.drain()
    except ConnectionError:
        pass
    finally:
        client.close()


async def _pass_body(head: bytes, client: asyncio.StreamReader,
                     engine: asyncio.StreamWriter) -> None:
    """The request's body after its `head`: a Content-Length of bytes, or chunks to the last."""
    headers = {name.strip().lower(): value.strip() for name, _, value in
               (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)}
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        while True:
            size_line = await client.readuntil(b"\r\n")
            engine.write(size_line)
            size = int(size_line.split(b";")[0], 16)
            engine.write(await client.readexactly(size + 2))      # the chunk and its CRLF
            if size == 0:
                return
    length = int(headers.get(b"content-length", b"0") or 0)
    if length:
        engine.write(await client.readexactly(length))


def handler(engine_socket: str, log: TextIO
            ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """The connection handler: one engine connection per client connection, as a client's."""

    async def connection(client: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        SERVING.add(task)
        task.add_done_callback(SERVING.discard)
        try:
            engine, engine_writer = await asyncio.open_unix_connection(engine_socket)
        except OSError:
            writer.close()
            return
        answers = asyncio.create_task(_pass_answers(engine, writer))
        try:
            while True:
                head = await client.readuntil(HEAD_END)
                method, target = head.split(b" ", 2)[:2]
                log.write(f"{time.time():.6f} {method.decode()} {target.decode()}\n")
                engine_writer.write(head)
                await _pass_body(head, client, engine_writer)
                await engine_writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            engine_writer.close()
            await asyncio.gather(answers, return_exceptions=True)

    return connection


async def serve(listen: str, engine_socket: str, log_path: str) -> None:
    with open(log_path, "a", buffering=1) as log:
        # hundreds of clients connect at once (a level's workers); a unix socket past its
        # backlog refuses them at once (EAGAIN) rather than making them wait
        server = await asyncio.start_unix_server(handler(engine_socket, log), listen,
                                                 backlog=BACKLOG)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        print("ready", flush=True)
        async with server:
            await stop.wait()
        for task in SERVING:
            task.cancel()
        await asyncio.gather(*SERVING, return_exceptions=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    asyncio.run(serve(*sys.argv[1:]))
