"""Order history for the sandbox seeds: orders that predate the seller's connector, moved
through their past states and refunds with the same rules and bookings as the API calls."""

from __future__ import annotations

import contextlib

from mirakl_sync.domain.marketplace_order import IllegalTransition, OrderEvent
from mirakl_sync.sandbox.mirakl import accounting
from mirakl_sync.sandbox.mirakl.orders import _apply
from mirakl_sync.sandbox.mirakl.shipping import _copy_tracking
from mirakl_sync.sandbox.mirakl.state import MarketState, Order, OrderLine, Refund, money

_E = OrderEvent


def replay_history(
    market: MarketState,
    order: Order,
    *,
    accepted_at: float,
    shipped_at: float | None = None,
    received_at: float | None = None,
    closed_at: float | None = None,
    debit_delay_seconds: float = 5.0,
    tracking: dict[str, str] | None = None,
) -> None:
    """Move a placed order through the states a previous connector (or the operator)
    took it through, at the given past times, with the same rules and bookings as the
    API calls: accepted (OR21), debited, shipped (OR23 + OR24), received, closed."""
    _apply(order, accepted_at, {ln.line_id: _E.ACCEPTED for ln in order.lines})
    order.accepted_at = order.acceptance_decision_date = accepted_at
    debited_at = accepted_at + debit_delay_seconds
    _apply(order, debited_at, {ln.line_id: _E.DEBITED for ln in order.lines})
    order.customer_debited_date = debited_at
    for ln in order.lines:
        ln.debited = debited_at
        accounting.book_debit(market, debited_at, order, ln)
    if shipped_at is None:
        return
    if tracking:
        _copy_tracking(order, tracking)
    _apply(order, shipped_at, {ln.line_id: _E.SHIPPED for ln in order.lines})
    order.shipped_at = shipped_at
    for ln in order.lines:
        ln.shipped = shipped_at
    accounting.make_payable(market, shipped_at, order.order_id)
    if received_at is None:
        return
    _apply(order, received_at, {ln.line_id: _E.RECEIVED for ln in order.lines})
    order.received_at = received_at
    for ln in order.lines:
        ln.received = received_at
    if closed_at is not None:
        _apply(order, closed_at, {ln.line_id: _E.CLOSED for ln in order.lines})


def record_refund(
    market: MarketState,
    order: Order,
    line: OrderLine,
    *,
    at: float,
    amount: float,
    shipping_amount: float,
    quantity: int,
    reason_code: str,
) -> Refund:
    """A refund made on the marketplace at ``at`` (as OR28 would have made it then):
    booked, and the line REFUNDED once refunds cover its price."""
    fee, vat = accounting.commission(market, amount)
    refund = Refund(
        id=str(market.next_number()),
        order_refund_id=market.uuid(),
        amount=money(amount),
        shipping_amount=money(shipping_amount),
        quantity=quantity,
        reason_code=reason_code,
        commission_amount=fee,
        commission_tax_amount=vat,
        created=at,
    )
    line.refunds.append(refund)
    accounting.book_refund(market, at, order, line, refund)
    if money(sum(r.amount for r in line.refunds)) >= line.price:
        with contextlib.suppress(IllegalTransition):
            _apply(order, at, {line.line_id: _E.REFUNDED})
    line.last_updated = order.last_updated = max(order.last_updated, at)
    return refund
