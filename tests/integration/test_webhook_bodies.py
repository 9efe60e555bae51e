"""Signed Shopify webhook bodies the handlers cannot take are refused (400/413) and recorded.

Issue 10, item 9: a signed body that is a JSON array, a string or null, a quantity of
"lots", or 200 KB of nested arrays answered 500 with a traceback and recorded nothing;
there was no size limit. Every body is now checked before any handler: size, then the
signature, then JSON with a depth limit, then the shape of the topic's payload. The
handlers here are the real readers the flows use (``fulfilment_from_shopify``,
``split_shop_refund``, ``inventory_item_ids``), so a body that passes is one they can read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mirakl_sync.adapters.shopify.webhooks import verify_webhook
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.views import SqlStatusReader
from mirakl_sync.bootstrap import Hub, bootstrap
from mirakl_sync.config import settings_from_mapping
from mirakl_sync.domain.exceptions import ExceptionRecord, OwnerTeam
from mirakl_sync.entrypoints.web import DEFAULT_MAX_WEBHOOK_BODY_BYTES, create_web_app
from mirakl_sync.sandbox.seed import build_catalogue
from mirakl_sync.sandbox.shopify import ShopifyEmulator
from mirakl_sync.services.change_feed import inventory_item_ids
from mirakl_sync.services.shop_feed import fulfilment_from_shopify, split_shop_refund

SECRET = "webhook-secret"
#: A small limit for the size tests (the others run with the default, 1 MiB).
LIMIT = 64 * 1024


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    settings = settings_from_mapping(
        {
            "database_url": f"sqlite:///{tmp_path / 'hub.db'}",
            "shopify": {"shop": "fjellrev.myshopify.com", "access_token": "t"},
        },
        env={},
    )
    upgrade_database(settings.database_url)
    built = bootstrap(settings)
    yield built
    built.close()


class Handlers:
    """The web app's webhook callback, calling what the flows call on each payload."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []

    def __call__(self, topic: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
        self.received.append((topic, payload))
        if topic == "fulfillments/create":
            fulfilment_from_shopify(str(payload.get("order_id")), payload)
        elif topic == "refunds/create":
            split_shop_refund("debenhams", "D-1-A", payload)
        elif topic == "inventory_levels/update":
            inventory_item_ids(payload)
        elif topic == "orders/cancelled":
            str(payload.get("order_id") or payload.get("id") or "")


def app_for(
    hub: Hub, handlers: Handlers, *, limit: int = DEFAULT_MAX_WEBHOOK_BODY_BYTES
) -> FastAPI:
    return create_web_app(
        status_reader=SqlStatusReader(hub.store.engine, hub.settings),
        exception_log=hub.store.exception_log,
        shop="fjellrev.myshopify.com",
        verify_shopify_webhook=lambda body, signature: verify_webhook(body, signature, SECRET),
        on_shopify_webhook=handlers,
        max_webhook_body_bytes=limit,
    )


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(
    client: TestClient, topic: str, body: bytes, *, signature: str | None = None, event: str = "e-1"
) -> Any:
    return client.post(
        "/webhooks/shopify",
        content=body,
        headers={
            "X-Shopify-Hmac-Sha256": sign(body) if signature is None else signature,
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": "fjellrev.myshopify.com",
            "X-Shopify-Event-Id": event,
            "Content-Type": "application/json",
        },
    )


def fulfilment(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 5_000_001,
        "order_id": 6_000_000_001,
        "tracking_company": "DPD UK",
        "tracking_number": "15501234567890",
        "tracking_url": None,
        "line_items": [{"id": 1, "sku": "FJ-1", "quantity": 2}],
    }
    body.update(changes)
    return body


def opened(hub: Hub) -> list[ExceptionRecord]:
    return hub.store.exception_log.list()


#: 200 KB, under the default limit: json.loads recursed until RecursionError (a 500).
NESTED = b"[" * 100_000 + b"]" * 100_000

BAD_BODIES = [
    ("array", "fulfillments/create", b"[1, 2]"),
    ("string", "refunds/create", b'"refund"'),
    ("null", "orders/cancelled", b"null"),
    ("array for a topic no flow reads", "orders/create", b"[]"),
    (
        "quantity of lots",
        "fulfillments/create",
        json.dumps(fulfilment(line_items=[{"sku": "FJ-1", "quantity": "lots"}])).encode(),
    ),
    (
        "refund line not an object",
        "refunds/create",
        json.dumps({"id": 9, "order_id": 6_000_000_001, "refund_line_items": ["x"]}).encode(),
    ),
    ("nested arrays", "fulfillments/create", NESTED),
    ("nested objects", "inventory_levels/update", b'{"a":' * 100 + b"1" + b"}" * 100),
    ("no inventory item", "inventory_levels/update", b'{"location_id": 1, "available": 3}'),
    ("fulfilment without an order", "fulfillments/create", json.dumps({"id": 7}).encode()),
]


@pytest.mark.parametrize(("case", "topic", "body"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_a_signed_body_a_handler_cannot_take_is_a_400_recorded_for_ops(
    hub: Hub, case: str, topic: str, body: bytes
) -> None:
    handlers = Handlers()
    client = TestClient(app_for(hub, handlers), raise_server_exceptions=False)
    response = post(client, topic, body, event="evt-42")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error"} and len(response.json()["error"]) < 300
    assert "Traceback" not in response.text
    assert handlers.received == []  # no handler saw it
    [record] = opened(hub)
    assert (record.type, record.owner, record.entity_type) == (
        "webhook_malformed",
        OwnerTeam.OPS,
        "webhook",
    )
    assert record.details["topic"] == topic
    assert record.details["event_id"] == "evt-42"
    assert record.details["reason"]
    assert 0 < len(record.details["excerpt"]) <= 200
    assert record.details["body_bytes"] == len(body)


def test_a_storm_of_the_same_bad_body_is_one_exception_with_a_count(hub: Hub) -> None:
    client = TestClient(app_for(hub, Handlers()), raise_server_exceptions=False)
    body = json.dumps(fulfilment(line_items=[{"sku": "FJ-1", "quantity": "lots"}])).encode()
    for _ in range(5):
        assert post(client, "fulfillments/create", body, event="evt-1").status_code == 400
    other = json.dumps(fulfilment(id=5_000_002, line_items="none")).encode()
    assert post(client, "fulfillments/create", other, event="evt-2").status_code == 400
    counts = sorted((r.details["event_id"], r.count) for r in opened(hub))
    assert counts == [("evt-1", 5), ("evt-2", 1)]


def test_a_body_over_the_limit_is_a_413_recorded_before_anything_reads_it(hub: Hub) -> None:
    handlers = Handlers()
    client = TestClient(app_for(hub, handlers, limit=LIMIT), raise_server_exceptions=False)
    huge = json.dumps(fulfilment(note="x" * LIMIT)).encode()
    response = post(client, "fulfillments/create", huge)
    assert response.status_code == 413
    assert "Traceback" not in response.text and "error" in response.json()
    assert handlers.received == []
    [record] = opened(hub)
    assert record.type == "webhook_body_too_large"
    assert record.details["topic"] == "fulfillments/create"
    assert record.details["limit_bytes"] == LIMIT
    # Under the limit by one byte is read as usual.
    fits = json.dumps(fulfilment(note="")).encode()
    fits = fits[:-1] + b" " * (LIMIT - len(fits)) + b"}"
    assert len(fits) == LIMIT
    assert post(client, "fulfillments/create", fits).status_code == 200


def test_a_chunked_body_over_the_limit_is_a_413_too(hub: Hub) -> None:
    # No Content-Length to trust: the receiver counts what it reads and stops.
    client = TestClient(app_for(hub, Handlers(), limit=LIMIT), raise_server_exceptions=False)
    body = b"[" + b"1," * LIMIT + b"1]"

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = client.post(
        "/webhooks/shopify",
        content=chunks(),
        headers={"X-Shopify-Hmac-Sha256": sign(body), "X-Shopify-Topic": "refunds/create"},
    )
    assert response.status_code == 413
    assert [r.type for r in opened(hub)] == ["webhook_body_too_large"]


def test_the_signature_is_checked_before_the_body_is_parsed(hub: Hub) -> None:
    client = TestClient(app_for(hub, Handlers()), raise_server_exceptions=False)
    response = post(client, "fulfillments/create", NESTED, signature=sign(NESTED, "not-ours"))
    assert response.status_code == 401
    assert [r.type for r in opened(hub)] == ["webhook_signature_invalid"]


def test_a_valid_payload_reaches_the_handler_as_the_same_dict(hub: Hub) -> None:
    handlers = Handlers()
    client = TestClient(app_for(hub, handlers))
    payload = fulfilment(extra={"kept": [1, 2, {"x": None}]}, quantity_as_text=None)
    payload["line_items"].append({"sku": None, "quantity": "3"})  # int("3") reads it
    assert post(client, "fulfillments/create", json.dumps(payload).encode()).status_code == 200
    assert handlers.received == [("fulfillments/create", payload)]
    assert opened(hub) == []


def test_every_payload_the_emulated_shop_sends_is_accepted(hub: Hub) -> None:
    # The emulator sends Shopify's documented REST payloads (its module lists the fields);
    # none of them may be refused.
    emulator = ShopifyEmulator(webhook_secret=SECRET)
    catalogue = build_catalogue(products=5, seed=7)
    emulator.load_catalogue(catalogue)
    for topic in (
        "ORDERS_CREATE",
        "ORDERS_CANCELLED",
        "FULFILLMENTS_CREATE",
        "REFUNDS_CREATE",
        "INVENTORY_LEVELS_UPDATE",
        "PRODUCTS_UPDATE",
    ):
        emulator.subscribe(topic, "http://hub/webhooks/shopify")
    variants = [v for p, v in catalogue.variants() if p.channel == "new"][:2]
    lines = [{"variant_id": v.id, "price": None, "quantity": 2} for v in variants]
    shipped, _ = emulator.create_order({}, lines, "DECREMENT_IGNORING_POLICY")
    cancelled, _ = emulator.create_order({}, lines, "DECREMENT_IGNORING_POLICY")
    assert shipped is not None and cancelled is not None
    emulator.fulfil_order(f"gid://shopify/Order/{shipped.id}", "DPD UK", "155")
    emulator.refund_order(f"gid://shopify/Order/{shipped.id}", {variants[0].sku: 1})
    emulator.cancel_order(f"gid://shopify/Order/{cancelled.id}")

    handlers = Handlers()
    client = TestClient(app_for(hub, handlers))
    for message in emulator.webhooks_sent:
        response = client.post("/webhooks/shopify", content=message.body, headers=message.headers)
        assert response.status_code == 200, (message.topic, response.text)
    assert {t for t, _ in handlers.received} >= {
        "orders/create",
        "orders/cancelled",
        "fulfillments/create",
        "refunds/create",
        "inventory_levels/update",
        "products/update",
    }
    assert opened(hub) == []
