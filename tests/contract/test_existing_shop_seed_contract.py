"""What the ``existing-shop`` seed serves still matches Mirakl's spec: the history it
replays (accepted, shipped, received, closed, refunded orders) goes through the same
shapes as the API's own changes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from mirakl_spec import validate_response

from mirakl_sync.config import SandboxSettings
from mirakl_sync.sandbox.server import MARKETPLACES, build_sandbox


def test_seeded_orders_offers_and_shipments_match_the_spec() -> None:
    sandbox = build_sandbox(
        SandboxSettings(
            seed_name="existing-shop", products=40, orders_per_hour=0, call_frequency_scale=0
        )
    )

    async def get(path: str, key: str, params: dict[str, Any]) -> httpx.Response:
        transport = httpx.ASGITransport(app=sandbox.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.get(path, params=params, headers={"Authorization": key})

    states: set[str] = set()
    for market in MARKETPLACES:
        base = f"/mirakl/{market.code}/api"
        orders = asyncio.run(get(f"{base}/orders", market.api_key, {"max": 100}))
        assert orders.status_code == 200
        validate_response("OR11", 200, orders.json())
        states |= {o["order_state"] for o in orders.json()["orders"]}
        offers = asyncio.run(get(f"{base}/offers", market.api_key, {"max": 100}))
        assert offers.status_code == 200
        validate_response("OF21", 200, offers.json())
        if market.multi_shipment:
            shipments = asyncio.run(get(f"{base}/shipments", market.api_key, {}))
            assert shipments.status_code == 200
            validate_response("ST11", 200, shipments.json())
    assert {"WAITING_ACCEPTANCE", "SHIPPING", "SHIPPED", "RECEIVED", "CLOSED"} <= states
