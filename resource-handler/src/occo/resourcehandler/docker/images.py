"""Getting a node's image onto the engine: once per handler, one load at a time per image.

`origin` says where an image that is not there yet comes from: `dockerhub`
pulls it, `local` means it must be there already, and an http(s) URL is a
tarball the engine imports (`docker import URL image:tag`). An image found
on the engine is never loaded again, and a hundred nodes that need it at once
wait for one load.
"""
from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterable

import docker
from docker.errors import ImageNotFound

from ..base import PermanentError
from .errors import EngineSaid, engine_call
from .launch import ORIGINS, Launch


class ImageLoader:
    """The images one handler has made sure of, and a lock per image being loaded."""

    def __init__(self, client: docker.APIClient, endpoint: str, label: str) -> None:
        self._client = client
        self._endpoint = endpoint
        self._label = label     # how messages name the engine
        self._ready: set[str] = set()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def ensure(self, launch: Launch) -> None:
        """Make sure `launch`'s image is on the engine, loading it from its origin if not."""
        reference = launch.reference
        if reference in self._ready:
            return
        with self._lock_of(reference):
            if reference in self._ready:
                return
            if not self._present(launch):
                self._load(launch)
            self._ready.add(reference)

    def forget(self, reference: str) -> None:
        """The engine says the image is gone (removed meanwhile): look again next time."""
        self._ready.discard(reference)

    def _lock_of(self, reference: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(reference, threading.Lock())

    def _present(self, launch: Launch) -> bool:
        with engine_call(f"[{self._label}] node {launch.node_id}: looking for image "
                         f"{launch.reference}", self._endpoint):
            try:
                self._client.inspect_image(launch.reference)
            except ImageNotFound:
                return False
        return True

    def _load(self, launch: Launch) -> None:
        origin, reference = launch.origin, launch.reference
        what = f"[{self._label}] node {launch.node_id}"
        if origin == "local":
            raise PermanentError(
                f"{what}: image {reference} is not on the Docker engine, and origin local "
                "uses an image already there",
                hint="load it first (docker import or docker load), or set origin to "
                     "dockerhub or the URL of an image tarball")
        if origin == "dockerhub":
            with engine_call(f"{what}: pulling {reference} from Docker Hub", self._endpoint,
                             hint="the engine must reach Docker Hub; otherwise use origin "
                                  "local or the URL of an image tarball"):
                _raise_reported(self._client.pull(launch.image, tag=launch.tag, stream=True,
                                                  decode=True))
            return
        if urllib.parse.urlsplit(origin).scheme not in ("http", "https"):
            raise PermanentError(f"{what}: origin {origin!r} is not one the docker plugin "
                                 "knows", hint=f"set origin to {ORIGINS}")
        with engine_call(f"{what}: importing {origin} as {reference}", self._endpoint,
                         hint="check that the engine can download the URL and that it is an "
                              "image tarball (a root filesystem)"):
            output = self._client.import_image_from_url(origin, repository=launch.image,
                                                        tag=launch.tag)
            _raise_reported(_messages(output))


def _messages(output: str) -> list[dict]:
    """The JSON messages of a non-streamed progress answer."""
    messages = []
    for line in output.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            messages.append(message)
    return messages


def _raise_reported(messages: Iterable[dict]) -> None:
    """Read a progress stream to its end; a failure reported in it is raised."""
    for message in messages:
        if isinstance(message, dict) and message.get("error"):
            detail = message.get("errorDetail") or {}
            raise EngineSaid(detail.get("message") or message["error"])
