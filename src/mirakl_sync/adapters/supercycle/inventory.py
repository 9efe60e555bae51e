"""``SupercycleInventory``: unique Supercycle items through ``SupercycleClient``.

Implements the ``ItemInventory`` port: find an item by serial (else SKU), read whether
it may be sold today (visibility, active rental, today's blocked dates, optionally
Ready), mark it sold, and make it available again after a marketplace cancellation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from mirakl_sync.adapters.supercycle.client import SupercycleClient
from mirakl_sync.adapters.supercycle.models import Item, Visibility
from mirakl_sync.domain.item_availability import BlockedRange, Unsellable, unsellable_reasons
from mirakl_sync.domain.orders import LineBinding, LineOutcome, StockReading, TargetSystem


def _today() -> date:
    return datetime.now(UTC).date()


class SupercycleInventory:
    def __init__(
        self,
        client: SupercycleClient,
        *,
        require_ready: bool = False,
        today: Callable[[], date] = _today,
    ) -> None:
        self._client = client
        self._require_ready = require_ready
        self._today = today

    async def _by_serial(self, serial: str) -> Item | None:
        async for item in self._client.iter_items(serial=serial):
            if item.serial == serial:
                return item
        return None

    async def find_item(self, key: str) -> LineBinding | None:
        item = await self._by_serial(key)
        if item is None:
            # A SKU-keyed offer (variant and condition): bind to an item still for sale.
            async for candidate in self._client.iter_items(sku=key):
                if candidate.visibility == Visibility.AVAILABLE and candidate.serial:
                    item = candidate
                    break
        if item is None or not item.serial:
            return None
        variant = (
            f"gid://shopify/ProductVariant/{item.shopify_variant_id}"
            if item.shopify_variant_id
            else None
        )
        return LineBinding(key, TargetSystem.SUPERCYCLE, item.serial, variant, item.id)

    async def read_item(self, serial: str) -> StockReading:
        item = await self._by_serial(serial)
        if item is None:
            return StockReading(0, LineOutcome.RETIRED)
        today = self._today()
        blocks: list[BlockedRange] = []
        async for block in self._client.iter_blocked_dates(active_from=today, active_to=today):
            blocked = block.blocked_range()
            if blocked is not None:
                blocks.append(blocked)
        reasons = unsellable_reasons(item.facts(), today, blocks, require_ready=self._require_ready)
        if not reasons:
            return StockReading(1)
        if item.visibility == Visibility.SOLD or Unsellable.ACTIVE_RENTAL in reasons:
            return StockReading(0, LineOutcome.SOLD_ELSEWHERE)
        return StockReading(0, LineOutcome.RETIRED)

    async def mark_sold(self, item_id: int) -> None:
        await self._client.mark_item_sold(item_id)

    async def is_sold(self, item_id: int) -> bool:
        item = await self._client.get_item(item_id)
        return item.visibility == Visibility.SOLD

    async def make_available(self, item_id: int) -> None:
        item = await self._client.get_item(item_id)
        if item.visibility == Visibility.SOLD:
            await self._client.update_item(item_id, visibility=Visibility.AVAILABLE)
