"""``SupercycleItemsReader``: Supercycle items and today's blocked dates, in bulk.

Items carry ``activeRentalId`` (an active rental holds the item), so the rentals list need
not be walked; blocked dates are read with ``activeFrom=activeTo=day``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime

from mirakl_sync.adapters.supercycle.client import SupercycleClient
from mirakl_sync.adapters.supercycle.models import TimeFilter
from mirakl_sync.domain.item_availability import BlockedRange
from mirakl_sync.domain.offers import SupercycleItem


class SupercycleItemsReader:
    def __init__(self, client: SupercycleClient) -> None:
        self.client = client

    async def items(
        self, *, updated_since: datetime | None = None
    ) -> AsyncIterator[SupercycleItem]:
        updated = TimeFilter(gte=updated_since) if updated_since is not None else None
        async for item in self.client.iter_items(updated=updated):
            if not item.serial:
                continue  # an item without serial cannot be listed on its own
            yield SupercycleItem(
                serial=item.serial,
                condition=item.condition.title if item.condition else None,
                facts=item.facts(),
            )

    async def blocked_ranges(self, day: date) -> AsyncIterator[BlockedRange]:
        async for blocked in self.client.iter_blocked_dates(active_from=day, active_to=day):
            found = blocked.blocked_range()
            if found is not None:
                yield found
