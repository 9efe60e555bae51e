"""``SupercycleInventory``: unique Supercycle items through ``SupercycleClient``.

Implements the ``ItemInventory`` port: find an item by serial (else SKU), read whether
it may be sold today (visibility, active rental, today's blocked dates, optionally
Ready), mark it sold, and make it available again after a marketplace cancellation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from mirakl_sync.adapters.supercycle.client import SupercycleClient
from mirakl_sync.adapters.supercycle.models import Item, Visibility
from mirakl_sync.domain.item_availability import BlockedRange, Unsellable, unsellable_reasons
from mirakl_sync.domain.orders import LineBinding, LineOutcome, StockReading, TargetSystem


def _today() -> date:
    return datetime.now(UTC).date()


#: How old an item read may be and still count as fresh for a decision.
ITEM_READ_REUSE_SECONDS = 2.0
_ITEM_READS: dict[tuple[str, str], tuple[float, Item | None]] = {}
#: How long today's blocked dates are reused before being read again.
BLOCKED_DATES_TTL_SECONDS = 60.0
_BLOCKS_CACHE: dict[tuple[str, date], tuple[float, list[BlockedRange]]] = {}


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

    async def _by_serial(self, serial: str, *, max_age: float = 0.0) -> Item | None:
        """The item with ``serial``; one read within ``max_age`` seconds may be reused."""
        key = (self._client.base_url, serial)
        now = time.monotonic()
        recent = _ITEM_READS.get(key)
        if recent is not None and now - recent[0] <= max_age:
            return recent[1]
        found: Item | None = None
        async for item in self._client.iter_items(serial=serial):
            if item.serial == serial:
                found = item
                break
        _ITEM_READS[key] = (now, found)
        if len(_ITEM_READS) > 10_000:
            _ITEM_READS.clear()
        return found

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
        # The order flow resolves a line (reading the item) and decides on it a moment
        # later; a read that young is still fresh, and reusing it spares one call of
        # Supercycle's 120-a-minute budget per unique item ordered. After a crash the
        # process is new, the cache empty, and the item is read again.
        item = await self._by_serial(serial, max_age=ITEM_READ_REUSE_SECONDS)
        if item is None:
            return StockReading(0, LineOutcome.RETIRED)
        today = self._today()
        blocks = await self._blocks_on(today)
        reasons = unsellable_reasons(item.facts(), today, blocks, require_ready=self._require_ready)
        if not reasons:
            return StockReading(1)
        if item.visibility == Visibility.SOLD or Unsellable.ACTIVE_RENTAL in reasons:
            return StockReading(0, LineOutcome.SOLD_ELSEWHERE)
        return StockReading(0, LineOutcome.RETIRED)

    async def _blocks_on(self, today: date) -> list[BlockedRange]:
        """Today's blocked dates, read at most once a minute per process.

        The item itself is read fresh for every decision; blocked dates are set by staff
        ahead of time, and re-reading them per order would spend a call of Supercycle's
        120-a-minute budget on every order of a unique item.
        """
        key = (self._client.base_url, today)
        cached = _BLOCKS_CACHE.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < BLOCKED_DATES_TTL_SECONDS:
            return cached[1]
        blocks: list[BlockedRange] = []
        async for block in self._client.iter_blocked_dates(active_from=today, active_to=today):
            blocked = block.blocked_range()
            if blocked is not None:
                blocks.append(blocked)
        _BLOCKS_CACHE[key] = (now, blocks)
        return blocks

    async def mark_sold(self, item_id: int) -> None:
        await self._client.mark_item_sold(item_id)

    async def is_sold(self, item_id: int) -> bool:
        item = await self._client.get_item(item_id)
        return item.visibility == Visibility.SOLD

    async def make_available(self, item_id: int) -> None:
        item = await self._client.get_item(item_id)
        if item.visibility == Visibility.SOLD:
            await self._client.update_item(item_id, visibility=Visibility.AVAILABLE)
