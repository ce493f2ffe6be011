"""Whether a node answers at all: an ICMP echo where this host may send one, else TCP.

ICMP needs a `ping` binary that works here (it is often missing, and plain
users may not be allowed to use it) or an ICMP socket: a raw one as root, or
a datagram "ping socket" where `net.ipv4.ping_group_range` allows it. A
`Pinger` finds the first of these that works on first use and keeps to it.
Without ICMP, a TCP connection to the node's first health-check port (else
SSH's port 22) stands in; a refused connection counts as an answer, because
only a host that is up refuses.
"""
from __future__ import annotations

import ipaddress
import math
import secrets
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Sequence
from enum import StrEnum

from .checks import describe, tcp_connect
from .report import CheckResult

FALLBACK_PORT = 22
_ECHO_REQUEST, _ECHO_REPLY = 8, 0
_PAYLOAD = b"occopus health check"


class PingMethod(StrEnum):
    """How a ping is sent; shown in each ping result."""

    BINARY = "ping binary"
    RAW_SOCKET = "icmp raw socket"
    DATAGRAM_SOCKET = "icmp datagram socket"
    TCP = "tcp connect"

    def __str__(self) -> str:
        return self.value


class Pinger:
    """Pings nodes with the best method this host allows; safe to share between threads.

    `icmp=False` skips ICMP altogether; `binary` is the `ping` command to try
    first (a name looked up on PATH, or a path), None to try none.
    """

    def __init__(self, *, icmp: bool = True, binary: str | None = "ping") -> None:
        self.icmp = icmp
        self.binary = binary
        self._method: PingMethod | None = None
        self._binary_path: str | None = None
        self._lock = threading.Lock()

    @property
    def method(self) -> PingMethod:
        """The method found on first use."""
        with self._lock:
            if self._method is None:
                self._method = self._detect()
            return self._method

    def ping(self, address: str, ports: Sequence[int] = (), timeout: float = 1.0) -> CheckResult:
        """Whether `address` answers within `timeout` seconds."""
        method = self.method
        if method is PingMethod.BINARY:
            return self._run_binary(address, timeout)
        ip = _ipv4(address)
        if method is PingMethod.TCP or ip is None:
            return _tcp_ping(address, ports[0] if ports else FALLBACK_PORT, timeout)
        kind = socket.SOCK_RAW if method is PingMethod.RAW_SOCKET else socket.SOCK_DGRAM
        try:
            answered = _echo(ip, kind, timeout)
        except OSError as error:
            return CheckResult("ping", address, False, describe(error, timeout), str(method))
        return CheckResult("ping", address, answered,
                           None if answered else f"no echo reply within {timeout:g} s", str(method))

    def _detect(self) -> PingMethod:
        if not self.icmp:
            return PingMethod.TCP
        path = shutil.which(self.binary) if self.binary else None
        if path and _binary_answers(path, "127.0.0.1", 1.0) == 0:
            self._binary_path = path
            return PingMethod.BINARY
        for method, kind in ((PingMethod.RAW_SOCKET, socket.SOCK_RAW),
                             (PingMethod.DATAGRAM_SOCKET, socket.SOCK_DGRAM)):
            try:
                socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP).close()
            except OSError:
                continue
            return method
        return PingMethod.TCP

    def _run_binary(self, address: str, timeout: float) -> CheckResult:
        assert self._binary_path is not None
        code = _binary_answers(self._binary_path, address, timeout)
        reason = None if code == 0 else ("the ping binary did not finish" if code is None
                                         else f"ping exited with {code}")
        return CheckResult("ping", address, code == 0, reason, str(PingMethod.BINARY))


def _binary_answers(path: str, address: str, timeout: float) -> int | None:
    """The exit code of one `ping` of the address; None if it could not run or hung."""
    wait = max(1, math.ceil(timeout))
    try:
        return subprocess.run([path, "-c", "1", "-W", str(wait), address],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=wait + 5).returncode
    except (OSError, subprocess.TimeoutExpired):
        return None


def _tcp_ping(address: str, port: int, timeout: float) -> CheckResult:
    method = f"{PingMethod.TCP} to port {port}"
    error = tcp_connect(address, port, timeout)
    if error is None:
        return CheckResult("ping", address, True, None, method)
    if isinstance(error, ConnectionRefusedError):
        return CheckResult("ping", address, True, "the port refused: the host answers", method)
    return CheckResult("ping", address, False, describe(error, timeout), method)


def _ipv4(address: str) -> str | None:
    """The IPv4 address to send ICMP to; None for IPv6 or a name without one."""
    try:
        return str(ipaddress.IPv4Address(address))
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(address, None, socket.AF_INET, socket.SOCK_DGRAM)
    except OSError:
        return None
    return str(found[0][4][0]) if found else None


def _echo(ip: str, kind: int, timeout: float) -> bool:
    """Send one echo request and wait for its reply.

    A raw socket sees every ICMP packet of the host (other pings, our own
    request on loopback), so the reply is matched by type, source, identifier
    and sequence number; a datagram socket gets only its own replies, with an
    identifier the kernel chose.
    """
    ident, sequence = secrets.randbits(16), secrets.randbits(16)
    with socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP) as sock:
        sock.sendto(_echo_request(ident, sequence), (ip, 0))
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            try:
                data, (source, _) = sock.recvfrom(1024)
            except TimeoutError:
                return False
            if kind == socket.SOCK_RAW:
                data = data[(data[0] & 0x0F) * 4:]       # skip the IP header
            if len(data) < 8 or source != ip:
                continue
            icmp_type, _, _, reply_ident, reply_sequence = struct.unpack("!BBHHH", data[:8])
            if (icmp_type == _ECHO_REPLY and reply_sequence == sequence
                    and (kind == socket.SOCK_DGRAM or reply_ident == ident)):
                return True
    return False


def _echo_request(ident: int, sequence: int) -> bytes:
    header = struct.pack("!BBHHH", _ECHO_REQUEST, 0, 0, ident, sequence)
    checksum = _checksum(header + _PAYLOAD)
    return struct.pack("!BBHHH", _ECHO_REQUEST, 0, checksum, ident, sequence) + _PAYLOAD


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF
