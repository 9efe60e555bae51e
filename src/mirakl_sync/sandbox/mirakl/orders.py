"""Orders: placing customer orders, their state changes and time rules, and OR21.

State changes go through :mod:`mirakl_sync.domain.marketplace_order`. Placing an order takes
the stock from the offers; refusing or canceling lines gives it back (Mirakl re-credits the
offer quantity of refused/canceled lines [INFERRED: not stated in the seller spec]). The
other order operations build on this module: :mod:`.order_list` (OR11), :mod:`.shipping`
(OR23/OR24, ST*), :mod:`.refunds` (OR28/OR29/OR30) and :mod:`.history` (seeded orders).
"""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.responses import Response

from mirakl_sync.domain.marketplace_order import (
    LineState,
    OrderEvent,
    OrderState,
    RefundState,
    next_line_state,
    next_refund_state,
    order_state_of_lines,
)
from mirakl_sync.sandbox.mirakl import accounting
from mirakl_sync.sandbox.mirakl.http import ApiError, Call, Settings, no_content
from mirakl_sync.sandbox.mirakl.state import MarketState, Order, OrderLine

_E = OrderEvent


class PlaceOrderError(ValueError):
    """The order cannot be placed: unknown offer or not enough stock."""


def place_order(
    market: MarketState,
    now: float,
    lines: list[tuple[str, int]],
    customer: dict[str, Any],
    *,
    channel_code: str | None = None,
) -> Order:
    """A customer order on existing offers with stock; takes the stock at once."""
    if not lines:
        raise PlaceOrderError("an order needs at least one line")
    for sku, qty in lines:
        offer = market.offers.get(sku)
        if offer is None or offer.deleted:
            raise PlaceOrderError(f"no offer with shop_sku {sku!r} on {market.config.code}")
        if qty < 1 or offer.quantity < qty:
            raise PlaceOrderError(f"offer {sku!r} has {offer.quantity} in stock, {qty} wanted")
    n = market.next_number()
    commercial_id = f"{market.config.shop_id}{n:06d}"
    order_id = f"{commercial_id}-A"
    order_lines: list[OrderLine] = []
    for index, (sku, qty) in enumerate(lines, start=1):
        offer = market.offers[sku]
        offer.quantity -= qty
        offer.last_updated = now
        order_lines.append(
            OrderLine(
                line_id=f"{order_id}-{index}",
                index=index,
                offer_id=offer.offer_id,
                offer_sku=offer.shop_sku,
                offer_state_code=offer.state_code,
                product_sku=offer.product_id,
                product_title=offer.product_title,
                category_code=offer.category_code,
                category_label=offer.category_label,
                quantity=qty,
                price_unit=offer.total_price,
                shipping_price=market.config.shipping_price if index == 1 else 0.0,
                state=LineState.WAITING_ACCEPTANCE,
                created=now,
                last_updated=now,
            )
        )
    order = Order(
        order_id=order_id,
        commercial_id=commercial_id,
        created=now,
        last_updated=now,
        state=OrderState.WAITING_ACCEPTANCE,
        lines=order_lines,
        customer=customer,
        channel_code=channel_code,
        reference_for_customer=f"{market.config.code.upper()}-{n:06d}",
    )
    market.orders[order_id] = order
    if market.config.automatic_acceptance:
        # Accepted by the platform: acceptance_decision_date stays null (spec wording).
        _apply(order, now, {ln.line_id: _E.ACCEPTED for ln in order.lines})
        order.accepted_at = now
    return order


def _apply(order: Order, now: float, events: dict[str, OrderEvent]) -> None:
    """Apply per-line events, then derive the order state from the lines."""
    for line in order.lines:
        event = events.get(line.line_id)
        if event is not None:
            line.state = next_line_state(line.state, event)
            line.last_updated = now
    # A fully refunded order keeps its state (order_state_of_lines refuses to pick one).
    with contextlib.suppress(ValueError):
        order.state = order_state_of_lines([ln.state for ln in order.lines])
    order.last_updated = now


def _restock(market: MarketState, line: OrderLine, now: float, quantity: int | None = None) -> None:
    offer = market.offers.get(line.offer_sku)
    if offer is not None and not offer.deleted:
        offer.quantity += line.quantity if quantity is None else quantity
        offer.last_updated = now


def tick(market: MarketState, now: float, settings: Settings) -> None:
    """Apply the time rules: auto-refusal, debit, refunds, receipt, closing."""
    for order in list(market.orders.values()):
        if order.state == OrderState.WAITING_ACCEPTANCE and (
            now - order.created >= settings.acceptance_window_seconds
        ):
            at = order.created + settings.acceptance_window_seconds
            waiting = [ln for ln in order.lines if ln.state == LineState.WAITING_ACCEPTANCE]
            _apply(order, at, {ln.line_id: _E.ACCEPTANCE_EXPIRED for ln in waiting})
            for ln in waiting:
                _restock(market, ln, at)
        if (
            order.state in (OrderState.WAITING_DEBIT, OrderState.WAITING_DEBIT_PAYMENT)
            and order.accepted_at is not None
            and now - order.accepted_at >= settings.debit_delay_seconds
        ):
            at = order.accepted_at + settings.debit_delay_seconds
            live = [
                ln
                for ln in order.lines
                if ln.state in (LineState.WAITING_DEBIT, LineState.WAITING_DEBIT_PAYMENT)
            ]
            _apply(order, at, {ln.line_id: _E.DEBITED for ln in live})
            order.customer_debited_date = at
            for ln in live:
                ln.debited = at
                accounting.book_debit(market, at, order, ln)
        if (
            settings.receive_delay_seconds is not None
            and order.state == OrderState.SHIPPED
            and order.shipped_at is not None
            and now - order.shipped_at >= settings.receive_delay_seconds
        ):
            at = order.shipped_at + settings.receive_delay_seconds
            _apply(order, at, {ln.line_id: _E.RECEIVED for ln in _in(order, LineState.SHIPPED)})
            order.received_at = at
            for ln in order.lines:
                ln.received = at if ln.state == LineState.RECEIVED else ln.received
        if (
            settings.close_delay_seconds is not None
            and order.state == OrderState.RECEIVED
            and order.received_at is not None
            and now - order.received_at >= settings.close_delay_seconds
        ):
            at = order.received_at + settings.close_delay_seconds
            _apply(order, at, {ln.line_id: _E.CLOSED for ln in _in(order, LineState.RECEIVED)})
        for line in order.lines:
            for refund in line.refunds:
                steps = int((now - refund.created) / max(settings.refund_delay_seconds / 2, 1e-9))
                while refund.state != RefundState.REFUNDED and steps > 0:
                    refund.state = next_refund_state(refund.state)
                    steps -= 1
                    if refund.state == RefundState.REFUNDED:
                        refund.transaction_date = refund.created + settings.refund_delay_seconds
                        order.last_updated = max(order.last_updated, refund.transaction_date)


def _in(order: Order, state: LineState) -> list[OrderLine]:
    return [ln for ln in order.lines if ln.state == state]


def _order(call: Call, order_id: str) -> Order:
    order = call.market.orders.get(order_id)
    if order is None:
        raise ApiError(404, f"ORDER_NOT_FOUND: order {order_id} does not exist")
    return order


def _list_of(call: Call, name: str, maximum: int = 1000) -> list[dict[str, Any]]:
    items = call.json_object().get(name)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiError(400, f"{name} is required and must be a list of objects")
    if len(items) > maximum:
        raise ApiError(400, f"At most {maximum} {name} per call, got {len(items)}")
    return items


# ---- OR21 ---------------------------------------------------------------------------------


def or21(call: Call) -> Response:
    order = _order(call, call.path["order_id"])
    body = call.json_object()
    decisions = body.get("order_lines")
    if not isinstance(decisions, list):
        raise ApiError(400, "VALIDATION_ERROR: order_lines is required and must be a list")
    if any(d is None for d in decisions):
        raise ApiError(400, "ORDER_LINE_NULL_ELEMENT: the order_lines list contains a null element")
    accepted: dict[str, bool] = {}
    for d in decisions:
        if (
            not isinstance(d, dict)
            or not isinstance(d.get("id"), str)
            or not isinstance(d.get("accepted"), bool)
        ):
            raise ApiError(
                400, "VALIDATION_ERROR: each order line needs an id (string) and accepted (boolean)"
            )
        if d["id"] in accepted:
            raise ApiError(400, f"ORDER_LINE_DUPLICATE_ID: order line {d['id']} appears twice")
        accepted[d["id"]] = d["accepted"]
    known = {ln.line_id for ln in order.lines}
    unknown = sorted(set(accepted) - known)
    if unknown:
        raise ApiError(
            400, f"ORDER_LINE_NOT_FOUND: order line {unknown[0]} is not in order {order.order_id}"
        )
    if order.state != OrderState.WAITING_ACCEPTANCE:
        raise ApiError(
            400,
            f"ORDER_INVALID_STATE: order {order.order_id} is {order.state.value}, "
            "not WAITING_ACCEPTANCE",
        )
    waiting = [ln.line_id for ln in order.lines if ln.state == LineState.WAITING_ACCEPTANCE]
    missing = [lid for lid in waiting if lid not in accepted]
    if missing:
        raise ApiError(
            400,
            "ORDER_LINE_ACCEPTANCE_DECISION_MISSING: give a decision for every line; missing "
            + ", ".join(missing),
        )
    if len(set(accepted.values())) > 1 and not call.market.config.partial_acceptance:
        raise ApiError(
            400,
            "ORDER_PARTIAL_ACCEPTANCE_DISABLED: accept or refuse all lines of the order together",
        )
    now = call.now
    events = {lid: (_E.ACCEPTED if ok else _E.REFUSED) for lid, ok in accepted.items()}
    _apply(order, now, events)
    order.acceptance_decision_date = now
    if any(accepted.values()):
        order.accepted_at = now
    for ln in order.lines:
        if accepted.get(ln.line_id) is False:
            _restock(call.market, ln, now)
    return no_content()
