"""The emulator serves the fields of docs.supercycle.com/api-reference/admin, and no others
except the ones we knowingly add (listed here, each marked undocumented in the code)."""

from __future__ import annotations

from typing import Any

import pytest

from mirakl_sync.adapters.supercycle.models import (
    AvailabilityTimeline,
    BlockedDate,
    Item,
    Rental,
    ReturnOrder,
)
from mirakl_sync.sandbox.seed import build_catalogue
from mirakl_sync.sandbox.supercycle import SupercycleEmulator
from mirakl_sync.sandbox.supercycle.serialize import (
    blocked_date_json,
    item_json,
    rental_json,
    return_order_json,
)

# Field names as published in the Admin API reference (response examples).
ITEM = {
    "id", "createdAt", "activeRentalId", "productTitle", "serial", "sequentialId",
    "shopifyVariantId", "status", "tags", "variantTitle", "visibility", "activeReturnId",
    "condition", "conditionId", "imageUrl", "location", "pickLocation", "shopifyProductId",
    "timelineEvents", "customFields",
}  # fmt: skip
RENTAL = {
    "id", "createdAt", "updatedAt", "customer", "itemId", "packingStatus", "shopifyOrderId",
    "shopifyOrderLineId", "methodType", "item", "fulfillAt", "fulfilledAt",
    "minimumRentalEnd", "originRentalIntentToken", "receiveAt", "receivedAt", "rentalStart",
    "rentalEnd", "restockBy", "restockedAt", "sequentialId", "shopifyOrderName", "status",
    "fulfillmentStatus", "receivalStatus", "returnOrderId", "timelineEvents", "tags",
}  # fmt: skip
RETURN_ORDER = {
    "id", "createdAt", "creditStatus", "customer", "returnLines", "requestedAt",
    "sequentialId", "status", "receivalStatus", "returnMethod", "timelineEvents", "tags",
}  # fmt: skip
RETURN_LINE = {
    "id", "createdAt", "rentalId", "status", "condition", "item", "requestedAt", "restockedAt",
}  # fmt: skip
BLOCKED_DATE = {
    "id", "from", "resourceType", "resourceId", "createdAt", "updatedAt", "resource",
    "description", "to",
}  # fmt: skip
TIMELINE = {
    "occupancy", "inventoryCount", "futureAvailabilityInventoryCount",
    "uncommitedInventoryCount",
}  # fmt: skip

#: Added by the emulator, not in the reference: items and return orders get ``updatedAt``
#: so incremental reads can be exercised.
UNDOCUMENTED = {"item": {"updatedAt"}, "return": {"updatedAt"}}


@pytest.fixture(scope="module")
def emulator() -> SupercycleEmulator:
    emulator = SupercycleEmulator(clock=lambda: 1_750_000_000.0)
    emulator.load_catalogue(build_catalogue(products=60))
    return emulator


def check(
    payload: dict[str, Any], documented: set[str], extra: set[str] | frozenset[str] = frozenset()
) -> None:
    assert documented <= payload.keys(), f"missing {documented - payload.keys()}"
    assert payload.keys() - documented <= extra, f"invented {payload.keys() - documented}"


def test_item_shape(emulator: SupercycleEmulator) -> None:
    for item in emulator.state.items.values():
        payload = item_json(emulator.state, item)
        check(payload, ITEM, UNDOCUMENTED["item"])
        Item.model_validate(payload)


def test_rental_shape(emulator: SupercycleEmulator) -> None:
    assert emulator.state.rentals
    for rental in emulator.state.rentals.values():
        payload = rental_json(emulator.state, rental)
        check(payload, RENTAL)
        Rental.model_validate(payload)


def test_return_order_shape(emulator: SupercycleEmulator) -> None:
    assert emulator.state.returns
    for order in emulator.state.returns.values():
        payload = return_order_json(emulator.state, order)
        check(payload, RETURN_ORDER, UNDOCUMENTED["return"])
        for line in payload["returnLines"]:
            check(line, RETURN_LINE)
        ReturnOrder.model_validate(payload)


def test_blocked_date_and_timeline_shapes(emulator: SupercycleEmulator) -> None:
    assert emulator.state.blocked_dates
    for block in emulator.state.blocked_dates.values():
        payload = blocked_date_json(emulator.state, block)
        check(payload, BLOCKED_DATE)
        BlockedDate.model_validate(payload)
    variant = next(iter(emulator.state.variants))
    timeline = emulator.state.availability_timeline(variant)
    check(timeline, TIMELINE)
    AvailabilityTimeline.model_validate(timeline)
