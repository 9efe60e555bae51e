"""Shopify webhooks: verify the HMAC of a delivery and parse it into a ``WebhookDelivery``.

Shopify signs the *raw* request body with the app's client secret (HMAC-SHA256, base64)
in ``X-Shopify-Hmac-Sha256``. Verify before parsing, on the bytes as received: any
re-serialised JSON has a different signature. ``X-Shopify-Event-Id`` is the same on every
retry of one event, so it is the de-duplication key; ``X-Shopify-Webhook-Id`` differs per
delivery attempt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mirakl_sync.adapters.shopify.errors import WebhookSignatureError

HMAC_HEADER = "X-Shopify-Hmac-Sha256"


def sign_webhook(raw_body: bytes, secret: str) -> str:
    """The base64 HMAC-SHA256 of ``raw_body``: what Shopify sends in X-Shopify-Hmac-Sha256."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_webhook(raw_body: bytes, hmac_header: str, secret: str) -> bool:
    """True if ``hmac_header`` is the signature of ``raw_body`` under ``secret``."""
    if not hmac_header or not secret:
        return False
    expected = sign_webhook(raw_body, secret).encode("ascii")
    return hmac.compare_digest(expected, hmac_header.strip().encode("utf-8", "replace"))


@dataclass(frozen=True)
class WebhookDelivery:
    """One verified delivery. ``event_id`` de-duplicates retries of the same event."""

    topic: str
    shop_domain: str
    event_id: str
    webhook_id: str
    api_version: str
    triggered_at: str
    payload: dict[str, Any]


def _header(headers: Mapping[str, str], name: str) -> str:
    # Works for httpx/starlette Headers (case-insensitive) and for plain dicts alike.
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), "")
    return value


def parse_webhook(raw_body: bytes, headers: Mapping[str, str], secret: str) -> WebhookDelivery:
    """Verify and parse a delivery; ``WebhookSignatureError`` if the HMAC does not match."""
    if not verify_webhook(raw_body, _header(headers, HMAC_HEADER), secret):
        raise WebhookSignatureError()
    try:
        payload = json.loads(raw_body)
    except ValueError as exc:
        raise WebhookSignatureError("the signed webhook body is not JSON") from exc
    event_id = _header(headers, "X-Shopify-Event-Id")
    webhook_id = _header(headers, "X-Shopify-Webhook-Id")
    return WebhookDelivery(
        topic=_header(headers, "X-Shopify-Topic"),
        shop_domain=_header(headers, "X-Shopify-Shop-Domain"),
        # Older deliveries may lack the event id; the webhook id is then the best key there is.
        event_id=event_id or webhook_id,
        webhook_id=webhook_id,
        api_version=_header(headers, "X-Shopify-API-Version"),
        triggered_at=_header(headers, "X-Shopify-Triggered-At"),
        payload=payload if isinstance(payload, dict) else {"value": payload},
    )
