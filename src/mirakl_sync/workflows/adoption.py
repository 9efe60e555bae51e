"""Wiring of ``services.order_adoption`` for the shipments/refunds polling passes.

The polling feed (``services.shop_feed``) runs adoption at the start of each pass and on
each page's shop orders the hub does not know; this builds it over one hub's clients.
"""

from __future__ import annotations

from collections.abc import Callable

from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.adapters.mirakl.order_lookup import MiraklOrderLookup
from mirakl_sync.adapters.shopify.mapping import ShopOrderOptions
from mirakl_sync.adapters.shopify.shop import ShopifyShop
from mirakl_sync.adapters.store.orders import SqlOrderRepository
from mirakl_sync.bootstrap import Hub
from mirakl_sync.domain.orders import ShopOrderRef
from mirakl_sync.services.order_adoption import OrderAdoption
from mirakl_sync.services.ports import ShopDispatchApi


class _ShopOrderFinder:
    """``ShopOrders.find`` with a client opened per look-up (adoption looks up rarely)."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def find(self, source_identifier: str) -> ShopOrderRef | None:
        settings = self._hub.settings.shopify
        # Only ``find`` is used: the order-mapping options do not matter here.
        options = ShopOrderOptions(source_name=settings.source_name, marketplace_name="")
        async with self._hub.shopify() as client:
            return await ShopifyShop(client, options=options).find(source_identifier)


def order_adoption(hub: Hub, shop: ShopDispatchApi, clock: Callable[[], float]) -> OrderAdoption:
    settings = hub.settings

    def client_for(code: str) -> MiraklClient:
        return hub.mirakl(settings.marketplace(code))

    return OrderAdoption(
        SqlOrderRepository(hub.store.engine),
        _ShopOrderFinder(hub),
        shop,
        MiraklOrderLookup(client_for),
        hub.store.exception_log,
        clock,
        marketplaces={m.code: m.display_name for m in settings.marketplaces},
        acceptance_window_hours={m.code: m.acceptance_window_hours for m in settings.marketplaces},
        hub_source_name=settings.shopify.source_name,
    )
