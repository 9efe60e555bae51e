"""Availability rules: which rental holds an item today, whether an item is bookable for
some days (no reservation or blocked date overlaps them), blocked dates, and a variant's
availability timeline."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from mirakl_sync.adapters.supercycle.models import Visibility
from mirakl_sync.domain.item_availability import BlockScope, DateRange
from mirakl_sync.sandbox.supercycle.records import (
    ACTIVE_RENTAL_STATUSES,
    CLOSED_RENTAL_STATUSES,
    BlockedDateRecord,
    EmulatorError,
    ItemRecord,
    RentalRecord,
)
from mirakl_sync.sandbox.supercycle.store import StateStore


class AvailabilityRules(StateStore):
    """Reservations, blocked dates and bookability."""

    # --- items --------------------------------------------------------------------------

    def active_rental(self, item_id: int) -> RentalRecord | None:
        """The rental holding the item today, if any (see the docstring of :mod:`.state`)."""
        today = self.today()
        for rental in self.rentals.values():
            if rental.item_id != item_id or rental.status in CLOSED_RENTAL_STATUSES:
                continue
            if rental.status in ACTIVE_RENTAL_STATUSES:
                return rental
            if rental.rental_start is None or rental.rental_start.date() <= today:
                return rental
        return None

    def blocks_on(self, item: ItemRecord) -> list[BlockedDateRecord]:
        variant = self.variants[item.shopify_variant_id]
        targets = {
            (BlockScope.ITEM.value, item.id),
            (BlockScope.VARIANT.value, variant.shopify_id),
            (BlockScope.PRODUCT.value, variant.shopify_product_id),
        }
        return [
            b for b in self.blocked_dates.values() if (b.resource_type, b.resource_id) in targets
        ]

    def is_bookable(self, item_id: int, first: date, last: date | None) -> bool:
        """Available, and no reservation or blocked date overlaps ``first``..``last``."""
        item = self.item(item_id)
        if item.visibility != Visibility.AVAILABLE:
            return False
        wanted = DateRange(first, last)
        holds = [r.reservation() for r in self.rentals.values() if r.item_id == item_id]
        holds += [b.days for b in self.blocks_on(item)]
        return not any(h is not None and _overlap(h, wanted) for h in holds)

    # --- blocked dates ------------------------------------------------------------------

    def create_blocked_date(
        self,
        resource_type: str,
        resource_id: int,
        first: date | None,
        last: date | None,
        description: str | None = None,
    ) -> BlockedDateRecord:
        self._check_choice("resourceType", resource_type, BlockScope)
        if resource_type == BlockScope.ITEM:
            self.item(resource_id)
        elif resource_type == BlockScope.VARIANT:
            self.variant(resource_id)
        elif resource_id not in self.products:
            raise EmulatorError(422, f"Product {resource_id} has not been imported into Supercycle")
        if first and last and last < first:
            raise EmulatorError(422, "'to' must be on or after 'from'")
        now = self.now()
        record = BlockedDateRecord(
            id=self.new_id("blocked", 600_001),
            resource_type=resource_type,
            resource_id=resource_id,
            first=first,
            last=last,
            description=description,
            created_at=now,
            updated_at=now,
        )
        self.blocked_dates[record.id] = record
        return record

    # --- availability -------------------------------------------------------------------

    def availability_timeline(
        self, shopify_variant_id: int, *, location_id: int | None = None, days: int = 365
    ) -> dict[str, Any]:
        if shopify_variant_id not in self.variants:
            raise EmulatorError(404, f"Variant {shopify_variant_id} is not managed by Supercycle")
        items = [
            i
            for i in self.items.values()
            if i.shopify_variant_id == shopify_variant_id
            and i.visibility == Visibility.AVAILABLE
            and (location_id is None or i.location_shopify_id == location_id)
        ]
        start = self.today()
        occupancy: dict[str, int] = {}
        holds = {
            item.id: [r.reservation() for r in self.rentals.values() if r.item_id == item.id]
            + [b.days for b in self.blocks_on(item)]
            for item in items
        }
        for offset in range(days):
            day = start + timedelta(days=offset)
            free = sum(1 for item in items if not any(h and h.covers(day) for h in holds[item.id]))
            occupancy[day.isoformat()] = free
        current = {i.id: self.active_rental(i.id) for i in items}
        return {
            "occupancy": occupancy,
            "inventoryCount": len(items),
            "futureAvailabilityInventoryCount": sum(
                1 for r in current.values() if r is None or r.rental_end is not None
            ),
            "uncommitedInventoryCount": sum(1 for r in current.values() if r is None),
        }


def _overlap(a: DateRange, b: DateRange) -> bool:
    starts_before_b_ends = a.first is None or b.last is None or a.first <= b.last
    ends_after_b_starts = a.last is None or b.first is None or a.last >= b.first
    return starts_before_b_ends and ends_after_b_starts
