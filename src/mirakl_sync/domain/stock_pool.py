"""The stock pool: one quantity per stock key, shared by the web store and every marketplace.

A *stock key* is what a unit of stock is known by: the Shopify variant SKU for new
stock, the Supercycle item serial for a unique item. The source of truth (Shopify
``available``, or Supercycle's item availability) is read fresh at decision time;
the hub's own *holds* (reservations for marketplace order lines it has decided to
accept, not yet reflected in the source) are subtracted from it. A hold is granted
only if the whole requested quantity is free, so stock is never promised twice.

A hold stops counting once it is *committed* (the source reflects the sale), but only
for reads made after that: a read older than a commit (the source read, then another
order's sale landed and was committed, then this hold asked) still counts it, as does one
made within ``COMMIT_VISIBLE_AFTER`` of it (clocks of several hosts, a source that
reflects a sale a moment late). Before (issue 10, a soak), such a read let two orders
hold one unique item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

#: How long after its commit a sale still counts against reads of the source: the clocks
#: of the hub's processes may differ a little. Short, because a read just after a commit
#: already reflects it and counting it again refuses stock that is there.
COMMIT_VISIBLE_AFTER = timedelta(seconds=1)


class ReservationStatus(StrEnum):
    #: Counted against the pool: the source does not reflect this sale yet.
    HELD = "held"
    #: The source of truth now reflects it (Shopify order created, item marked sold).
    COMMITTED = "committed"
    #: Given back: the line was refused, cancelled, or the order never went through.
    RELEASED = "released"


@dataclass(frozen=True)
class HoldDecision:
    granted: bool
    #: What was free for this request: source minus everyone else's holds (never < 0).
    free: int


def counted_since(read_at: datetime) -> datetime:
    """Committed holds updated at or after this still count against a read at
    ``read_at`` (see the module docstring)."""
    return read_at - COMMIT_VISIBLE_AFTER


def decide_hold(*, source_available: int, held_by_others: int, requested: int) -> HoldDecision:
    """Grant ``requested`` units only if that many are free right now."""
    if requested < 1:
        raise ValueError(f"a hold needs a positive quantity, got {requested}")
    free = max(0, source_available - held_by_others)
    return HoldDecision(granted=free >= requested, free=free)


@dataclass(frozen=True)
class LineHold:
    """A request to hold stock for one marketplace order line."""

    sku: str
    marketplace: str
    order_id: str
    order_line_id: str
    quantity: int


@dataclass(frozen=True)
class Reservation:
    sku: str
    marketplace: str
    order_id: str
    order_line_id: str
    quantity: int
    status: ReservationStatus


@dataclass(frozen=True)
class HoldOutcome:
    """The result of asking for a hold; ``reservation`` is None when it was refused."""

    decision: HoldDecision
    reservation: Reservation | None
    #: True when this line already had a reservation (a step run twice): nothing changed.
    existing: bool = False
