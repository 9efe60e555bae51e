"""Shipments: which marketplace order lines a shop fulfilment ships, and batching.

A fulfilment in the shop names SKUs and quantities; the marketplace order names lines
with their ``offer_sku``. A fulfilment ships, per marketplace line, what it names minus
what earlier shipments already shipped. Multi-shipment APIs (ST01/ST23/ST24) take at
most 1000 shipments per call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from mirakl_sync.domain.marketplace_order import LineState, OrderState

T = TypeVar("T")

#: ST01/ST23/ST24 ``maxItems``.
SHIPMENTS_PER_CALL = 1000

#: Line states from which a line can still be shipped (the WAITING ones included: the
#: stored order may be stale, and Mirakl itself refuses what it cannot ship yet).
SHIPPABLE_LINE_STATES = frozenset(
    {
        LineState.SHIPPING,
        LineState.WAITING_DEBIT,
        LineState.WAITING_DEBIT_PAYMENT,
        LineState.WAITING_ACCEPTANCE,
        LineState.STAGING,
    }
)
#: Order states in which Mirakl has not debited the customer yet: shipping must wait.
WAITING_STATES = frozenset(
    {
        OrderState.STAGING,
        OrderState.WAITING_ACCEPTANCE,
        OrderState.WAITING_DEBIT,
        OrderState.WAITING_DEBIT_PAYMENT,
    }
)
#: Order states meaning the shipment is already confirmed.
SHIPPED_STATES = frozenset(
    {OrderState.SHIPPED, OrderState.TO_COLLECT, OrderState.RECEIVED, OrderState.CLOSED}
)


@dataclass(frozen=True)
class MarketLine:
    """What dispatch needs of one marketplace order line."""

    order_line_id: str
    offer_sku: str
    quantity: int
    state: str


@dataclass(frozen=True)
class ShipmentLine:
    order_line_id: str
    quantity: int


def lines_to_ship(
    fulfilled: Mapping[str, int],
    lines: Sequence[MarketLine],
    already_shipped: Mapping[str, int],
    *,
    whole_order: bool = False,
) -> list[ShipmentLine]:
    """The lines and quantities this fulfilment ships, in line order.

    ``fulfilled`` is SKU -> quantity of the fulfilment; ``already_shipped`` is line id ->
    quantity in earlier shipments. ``whole_order`` ships every remaining unit (the shop
    order is fulfilled in full, whatever SKUs it uses). A SKU on several lines fills
    them in order.
    """
    remaining_by_sku = {sku: qty for sku, qty in fulfilled.items() if qty > 0}
    out: list[ShipmentLine] = []
    for line in lines:
        if line.state not in SHIPPABLE_LINE_STATES:
            continue
        left = line.quantity - already_shipped.get(line.order_line_id, 0)
        if left <= 0:
            continue
        if whole_order:
            out.append(ShipmentLine(line.order_line_id, left))
            continue
        available = remaining_by_sku.get(line.offer_sku, 0)
        take = min(left, available)
        if take > 0:
            remaining_by_sku[line.offer_sku] = available - take
            out.append(ShipmentLine(line.order_line_id, take))
    return out


def fully_covered(lines: Sequence[MarketLine], shipping: Sequence[ShipmentLine]) -> bool:
    """Whether ``shipping`` ships every unit still to ship (OR24 ships the whole order)."""
    wanted = {ln.order_line_id: ln.quantity for ln in lines if ln.state in SHIPPABLE_LINE_STATES}
    got: dict[str, int] = {}
    for s in shipping:
        got[s.order_line_id] = got.get(s.order_line_id, 0) + s.quantity
    return bool(wanted) and all(got.get(lid, 0) >= qty for lid, qty in wanted.items())


def batches(items: Sequence[T], size: int = SHIPMENTS_PER_CALL) -> list[list[T]]:
    """``items`` in consecutive batches of at most ``size``."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


@dataclass(frozen=True)
class OrderRef:
    """A marketplace order the hub created a shop order for (``marketplace_orders``)."""

    marketplace: str
    order_id: str
    shopify_order_id: str | None
    state: str
    hub_status: str
