"""The `docker` resource type: containers on a Docker engine (see `handler`)."""
from occo.util.plugins import Declared

from .schema import DOCKER

PLUGIN = Declared(DOCKER, "occo.resourcehandler.docker.handler:DockerHandler")
