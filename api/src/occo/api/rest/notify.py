"""POST /infrastructures/{id}/notify: where an infrastructure's events are sent.

The body keeps the original's shape, `{"type": ..., <type>: {...}}`. The
original's one type, Firebase Cloud Messaging (`fcm`), is refused saying so:
its events go to a webhook instead, `{"type": "webhook", "webhook": {"url":
...}}`, whose answer gives the secret its POSTs are signed with
(`occo.api.rest.webhooks`). The store keeps the URL, never the secret
(`webhookkeys.WebhookNotification`), so a URL holding user information (a
password, or a token in the user part) or a token in its query is refused
too. `{"type": "none"}` stops the notifications.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from occo.infobroker.store import Store
from occo.util.redact import redact_url

from ..eventlog import last_seq
from .auth import require_writer
from .errors import RestError, responses
from .service import RestService, service_of
from .webhookkeys import WebhookNotification, key_path, webhook_key, webhook_secret

router = APIRouter(tags=["notifications"], dependencies=[Depends(require_writer)])

LONGEST_URL = 2048
EXAMPLE = '{"type": "webhook", "webhook": {"url": "https://example.org/occopus"}}'


class WebhookTarget(BaseModel):
    url: str = Field(description="http(s) URL the events are POSTed to", examples=[
        "https://example.org/occopus"])


class Notification(BaseModel):
    """The original's body: the type, and the settings of that type under its name."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`webhook`; `none` stops the notifications (`fcm`, the "
                                  "original's, is not supported)")
    webhook: WebhookTarget | None = None


class WebhookSettings(BaseModel):
    url: str
    secret: str = Field(description="each POST carries X-Occopus-Timestamp (epoch seconds) "
                                    "and X-Occopus-Signature: sha256=<hex HMAC-SHA256 of "
                                    "\"<timestamp>.<raw body>\" under this secret>")


class Notifying(BaseModel):
    infraid: str
    webhook: WebhookSettings | None = Field(
        None, description="the webhook the events now go to; absent after `none`")


@router.post("/infrastructures/{infra_id}/notify", response_model=Notifying,
             response_model_exclude_none=True, responses=responses(400, 401, 403, 404, 422, 503),
             summary="Send the infrastructure's events to a webhook")
def notify(infra_id: str, notification: Notification,
           service: RestService = Depends(service_of)) -> Notifying:
    """Each new event of the infrastructure is POSTed to the webhook while the service
    maintains it (attached), signed with the `secret` of this answer."""
    store = service.store()
    store.get_infrastructure(infra_id)                  # 404 if unknown
    if notification.type == "none":
        store.set_notification(infra_id, None)
        return Notifying(infraid=infra_id)
    if notification.type == "fcm":
        raise RestError(400, "Firebase Cloud Messaging (type fcm) is not supported",
                        hint=f"use a webhook, which gets each event as a signed POST: {EXAMPLE}")
    if notification.type != "webhook":
        raise RestError(400, f"unknown notification type {notification.type[:40]!r}",
                        hint=f"use a webhook: {EXAMPLE}")
    if notification.webhook is None:
        raise RestError(400, "a webhook notification needs the webhook's url",
                        hint=f"send {EXAMPLE}")
    url = notification.webhook.url.strip()
    check_url(url)
    store.set_notification(infra_id, notification_for(url, store, infra_id).to_dict())
    secret = webhook_secret(webhook_key(key_path(service.settings)), infra_id, url)
    return Notifying(infraid=infra_id, webhook=WebhookSettings(url=url, secret=secret))


def check_url(url: str) -> None:
    """400 unless `url` is an http(s) URL with a host, no user information (a user alone
    is refused too: it is often a token) and no other secret in it."""
    if len(url) > LONGEST_URL or any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise RestError(400, "the webhook url is too long or holds spaces or control "
                             "characters", hint=f"send {EXAMPLE}")
    try:
        parts = urlsplit(url)
        parts.port                                      # noqa: B018 - a bad port raises
    except ValueError as bad:
        raise RestError(400, f"the webhook url is no URL: {bad}", hint=f"send {EXAMPLE}") \
            from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RestError(400, "the webhook url must be an http or https URL with a host",
                        hint=f"send {EXAMPLE}")
    if "@" in parts.netloc or redact_url(url) != url:
        raise RestError(400, "the webhook url holds user information or a token, which the "
                             "store would keep",
                        hint="leave it out: each POST is signed with the secret this answer "
                             "gives, for the receiver to check")


def notification_for(url: str, store: Store, infra_id: str,
                     clock: Callable[[], float] = time.time) -> WebhookNotification:
    """The webhook to store for `url`: the newest seq now (the events after it are the
    webhook's) and when it was set."""
    return WebhookNotification(url, last_seq(store, infra_id), clock())
