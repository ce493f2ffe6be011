"""The `resource` section of type `docker`, as the original Occopus read it."""
from __future__ import annotations

from ..schemas import resource_schema, text

DOCKER = resource_schema("docker", "A Docker engine.", {
    "endpoint": text("the Docker engine URL: unix:///path/to/docker.sock or "
                     "tcp://127.0.0.1:2375", connection=True),
    "origin": text("dockerhub (pull), local (an image already there), or the URL of an "
                   "image tarball to import"),
    "image": text("the image name"),
    "tag": text("the image tag"),
}, {})
