"""Supercycle returns that refund the marketplace order, per the configured trigger.

``[refunds] supercycle_trigger``:

* ``received``: the return line is received;
* ``inspection_passed``: received in one of ``acceptable_conditions``;
* ``restocked``: the item is restocked (``restockedAt`` set).

A return line is matched to the marketplace order line that sold its item (offer SKU =
the item's serial, item offer mode); the newest such order wins. Each return line is one
refund source (``supercycle-return-line:<id>``), sent once (see ``services.refunds``).
The item itself comes back to the pool as Supercycle says: Not ready after receipt,
listed again once restocked (the stock flow reads the item's status).

The refunds poll reads every return order on its first pass, then only those that
changed since its cursor (through the rentals' ``updated`` filter: see
``SupercycleReturnsApi.return_orders_changed_since``), so its cost grows with the
returns that move, not with the returns on file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mirakl_sync.config import RefundSettings
from mirakl_sync.services.ports import MarketplaceOrderIndex, ReturnsApi
from mirakl_sync.services.refunds import RefundSource

HUB_REASON = "return"


def triggered(line: dict[str, Any], settings: RefundSettings) -> bool:
    """Whether this return line, as Supercycle reports it, triggers the refund."""
    received = line.get("status") == "received"
    if settings.supercycle_trigger == "received":
        return received
    if settings.supercycle_trigger == "inspection_passed":
        return received and line.get("condition") in settings.acceptable_conditions
    return bool(line.get("restocked_at"))


async def due_refunds(
    returns: ReturnsApi,
    index: MarketplaceOrderIndex,
    settings: RefundSettings,
    since: datetime | None = None,
) -> list[RefundSource]:
    """Refund sources for every triggered return line of an item sold on a marketplace:
    of every return order, or (``since``) of those that changed since then."""
    orders = (
        await returns.return_orders()
        if since is None
        else await returns.return_orders_changed_since(since)
    )
    out = []
    for order in orders:
        if order.get("status") == "cancelled":
            continue
        for line in order.get("lines") or []:
            serial = line.get("serial")
            if not serial or not triggered(line, settings):
                continue
            refs = index.with_offer_sku(str(serial))
            if not refs:
                continue
            ref = refs[0]
            out.append(
                RefundSource(
                    key=f"supercycle-return-line:{line['id']}",
                    marketplace=ref.marketplace,
                    order_id=ref.order_id,
                    skus={str(serial): 1},
                    reason=HUB_REASON,
                )
            )
    return out
