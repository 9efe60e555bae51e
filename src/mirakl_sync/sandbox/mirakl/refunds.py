"""Refunds and cancelations: OR28 (refund lines), OR29 (cancel an order) and OR30 (cancel
parts of lines), with their commission bookings and restocking."""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.responses import Response

from mirakl_sync.domain.marketplace_order import (
    IllegalTransition,
    LineState,
    OrderEvent,
    OrderState,
)
from mirakl_sync.sandbox.mirakl import accounting
from mirakl_sync.sandbox.mirakl.http import ApiError, Call, json_reply, no_content
from mirakl_sync.sandbox.mirakl.orders import _apply, _list_of, _order, _restock
from mirakl_sync.sandbox.mirakl.state import Cancelation, Order, OrderLine, Refund, money

_E = OrderEvent


def _find_line(call: Call, line_id: str) -> tuple[Order, OrderLine]:
    for order in call.market.orders.values():
        for line in order.lines:
            if line.line_id == line_id:
                return order, line
    raise ApiError(404, f"ORDER_LINE_NOT_FOUND: order line {line_id} does not exist")


def _amounts(item: dict[str, Any], names: tuple[str, ...]) -> list[float]:
    out = []
    for name in names:
        value = item.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ApiError(400, f"{name} is required and must be a positive number")
        out.append(float(value))
    return out


def or28(call: Call) -> Response:
    market = call.market
    body = call.json_object()
    items = _list_of(call, "refunds", maximum=10_000)
    result: list[dict[str, Any]] = []
    planned: list[tuple[Order, OrderLine, Refund]] = []
    for item in items:
        order, line = _find_line(call, str(item.get("order_line_id", "")))
        amount, shipping = _amounts(item, ("amount", "shipping_amount"))
        reason = str(item.get("reason_code", ""))
        if market.config.reason(reason, "REFUND") is None:
            raise ApiError(400, f"reason_code {reason!r} is not a REFUND reason (see RE01)")
        if line.state not in (
            LineState.SHIPPING,
            LineState.SHIPPED,
            LineState.RECEIVED,
            LineState.INCIDENT_OPEN,
        ):
            raise ApiError(
                400, f"Order line {line.line_id} cannot be refunded in {line.state.value}"
            )
        already = sum(r.amount for r in line.refunds) + sum(
            p[2].amount for p in planned if p[1] is line
        )
        already_ship = sum(r.shipping_amount for r in line.refunds)
        if (
            money(already + amount) > line.price
            or money(already_ship + shipping) > line.shipping_price
        ):
            raise ApiError(400, f"Refund exceeds what is left to refund on {line.line_id}")
        fee, vat = accounting.commission(market, amount)
        refund = Refund(
            id=str(market.next_number()),
            order_refund_id=market.uuid(),
            amount=money(amount),
            shipping_amount=money(shipping),
            quantity=int(item.get("quantity") or 0),
            reason_code=reason,
            commission_amount=fee,
            commission_tax_amount=vat,
            created=call.now,
        )
        planned.append((order, line, refund))
    for order, line, refund in planned:
        line.refunds.append(refund)
        accounting.book_refund(market, call.now, order, line, refund)
        if money(sum(r.amount for r in line.refunds)) >= line.price:
            with contextlib.suppress(IllegalTransition):
                _apply(order, call.now, {line.line_id: _E.REFUNDED})
        line.last_updated = order.last_updated = call.now
        result.append(
            {
                "refund_id": refund.id,
                "order_refund_id": refund.order_refund_id,
                "order_line_id": line.line_id,
                "amount": refund.amount,
                "shipping_amount": refund.shipping_amount,
                "quantity": refund.quantity,
                "reason_code": refund.reason_code,
                "currency_iso_code": market.config.currency_iso_code,
            }
        )
    return json_reply(
        {"order_tax_mode": body.get("order_tax_mode") or "TAX_INCLUDED", "refunds": result}
    )


def or29(call: Call) -> Response:
    order = _order(call, call.path["order_id"])
    if order.state not in (
        OrderState.WAITING_DEBIT,
        OrderState.WAITING_DEBIT_PAYMENT,
        OrderState.SHIPPING,
    ):
        raise ApiError(400, f"Current status is {order.state.value}: the order cannot be canceled")
    live = [
        ln
        for ln in order.lines
        if ln.state
        in (LineState.WAITING_DEBIT, LineState.WAITING_DEBIT_PAYMENT, LineState.SHIPPING)
    ]
    _apply(order, call.now, {ln.line_id: _E.CANCELED for ln in live})
    for ln in live:
        _restock(call.market, ln, call.now)
    return no_content()


def or30(call: Call) -> Response:
    market = call.market
    if not market.config.partial_cancelation:
        raise ApiError(403, "Partial cancelation is not enabled for this shop: use OR29")
    body = call.json_object()
    items = _list_of(call, "cancelations", maximum=10_000)
    result: list[dict[str, Any]] = []
    for item in items:
        order, line = _find_line(call, str(item.get("order_line_id", "")))
        amount, shipping = _amounts(item, ("amount", "shipping_amount"))
        qty = item.get("quantity")
        reason = str(item.get("reason_code", ""))
        if market.config.reason(reason, "CANCELATION") is None:
            raise ApiError(400, f"reason_code {reason!r} is not a CANCELATION reason (see RE01)")
        if not isinstance(qty, int) or not 1 <= qty <= line.quantity:
            raise ApiError(400, f"quantity must be between 1 and {line.quantity}")
        if line.state not in (
            LineState.WAITING_DEBIT,
            LineState.WAITING_DEBIT_PAYMENT,
            LineState.SHIPPING,
        ):
            raise ApiError(
                400, f"Order line {line.line_id} cannot be canceled in {line.state.value}"
            )
        fee, vat = accounting.commission(market, amount)
        canc = Cancelation(
            id=str(market.next_number()),
            amount=money(amount),
            shipping_amount=money(shipping),
            quantity=qty,
            reason_code=reason,
            commission_amount=fee,
            commission_tax_amount=vat,
            created=call.now,
        )
        line.cancelations.append(canc)
        _restock(market, line, call.now, qty)
        if sum(c.quantity for c in line.cancelations) >= line.quantity:
            _apply(order, call.now, {line.line_id: _E.CANCELED})
        line.last_updated = order.last_updated = call.now
        result.append(
            {
                "cancelation_id": canc.id,
                "order_line_id": line.line_id,
                "amount": canc.amount,
                "shipping_amount": canc.shipping_amount,
                "quantity": canc.quantity,
                "reason_code": canc.reason_code,
                "currency_iso_code": market.config.currency_iso_code,
            }
        )
    return json_reply(
        {"order_tax_mode": body.get("order_tax_mode") or "TAX_INCLUDED", "cancelations": result}
    )
