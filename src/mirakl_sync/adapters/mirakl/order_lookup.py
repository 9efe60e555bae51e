"""``MiraklOrderLookup``: marketplace orders read by id (the ``MarketplaceOrderLookup`` port).

One OR11 listing by ``order_ids`` per marketplace (the client splits more than 100 ids
into several calls): OR11's synchronous usage, read as the hub adopts those orders.
A client is opened per look-up: adoption asks rarely (shop orders the hub does not know).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.adapters.mirakl.marketplace import order_from_mirakl
from mirakl_sync.domain.orders import MarketplaceOrder


class MiraklOrderLookup:
    def __init__(self, client_for: Callable[[str], MiraklClient]) -> None:
        #: A fresh client of one marketplace by code (closed after each look-up).
        self._client_for = client_for

    async def by_ids(self, marketplace: str, order_ids: Sequence[str]) -> list[MarketplaceOrder]:
        if not order_ids:
            return []
        wanted = set(order_ids)
        async with self._client_for(marketplace) as client:
            return [
                order_from_mirakl(marketplace, order)
                async for order in client.list_orders(order_ids=list(order_ids), synchronous=True)
                if order.order_id in wanted
            ]
