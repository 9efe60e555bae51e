"""Helpers: the hub pointed at the in-process sandbox, for the order-flow tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from mirakl_sync.bootstrap import Transports
from mirakl_sync.config import Settings
from mirakl_sync.sandbox.hub_settings import sandbox_hub_settings, sqlite_url
from mirakl_sync.sandbox.seed import SeedCatalogue
from mirakl_sync.sandbox.server import MARKETPLACES, Sandbox


def hub_settings(tmp_path: Path, **market_overrides: Any) -> Settings:
    return sandbox_hub_settings(
        sqlite_url(tmp_path),
        every_market={"call_budget_scale": 0, **market_overrides},
        extra={"engine": {"executor_id": "orders-test"}},
        sandbox_rules=True,
    )


class SwitchableTransport(httpx.AsyncBaseTransport):
    """Routes to the sandbox; ``down`` makes every request fail as a network error."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("shopify is down (test)", request=request)
        return await self.inner.handle_async_request(request)


def transports(sandbox: Sandbox, shopify: httpx.AsyncBaseTransport | None = None) -> Transports:
    transport = httpx.ASGITransport(app=sandbox.app)
    return Transports(
        shopify=shopify or transport,
        supercycle=transport,
        mirakl={m.code: transport for m in MARKETPLACES},
    )


def stocked_sku(catalogue: SeedCatalogue, minimum: int = 2) -> str:
    """A Shopify-stocked variant SKU with at least ``minimum`` units."""
    for product, variant in catalogue.variants():
        if product.channel == "new" and sum(variant.inventory.values()) >= minimum:
            return variant.sku
    raise LookupError("no stocked variant in the seed")


def resale_serials(catalogue: SeedCatalogue) -> list[str]:
    """Serials of available resale items offered on the marketplaces, minus the first
    (the seed blocks it for a photoshoot today)."""
    by_variant = {v.id: p for p, v in catalogue.variants()}
    serials = [
        item.serial
        for item in catalogue.items
        if by_variant[item.variant_id].channel == "resale"
        and item.visibility == "available"
        and item.condition_id in (1, 2, 3)
        and item.serial
    ]
    return serials[1:]
