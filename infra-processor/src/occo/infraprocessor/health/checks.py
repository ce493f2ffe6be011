"""The checks that need no choice of method: a TCP port, a URL, a MySQL database.

Each returns a `CheckResult`. What the node does wrong (a refused connection,
a timeout, an HTTP 500, a wrong password) is a failed result with its reason,
never an exception: a node that is still booting is the normal case.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field

import httpx
import pymysql

from occo.util.redact import redact_url

from .report import CheckResult

MYSQL_PORT = 3306


@dataclass(frozen=True)
class MysqlDb:
    """One `mysqldbs` entry, rendered: a database the node must let this user into."""

    name: str
    user: str
    password: str = field(default="", repr=False)
    port: int = MYSQL_PORT


def endpoint(host: str, port: int) -> str:
    """`host:port`, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def tcp_connect(host: str, port: int, timeout: float) -> OSError | None:
    """Open and close a TCP connection; the error, or None when it was accepted."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as error:
        return error


def describe(error: OSError, timeout: float) -> str:
    """Why a connection failed, in words."""
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the address: {error.strerror}"
    return error.strerror or str(error)


def check_port(host: str, port: int, timeout: float) -> CheckResult:
    """The port accepts TCP connections."""
    error = tcp_connect(host, port, timeout)
    return CheckResult("port", endpoint(host, port), error is None,
                       None if error is None else describe(error, timeout))


def check_url(url: str, timeout: float) -> CheckResult:
    """The URL answers 2xx or 3xx to a GET, once redirects are followed.

    GET rather than the original's HEAD, which many servers refuse with 405;
    the body is not read. Proxy settings of the environment are ignored: the
    node itself must answer.
    """
    target = redact_url(url)
    try:
        with httpx.Client(follow_redirects=True, timeout=timeout, trust_env=False) as client:
            with client.stream("GET", url) as response:
                status = response.status_code
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:    # no retry makes it a URL
        return CheckResult("url", target, False, redact_url(f"not a usable URL: {error}"),
                           permanent=True)
    except httpx.HTTPError as error:
        return CheckResult("url", target, False, redact_url(f"{type(error).__name__}: {error}"))
    passed = 200 <= status < 400
    return CheckResult("url", target, passed, None if passed else f"HTTP {status}")


def check_mysql(host: str, database: MysqlDb, timeout: float) -> CheckResult:
    """The user can log in to the database on the node."""
    target = f"{database.name} as {database.user} at {endpoint(host, database.port)}"
    try:
        connection = pymysql.connect(host=host, port=database.port, user=database.user,
                                     password=database.password, database=database.name,
                                     connect_timeout=timeout, read_timeout=timeout,
                                     write_timeout=timeout)
    except pymysql.MySQLError as error:
        return CheckResult("mysqldb", target, False, _mysql_reason(error))
    connection.close()
    return CheckResult("mysqldb", target, True)


def _mysql_reason(error: pymysql.MySQLError) -> str:
    match error.args:
        case (int(code), str(message)):
            return f"MySQL error {code}: {message}"
    return str(error) or type(error).__name__
