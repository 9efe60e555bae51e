from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from mirakl_sync.adapters.shopify.errors import WebhookSignatureError
from mirakl_sync.adapters.shopify.webhooks import parse_webhook, sign_webhook, verify_webhook
from mirakl_sync.errors import PermanentError

SECRET = "hush"
BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'


def _reference_signature(body: bytes, secret: str) -> str:
    # Shopify's documented recipe, written out independently of the module under test.
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_signature_matches_shopifys_recipe() -> None:
    assert sign_webhook(BODY, SECRET) == _reference_signature(BODY, SECRET)


def test_verify_accepts_the_right_signature() -> None:
    assert verify_webhook(BODY, _reference_signature(BODY, SECRET), SECRET)


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (BODY + b" ", _reference_signature(BODY, SECRET), SECRET),  # body changed
        (BODY, _reference_signature(BODY, "other"), SECRET),  # wrong secret
        (BODY, "", SECRET),  # no header
        (BODY, _reference_signature(BODY, SECRET), ""),  # no secret configured
        (BODY, "not base64 at all", SECRET),
    ],
)
def test_verify_rejects_anything_else(body: bytes, header: str, secret: str) -> None:
    assert not verify_webhook(body, header, secret)


def _headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": _reference_signature(body, secret),
        "X-Shopify-Shop-Domain": "fjellrev.myshopify.com",
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Webhook-Id": "w-1",
        "X-Shopify-Event-Id": "e-1",
        "X-Shopify-Triggered-At": "2026-10-01T12:00:00Z",
    }


def test_parse_reads_headers_case_insensitively_and_the_payload() -> None:
    headers = {k.lower(): v for k, v in _headers(BODY).items()}
    delivery = parse_webhook(BODY, headers, SECRET)
    assert delivery.topic == "orders/create"
    assert delivery.shop_domain == "fjellrev.myshopify.com"
    assert delivery.event_id == "e-1"
    assert delivery.webhook_id == "w-1"
    assert delivery.api_version == "2026-10"
    assert delivery.triggered_at == "2026-10-01T12:00:00Z"
    assert delivery.payload == json.loads(BODY)


def test_parse_raises_a_permanent_signature_error_on_a_bad_hmac() -> None:
    with pytest.raises(WebhookSignatureError) as caught:
        parse_webhook(BODY, _headers(BODY, secret="wrong"), SECRET)
    assert isinstance(caught.value, PermanentError)
    assert "webhook_secret" in str(caught.value)
