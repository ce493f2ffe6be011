"""moto's EC2 server for tests: a real HTTP server process, and an account set up in it.

Shipped with the plugin so that any suite whose environment has `moto[server]`
can use it (the resource handler's tests, and the api's end-to-end runs of the
ec2 tutorials); it imports nothing of Occopus:

    with MotoServer() as server:
        values = tutorial_values(server.url)        # what the ec2 tutorials' placeholders take
        text = fill_tutorial(node_definitions_text, values)

The server validates what a real account would (images, key pairs, instance
types), so a wrong value fails as it would on AWS. The addresses it gives
instances are invented. In the default account (`PUBLIC`: a 10.10.0.0/16 VPC
whose subnet maps public addresses) they belong to nobody here, so nothing may
ever contact them. An account on the `LOOPBACK` network (127.77.0.0/16, no
public addresses) is for runs that let Occopus ping its nodes, as the
tutorials' default health check does: every address moto hands out there is
one of this machine's loopback addresses, which answer locally and reach no
other host.
"""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, ClassVar

import boto3
from botocore.client import BaseClient
from botocore.config import Config

HOST = "127.0.0.1"
REGION = "eu-west-1"
INSTANCE_TYPE = "t3.small"
# moto checks no credentials unless told to (`MotoServer.require_credentials`); these are what
# a user's auth_data.yaml entry would hold
CREDENTIALS: Mapping[str, str] = {"accesskey": "AKIAOCCOPUSMOTOTEST1",
                                  "secretkey": "occopus-moto-test-secret-key-0123456789ab"}
