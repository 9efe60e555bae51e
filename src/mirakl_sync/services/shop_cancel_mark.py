"""A shop order cancelled before its marketplace order was accepted: refuse, do not accept.

The order flow creates the shop order and then sends OR21. In between (seconds, or minutes
when Mirakl answers 500s and the step retries), the warehouse may cancel the shop order.
A seller cannot cancel an order Mirakl still shows WAITING_ACCEPTANCE (OR29/OR30 take an
accepted order), so the cancellation flow used to wait, the order flow accepted the order
all the same, and the customer was debited for an order the shop had already cancelled
(issue 10, the soak: an order left SHIPPING on Mirakl, cancelled in Shopify).

So the cancellation flow leaves a **mark** (``sync_cursors``, flow ``shop-cancelled``) when
it finds the order not accepted yet, and the order flow's decision step reads it (a local
read, no API call) just before its first OR21: a marked order is refused, line by line,
and its import undone (stock and unique items given back; the shop order is already
cancelled). If an acceptance was already sent (even one whose reply was lost), it stays
the decision, and the cancellation flow, still waiting, cancels the order with OR29 once
Mirakl allows it. Either way the order ends cancelled on both sides, once.

Limit: a shop refund that cancels some lines only (``cancel_skus``) before acceptance is
not turned into a partial refusal; it waits for the acceptance and goes out as OR30.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

FLOW = "shop-cancelled"
MARKED = "cancelled"


class MarkStore(Protocol):
    """The hub's small key-value marks (``OrderRepository.cursor``/``set_cursor``)."""

    def cursor(self, flow: str, scope: str) -> str | None: ...

    def set_cursor(self, flow: str, scope: str, value: str, now: datetime) -> None: ...


def _scope(marketplace: str, order_id: str) -> str:
    return f"{marketplace}:{order_id}"


def mark_cancelled_in_shop(
    store: MarkStore, marketplace: str, order_id: str, now: datetime
) -> None:
    """The shop order of this not-yet-accepted order was cancelled (idempotent)."""
    if store.cursor(FLOW, _scope(marketplace, order_id)) != MARKED:
        store.set_cursor(FLOW, _scope(marketplace, order_id), MARKED, now)


def cancelled_in_shop(store: MarkStore, marketplace: str, order_id: str) -> bool:
    return store.cursor(FLOW, _scope(marketplace, order_id)) == MARKED
