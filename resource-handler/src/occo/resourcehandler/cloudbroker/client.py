"""The calls of CloudBroker's REST/XML API the plugin makes, over one httpx client per
connection.

Basic authentication with the account's email and password (auth_data), XML
both ways: requests are built with xml.etree, answers read with defusedxml
(an answer is never trusted to be harmless XML). Paths are the API's:
`instances.xml`, `instances/<id>.xml`, `instances/<id>/stop.xml`. An error
answer raises `CloudBrokerError` with the cloud's words; nothing is retried
here: the engine retries each `TransientError` itself, under the backend's
rate and concurrency limits, and every create is idempotent by node id.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from defusedxml import ElementTree as SafeTree

from ..base import Connection
from ..httpclient import CONNECT_TIMEOUT, READ_TIMEOUT, basic_auth_client
from .errors import CloudBrokerError

ENDPOINT_HINT = ("set endpoint to the API URL of the CloudBroker platform, "
                 "e.g. https://cola-prototype.cloudbroker.com")
XML = "application/xml"


class CloudBrokerClient:
    """One account on one CloudBroker platform; thread-safe."""

    def __init__(self, connection: Connection, *, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT) -> None:
        """`PermanentError` when the endpoint is not an http(s) URL or the credentials lack
        `email` or `password`."""
        self._http = basic_auth_client(connection, cloud="cloudbroker", accept=XML,
                                       endpoint_hint=ENDPOINT_HINT,
                                       connect_timeout=connect_timeout,
                                       read_timeout=read_timeout)

    def close(self) -> None:
        self._http.close()

    def instances(self) -> list[dict[str, str]]:
        """Every instance of the account, with its name, status and addresses."""
        root = self._call("GET", "instances.xml")
        if root is None or root.tag != "instances":
            raise ValueError("GET instances.xml answered no <instances> list")
        return [fields_of(item) for item in root.findall("instance")]

    def instance(self, instance_id: str) -> dict[str, str]:
        answer = self._call("GET", f"instances/{_id(instance_id)}.xml")
        return fields_of(self._instance_root(answer))

    def create_instance(self, fields: Mapping[str, Any]) -> dict[str, str]:
        """A new instance of the fields given (sent as `<instance>` XML); the answer's."""
        body = ElementTree.tostring(instance_xml(fields), encoding="utf-8", xml_declaration=True)
        return fields_of(self._instance_root(self._call("POST", "instances.xml", body=body)))

    def stop(self, instance_id: str) -> None:
        """Stop an instance (CloudBroker then halts it and stops billing it)."""
        self._call("PUT", f"instances/{_id(instance_id)}/stop.xml")

    # --- the wire -------------------------------------------------------------
    @staticmethod
    def _instance_root(root: ElementTree.Element | None) -> ElementTree.Element:
        if root is None or root.tag != "instance":
            raise ValueError("the answer is no <instance>")
        return root

    def _call(self, method: str, path: str, *, body: bytes | None = None
              ) -> ElementTree.Element | None:
        """The answer's XML root (None for an empty one); `CloudBrokerError` for an error
        answer, httpx's errors when none came, ValueError when a success is not XML."""
        response = self._http.request(method, path, content=body,
                                      headers={"Content-Type": XML} if body else None)
        if response.status_code >= 300:        # redirects are not followed: an error
            raise CloudBrokerError.of(response)
        if not response.content.strip():
            return None
        try:
            return SafeTree.fromstring(response.content)
        except ElementTree.ParseError as error:
            raise ValueError(f"{method} {path} answered no XML: {error}") from None


def _id(instance_id: str) -> str:
    return quote(instance_id, safe="")


def instance_xml(fields: Mapping[str, Any]) -> ElementTree.Element:
    """`<instance>` with an element per field, as the original sent the description (a list
    joined with commas, a mapping as nested elements, a boolean as true/false)."""
    root = ElementTree.Element("instance")
    _fill(root, fields)
    return root


def _fill(parent: ElementTree.Element, fields: Mapping[str, Any]) -> None:
    for key, value in fields.items():
        element = ElementTree.SubElement(parent, str(key))
        if isinstance(value, Mapping):
            _fill(element, value)
        elif isinstance(value, bool):
            element.text = "true" if value else "false"
        elif isinstance(value, list | tuple):
            element.text = ",".join(str(item) for item in value)
        elif value is not None:
            element.text = str(value)


def fields_of(element: ElementTree.Element) -> dict[str, str]:
    """An answer's object as {element name: its text} (empty text for an empty element)."""
    return {child.tag: (child.text or "").strip() for child in element}
