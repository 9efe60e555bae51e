"""The status page and the Shopify webhook receiver, through FastAPI's test client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.bootstrap import Hub, bootstrap
from mirakl_sync.config import settings_from_mapping
from mirakl_sync.domain.exceptions import ExceptionReport, ExceptionStatus, OwnerTeam, Severity
from mirakl_sync.entrypoints.server import build_web_app

SECRET = "webhook-secret"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    settings = settings_from_mapping(
        {
            "database_url": f"sqlite:///{tmp_path / 'hub.db'}",
            "shopify": {
                "shop": "fjellrev.myshopify.com",
                "access_token": "t",
                "webhook_secret": SECRET,
            },
            "marketplaces": [
                {
                    "code": "debenhams",
                    "name": "Debenhams",
                    "base_url": "https://debenhams-prod.mirakl.net",
                    "api_key": "k",
                },
                {"code": "sportshub", "base_url": "https://sportshub.mirakl.net", "api_key": "k"},
            ],
        },
        env={},
    )
    upgrade_database(settings.database_url)
    built = bootstrap(settings)
    yield built
    built.close()


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_status_page_shows_marketplaces_and_open_exceptions(hub: Hub) -> None:
    hub.store.exception_log.record(
        ExceptionReport(
            type="order_waiting",
            owner=OwnerTeam.OPS,
            severity=Severity.CRITICAL,
            entity_type="order",
            entity_id="2001-A",
            marketplace="debenhams",
            message="order waits on SKU FJ-X-1 that matches nothing",
        ),
        datetime.now(UTC),
    )
    client = TestClient(build_web_app(hub))
    page = client.get("/")
    assert page.status_code == 200
    assert "Debenhams" in page.text and "sportshub" in page.text
    assert "order_waiting" in page.text and "2001-A" in page.text
    status = client.get("/api/status").json()
    assert [(m["code"], m["open_exceptions"]) for m in status["marketplaces"]] == [
        ("debenhams", 1),
        ("sportshub", 0),
    ]


def webhook(client: TestClient, body: bytes, signature: str) -> Any:
    return client.post(
        "/webhooks/shopify",
        content=body,
        headers={
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "fjellrev.myshopify.com",
        },
    )


def test_a_webhook_with_a_bad_signature_is_refused_and_recorded(hub: Hub) -> None:
    client = TestClient(build_web_app(hub))
    body = json.dumps({"id": 1}).encode()
    response = webhook(client, body, sign(body, "another-secret"))
    assert response.status_code == 401
    recorded = hub.store.exception_log.list(status=ExceptionStatus.OPEN)
    assert [(r.type, r.owner) for r in recorded] == [("webhook_signature_invalid", OwnerTeam.OPS)]


def test_a_signed_webhook_is_accepted_and_a_signed_malformed_one_is_recorded(hub: Hub) -> None:
    client = TestClient(build_web_app(hub))
    body = json.dumps({"id": 1}).encode()
    assert webhook(client, body, sign(body)).status_code == 200
    assert hub.store.exception_log.list() == []
    garbage = b"{not json"
    assert webhook(client, garbage, sign(garbage)).status_code == 400
    assert [r.type for r in hub.store.exception_log.list()] == ["webhook_malformed"]


def test_status_page_lists_the_latest_marketplace_orders(hub: Hub) -> None:
    from mirakl_sync.adapters.store.tables import marketplace_orders

    now = datetime.now(UTC)
    with hub.store.engine.begin() as connection:
        connection.execute(
            marketplace_orders.insert(),
            [
                {
                    "marketplace": "debenhams",
                    "order_id": f"D-{i}-A",
                    "state": "SHIPPING",
                    "hub_status": "accepted",
                    "created_at": now,
                    "last_updated_at": now,
                    "currency": "GBP",
                    "total_price": "54.99",
                    "line_count": 1,
                    "shopify_order_name": f"#10{i}",
                    "payload": {},
                    "first_seen_at": now,
                    "updated_at": now,
                }
                for i in range(3)
            ],
        )
    client = TestClient(build_web_app(hub))
    page = client.get("/").text
    assert all(f"D-{i}-A" in page and f"#10{i}" in page for i in range(3))
    orders = client.get("/api/status").json()["orders"]
    assert {o["order_id"] for o in orders} == {"D-0-A", "D-1-A", "D-2-A"}


def test_the_hub_app_takes_its_webhook_body_limit_from_the_settings(tmp_path: Path) -> None:
    settings = settings_from_mapping(
        {
            "database_url": f"sqlite:///{tmp_path / 'hub.db'}",
            "shopify": {"shop": "s.myshopify.com", "access_token": "t", "webhook_secret": SECRET},
            "web": {"webhook_max_body_bytes": 2048},
        },
        env={},
    )
    upgrade_database(settings.database_url)
    small = bootstrap(settings)
    try:
        client = TestClient(build_web_app(small))
        body = json.dumps({"id": 1, "note": "x" * 2048}).encode()
        assert webhook(client, body, sign(body)).status_code == 413
        fits = json.dumps({"id": 1, "note": "x" * 1000}).encode()
        assert webhook(client, fits, sign(fits)).status_code == 200
        assert [r.type for r in small.store.exception_log.list()] == ["webhook_body_too_large"]
    finally:
        small.close()
