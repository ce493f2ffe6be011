"""`ChefServer`: the Chef Infra Server API as one client sees it, every request signed.

JSON over HTTP(S) through httpx. The endpoint is the server's URL with the
organization, as knife's `chef_server_url` is
(`https://chef.example.org/organizations/acme`); paths are relative to it.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from occo.util.errors import ConfigurationError, OccoError

from .signing import API_VERSION, signed_headers

CHEF_VERSION = "18.0.0"         # the X-Chef-Version the server is told: a current client's


class ChefError(OccoError):
    """The Chef server answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(ChefError):
    """404: the object is not on the server."""


class Conflict(ChefError):
    """409: an object of that name is there already."""


def name_in_path(name: str) -> str:
    """A node, role or environment name as one path segment."""
    return quote(name, safe="")


class ChefServer:
    """Thread-safe (httpx's connection pool is): a manager's worker threads share one."""

    def __init__(self, endpoint: str, client_name: str, key: rsa.RSAPrivateKey, *,
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(f"endpoint {endpoint!r} of a chef section is not an "
                                     "http(s) URL", hint="write the URL of the Chef server with "
                                     "its organization, e.g. https://chef.example.org/"
                                     "organizations/acme")
        self.endpoint = endpoint.rstrip("/")
        self.client_name = client_name
        self._key = key
        self._base_path = parts.path.rstrip("/")
        self._http = httpx.Client(timeout=timeout, transport=transport,
                                  headers={"Accept": "application/json",
                                           "X-Chef-Version": CHEF_VERSION})

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, *, timeout: float | None = None) -> Any:
        return self.request("GET", path, timeout=timeout)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(self, method: str, path: str, body: Any = None, *,
                timeout: float | None = None) -> Any:
        """The decoded answer of one signed call (`path` relative to the endpoint)."""
        payload = b"" if body is None else json.dumps(body).encode()
        full = f"{self._base_path}/{path.lstrip('/')}"
        headers = signed_headers(self._key, self.client_name, method, full, payload,
                                 api_version=API_VERSION)
        if body is not None:
            headers["Content-Type"] = "application/json"
        url = f"{self.endpoint}/{path.lstrip('/')}"
        try:
            answer = self._http.request(method, url, content=payload, headers=headers,
                                        timeout=timeout or httpx.USE_CLIENT_DEFAULT)
        except httpx.HTTPError as error:
            raise ChefError(f"the Chef server at {self.endpoint} cannot be reached: "
                            f"{error.__class__.__name__}: {error}") from None
        if not answer.is_success:
            raise self._error(method, path, answer)
        if not answer.content:
            return None
        try:
            return answer.json()
        except ValueError:
            raise ChefError(f"{method} {path} on {self.endpoint} answered with something that "
                            "is not JSON: is endpoint the Chef server's URL with the "
                            "organization (https://HOST/organizations/NAME)?") from None

    def _error(self, method: str, path: str, answer: httpx.Response) -> ChefError:
        said = _said(answer)
        what = f"{method} {path} on the Chef server at {self.endpoint}"
        if answer.status_code == 404:
            return NotFound(f"{what}: not found ({said})", 404)
        if answer.status_code == 409:
            return Conflict(f"{what}: already there ({said})", 409)
        if answer.status_code == 401:
            return ChefError(f"{what}: the server refused client '{self.client_name}' ({said}); "
                             "check client_name and client_key in the auth file, and the "
                             "clocks", 401)
        if answer.status_code == 403:
            return ChefError(f"{what}: client '{self.client_name}' may not do this ({said}); "
                             "give it the permission on the server", 403)
        return ChefError(f"{what}: {answer.status_code} {answer.reason_phrase} ({said})",
                         answer.status_code)


def _said(answer: httpx.Response) -> str:
    """The server's own words: Chef answers errors as {"error": [...]} or {"error": "..."}."""
    try:
        error = answer.json().get("error")
    except (ValueError, AttributeError):
        return answer.text[:200] or "no message"
    if isinstance(error, list):
        return "; ".join(str(item) for item in error) or "no message"
    return str(error or "no message")