VALIDATION = {"MOTO_ENABLE_AMI_VALIDATION": "true",
              "MOTO_ENABLE_KEYPAIR_VALIDATION": "true",
              "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "true"}
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PORT_ATTEMPTS = 3           # a free port may be taken between choosing it and moto binding it

# the tutorials' placeholders, and the key of `tutorial_values` (and index) each one takes
PLACEHOLDERS: Mapping[str, tuple[str, int | None]] = {
    "replace_with_endpoint_of_ec2_interface_of_your_cloud": ("endpoint", None),
    "replace_with_regionname_of_your_ec2_interface": ("regionname", None),
    "replace_with_id_of_your_image_on_your_target_cloud": ("image_id", None),
    "replace_with_instance_type_of_your_image_on_your_target_cloud": ("instance_type", None),
    "replace_with_key_name_on_your_target_cloud": ("key_name", None),
    "replace_with_security_group_id1_on_your_target_cloud": ("security_group_ids", 0),
    "replace_with_security_group_id2_on_your_target_cloud": ("security_group_ids", 1),
    "replace_with_subnet_id_on_your_target_cloud": ("subnet_id", None),
}


class MotoServer:
    """`moto_server` of this environment on a free loopback port, until `stop()`."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = {**VALIDATION, **(env or {})}
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> MotoServer:
        executable = Path(sys.executable).with_name("moto_server")
        if not executable.exists():
            raise RuntimeError(f"{executable} is missing: install moto[server] in this "
                               "environment")
        self._log = tempfile.TemporaryFile(prefix="moto-server-")    # closed by stop()
        for _ in range(PORT_ATTEMPTS):
            self.port = _free_port()
            self._process = subprocess.Popen(
                [str(executable), "-H", HOST, "-p", str(self.port)], stdin=subprocess.DEVNULL,
                stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, **self.env})
            if self._wait_ready():
                return self
        output = self.output()
        self.stop()
        raise RuntimeError(f"moto_server did not start on {HOST}; its output ends: "
                           f"{output[-500:]}")

    def stop(self) -> None:
        """End the server (a no-op once stopped)."""
        self._end_process()
        if self._log is not None:
            self._log.close()

    def _end_process(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def output(self) -> str:
        """What the server printed so far."""
        if self._log is None or self._log.closed:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def reset(self) -> None:
        """Forget everything made in the server."""
        self._post("/moto-api/reset", b"")

    def require_credentials(self, required: bool = True) -> None:
        """From now on, refuse requests not signed with an access key made in its IAM."""
        self._post("/moto-api/reset-auth", b"0" if required else b"inf")

    def client(self, service: str = "ec2", region: str = REGION,
               credentials: Mapping[str, str] = CREDENTIALS) -> BaseClient:
        """A boto3 client of the server, making one attempt per call."""
        return boto3.session.Session().client(
            service, endpoint_url=self.url, region_name=region,
            aws_access_key_id=credentials["accesskey"],
            aws_secret_access_key=credentials["secretkey"],
            config=Config(retries={"total_max_attempts": 1}))

    def _wait_ready(self) -> bool:
        """Whether the server answers HTTP before the deadline; if not, it is ended."""
        assert self._process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                self._request("GET", "/moto-api/", b"")
                return True
            except OSError:
                time.sleep(0.05)
        self._end_process()
        return False

    def _post(self, path: str, body: bytes) -> None:
        status = self._request("POST", path, body)
        if status != 200:
            raise RuntimeError(f"POST {path} answered {status}")

    def _request(self, method: str, path: str, body: bytes) -> int:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            connection.request(method, path, body, {"Content-Type": "text/plain"})
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


class MotoTestCase(unittest.TestCase):
    """A moto EC2 server (`server`) for the test class, stopped after it."""

    server: ClassVar[MotoServer]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.server = MotoServer().start()
        cls.addClassCleanup(cls.server.stop)


@dataclass(frozen=True)
class Network:
    """Where an account's instances get their addresses."""

    vpc_cidr: str
    subnet_cidr: str
    public_addresses: bool          # the subnet maps a public address (and DNS name) on launch


# a public subnet, as users have one: its addresses are invented, never to be contacted
PUBLIC = Network("10.10.0.0/16", "10.10.1.0/24", public_addresses=True)
# a private subnet on this machine's loopback range: an instance's only address answers here
LOOPBACK = Network("127.77.0.0/16", "127.77.1.0/24", public_addresses=False)


@dataclass(frozen=True)
class Account:
    """What a user has in their account before following the ec2 tutorials."""

    region: str
    image_id: str
    instance_type: str
    key_name: str
    vpc_id: str
    subnet_id: str
    security_group_ids: tuple[str, ...]

    def tutorial_values(self, endpoint: str) -> dict[str, Any]:
        """The values of the tutorials' resource sections (keys as in the node definitions)."""
        return {"endpoint": endpoint, "regionname": self.region, "image_id": self.image_id,
                "instance_type": self.instance_type, "key_name": self.key_name,
                "security_group_ids": list(self.security_group_ids),
                "subnet_id": self.subnet_id}


def prepare_account(client: BaseClient, region: str = REGION,
                    network: Network = PUBLIC) -> Account:
    """A key pair, a VPC with a subnet on `network` and two security groups (SSH, ping), and an
    image, made or found with `client` (of `region`). Names are unique: call it again freely."""
    suffix = uuid.uuid4().hex[:8]
    key_name = client.create_key_pair(KeyName=f"occopus-{suffix}")["KeyName"]
    vpc_id = client.create_vpc(CidrBlock=network.vpc_cidr)["Vpc"]["VpcId"]
    subnet_id = client.create_subnet(VpcId=vpc_id,
                                     CidrBlock=network.subnet_cidr)["Subnet"]["SubnetId"]
    client.modify_subnet_attribute(SubnetId=subnet_id,
                                   MapPublicIpOnLaunch={"Value": network.public_addresses})
    groups = []
    for name, permission in (("ssh", {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}),
                             ("ping", {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1})):
        group_id = client.create_security_group(GroupName=f"occopus-{name}-{suffix}",
                                                Description=f"occopus tests: {name}",
                                                VpcId=vpc_id)["GroupId"]
        client.authorize_security_group_ingress(
            GroupId=group_id, IpPermissions=[{**permission,
                                              "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        groups.append(group_id)
    return Account(region, find_image_id(client), INSTANCE_TYPE, key_name, vpc_id, subnet_id,
                   tuple(groups))


def find_image_id(client: BaseClient) -> str:
    """The newest Amazon Linux 2 image of the client's region, found by filters: listing all
    of moto's images takes seconds."""
    images = client.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": ["amzn2-ami-hvm-*"]},
        {"Name": "architecture", "Values": ["x86_64"]},
        {"Name": "state", "Values": ["available"]}])["Images"]
    if not images:
        raise RuntimeError("moto lists no Amazon Linux 2 image (amzn2-ami-hvm-*, x86_64)")
    return str(max(images, key=lambda image: (image.get("CreationDate", ""),
                                              image["ImageId"]))["ImageId"])


def tutorial_values(endpoint: str, region: str = REGION,
                    network: Network = PUBLIC) -> dict[str, Any]:
    """For the moto server at `endpoint`: an account prepared in it on `network`, as the values
    the ec2 tutorials' placeholders take (endpoint, regionname, image_id, instance_type,
    key_name, security_group_ids, subnet_id)."""
    client = boto3.session.Session().client(
        "ec2", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=CREDENTIALS["accesskey"],
        aws_secret_access_key=CREDENTIALS["secretkey"])
    try:
        return prepare_account(client, region, network).tutorial_values(endpoint)
    finally:
        client.close()


def fill_tutorial(text: str, values: Mapping[str, Any]) -> str:
    """A tutorial file's text with every placeholder replaced by its value from `values`."""
    for placeholder, (key, index) in PLACEHOLDERS.items():
        value = values[key] if index is None else values[key][index]
        text = text.replace(placeholder, str(value))
    return text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])
