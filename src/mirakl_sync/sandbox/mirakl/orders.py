"""Orders: placing customer orders, the time rules, and OR11/OR21/OR23/OR24/OR28/OR29/OR30 + ST*.

State changes go through :mod:`mirakl_sync.domain.marketplace_order`. Placing an order takes
the stock from the offers; refusing or canceling lines gives it back (Mirakl re-credits the
offer quantity of refused/canceled lines [INFERRED: not stated in the seller spec]).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from mirakl_sync.domain.marketplace_order import (
    IllegalTransition,
    LineState,
    OrderEvent,
    OrderState,
    RefundState,
    next_line_state,
    next_refund_state,
    order_state_of_lines,
)
from mirakl_sync.sandbox.mirakl import accounting
from mirakl_sync.sandbox.mirakl.http import (
    ApiError,
    Call,
    Settings,
    json_reply,
    no_content,
    offset_page,
    seek_page,
)
from mirakl_sync.sandbox.mirakl.state import (
    Cancelation,
    MarketState,
    Order,
    OrderLine,
    Refund,
    Shipment,
    iso,
    money,
    parse_date,
)

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


# ---- JSON shapes (OR11) -------------------------------------------------------------------


def _address(a: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in a.items() if v is not None}


def _taxes(amount: float, rate: float) -> list[dict[str, Any]]:
    if not amount:
        return []
    tax = money(amount - amount / (1 + rate))
    return [
        {
            "code": "VAT",
            "amount": tax,
            "rate": round(rate * 100, 2),
            "tax_calculation_rule": "PROPORTIONAL_TO_AMOUNT",
        }
    ]


def line_json(market: MarketState, order: Order, line: OrderLine) -> dict[str, Any]:
    cfg = market.config
    fee, vat = accounting.commission(market, line.price)
    refunded = sum(r.amount for r in line.refunds)
    out: dict[str, Any] = {
        "order_line_id": line.line_id,
        "order_line_index": line.index,
        "order_line_state": line.state.value,
        "offer_id": line.offer_id,
        "offer_sku": line.offer_sku,
        "offer_state_code": line.offer_state_code,
        "product_sku": line.product_sku,
        "product_shop_sku": line.offer_sku,
        "product_title": line.product_title,
        "product_medias": [],
        "description": line.product_title,
        "category_code": line.category_code,
        "category_label": line.category_label,
        "quantity": line.quantity,
        "price_unit": line.price_unit,
        "origin_unit_price": line.price_unit,
        "price": line.price,
        "shipping_price": line.shipping_price,
        "total_price": money(line.price + line.shipping_price),
        "taxes": _taxes(line.price, cfg.vat_rate),
        "shipping_taxes": _taxes(line.shipping_price, cfg.vat_rate),
        "commission_fee": fee,
        "commission_vat": vat,
        "commission_rate_vat": round(cfg.commission_vat_rate * 100, 2),
        "commission_taxes": [
            {"code": "VAT", "amount": vat, "rate": round(cfg.commission_vat_rate * 100, 2)}
        ],
        "total_commission": money(fee + vat),
        "can_refund": line.state
        in (LineState.SHIPPING, LineState.SHIPPED, LineState.RECEIVED, LineState.INCIDENT_OPEN)
        and refunded < line.price,
        "order_line_additional_fields": [],
        "created_date": iso(line.created),
        "last_updated_date": iso(line.last_updated),
        "refunds": [
            {
                "id": r.id,
                "order_refund_id": r.order_refund_id,
                "amount": r.amount,
                "shipping_amount": r.shipping_amount,
                "quantity": r.quantity,
                "reason_code": r.reason_code,
                "refund_state": r.state.value,
                "state": r.state.value,
                "commission_amount": r.commission_amount,
                "commission_tax_amount": r.commission_tax_amount,
                "commission_taxes": [{"code": "VAT", "amount": r.commission_tax_amount}],
                "commission_total_amount": money(r.commission_amount + r.commission_tax_amount),
                "created_date": iso(r.created),
                **({"transaction_date": iso(r.transaction_date)} if r.transaction_date else {}),
            }
            for r in line.refunds
        ],
        "cancelations": [
            {
                "id": c.id,
                "amount": c.amount,
                "shipping_amount": c.shipping_amount,
                "quantity": c.quantity,
                "reason_code": c.reason_code,
                "commission_amount": c.commission_amount,
                "commission_taxes": [{"code": "VAT", "amount": c.commission_tax_amount}],
                "commission_total_amount": money(c.commission_amount + c.commission_tax_amount),
                "created_date": iso(c.created),
            }
            for c in line.cancelations
        ],
    }
    for name, value in (
        ("debited_date", line.debited),
        ("shipped_date", line.shipped),
        ("received_date", line.received),
    ):
        if value is not None:
            out[name] = iso(value)
    return out


def order_json(market: MarketState, order: Order) -> dict[str, Any]:
    cfg = market.config
    lines = [line_json(market, order, ln) for ln in order.lines]
    live = [
        ln for ln in order.lines if ln.state not in (LineState.REFUSED, LineState.CANCELED)
    ] or order.lines
    price = money(sum(ln.price for ln in live))
    shipping = money(sum(ln.shipping_price for ln in live))
    commission = money(sum(sum(accounting.commission(market, ln.price)) for ln in live))
    customer = dict(order.customer)
    show_addresses = cfg.addresses_before_acceptance or order.state not in (
        OrderState.STAGING,
        OrderState.WAITING_ACCEPTANCE,
    )
    billing = _address(customer.pop("billing_address"))
    shipping_address = _address(customer.pop("shipping_address"))
    # Mirakl sends null addresses before acceptance when PC01 says so; the spec's schema
    # has no null there (a known gap between the spec and the platform).
    customer["billing_address"] = billing if show_addresses else None
    customer["shipping_address"] = shipping_address if show_addresses else None
    out: dict[str, Any] = {
        "order_id": order.order_id,
        "commercial_id": order.commercial_id,
        "order_state": order.state.value,
        "created_date": iso(order.created),
        "last_updated_date": iso(order.last_updated),
        "currency_iso_code": cfg.currency_iso_code,
        "customer": customer,
        "order_lines": lines,
        "price": price,
        "shipping_price": shipping,
        "total_price": money(price + shipping),
        "total_commission": commission,
        "order_tax_mode": "TAX_INCLUDED",
        "paymentType": "",
        "payment_workflow": "PAY_ON_ACCEPTANCE",
        "can_cancel": order.state
        in (OrderState.WAITING_DEBIT, OrderState.WAITING_DEBIT_PAYMENT, OrderState.SHIPPING),
        "can_shop_ship": order.state == OrderState.SHIPPING,
        "has_incident": any(ln.state == LineState.INCIDENT_OPEN for ln in order.lines),
        "has_customer_message": False,
        "has_invoice": False,
        "fully_refunded": all(ln.state == LineState.REFUNDED for ln in live),
        "leadtime_to_ship": cfg.leadtime_to_ship,
        "shipping_type_code": cfg.shipping_type_code,
        "shipping_type_label": cfg.shipping_type_label,
        "shipping_zone_code": cfg.shipping_zone_code,
        "shipping_zone_label": cfg.shipping_zone_label,
        "shipping_deadline": iso(order.created + cfg.leadtime_to_ship * 86400),
        "fulfillment": {"center": {"code": "DEFAULT"}},
        "references": {"order_reference_for_customer": order.reference_for_customer},
        "order_additional_fields": [],
    }
    if order.reference_for_seller:
        out["references"]["order_reference_for_seller"] = order.reference_for_seller
    if order.channel_code:
        out["channel"] = {"code": order.channel_code, "label": order.channel_code}
    if order.acceptance_decision_date is not None:
        out["acceptance_decision_date"] = iso(order.acceptance_decision_date)
    if order.customer_debited_date is not None:
        out["customer_debited_date"] = iso(order.customer_debited_date)
    for name, value in (
        ("shipping_carrier_code", order.carrier_code),
        ("shipping_carrier_standard_code", order.carrier_standard_code),
        ("shipping_company", order.carrier_name),
        ("shipping_tracking", order.tracking_number),
        ("shipping_tracking_url", order.tracking_url),
    ):
        if value:
            out[name] = value
    return out


# ---- OR11 ---------------------------------------------------------------------------------


def or11(call: Call) -> Response:
    market = call.market
    orders = list(market.orders.values())
    for name in ("order_ids", "order_references_for_customer", "order_references_for_seller"):
        if len(call.q_list(name)) > 100:
            raise ApiError(400, f"Parameter {name} accepts at most 100 values")
    ids = set(call.q_list("order_ids"))
    if ids:
        orders = [o for o in orders if o.order_id in ids]
    states = set(call.q_list("order_state_codes"))
    if states:
        orders = [o for o in orders if o.state.value in states]
    refs = set(call.q_list("order_references_for_seller"))
    if refs:
        orders = [o for o in orders if o.reference_for_seller in refs]
    refs = set(call.q_list("order_references_for_customer"))
    if refs:
        orders = [o for o in orders if o.reference_for_customer in refs]
    channels = set(call.q_list("channel_codes"))
    if channels:
        orders = [o for o in orders if o.channel_code in channels]
    for name, attr, after in (
        ("start_date", "created", True),
        ("end_date", "created", False),
        ("start_update_date", "last_updated", True),
        ("end_update_date", "last_updated", False),
    ):
        value = call.q(name)
        if value:
            try:
                limit = parse_date(value)
            except ValueError:
                raise ApiError(
                    400, f"Parameter {name} is not an ISO-8601 date: {value!r}"
                ) from None
            orders = [
                o
                for o in orders
                if (getattr(o, attr) >= limit if after else getattr(o, attr) <= limit)
            ]
    debited = call.q_bool("customer_debited")
    if debited is not None:
        orders = [o for o in orders if (o.customer_debited_date is not None) == debited]
    incident = call.q_bool("has_incident")
    if incident is not None:
        orders = [
            o
            for o in orders
            if any(ln.state == LineState.INCIDENT_OPEN for ln in o.lines) == incident
        ]
    orders.sort(key=lambda o: (o.created, o.order_id), reverse=(call.q("order") == "desc"))
    page, total = offset_page(call, orders)
    return json_reply({"orders": [order_json(market, o) for o in page], "total_count": total})


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


# ---- tracking and shipping ----------------------------------------------------------------


def _tracking(call: Call, data: dict[str, Any], url_field: str) -> dict[str, str]:
    """Check a tracking block against SH21; return the stored tracking fields."""
    cfg = call.market.config
    code = data.get("carrier_code")
    name = data.get("carrier_name")
    number = data.get("tracking_number")
    out: dict[str, str] = {}
    if code:
        carrier = cfg.carrier(str(code))
        if carrier is None:
            known = ", ".join(c.code for c in cfg.carriers)
            raise ApiError(
                400,
                f"Carrier code {code!r} is not registered on {cfg.name} (SH21 lists: {known}); "
                "send carrier_name and a tracking URL for an unregistered carrier",
            )
        if carrier.tracking_url and "{trackingId}" in carrier.tracking_url and not number:
            raise ApiError(400, f"tracking_number is required for carrier {carrier.code}")
        out["carrier_code"] = carrier.code
        out["carrier_name"] = carrier.label
        if carrier.standard_code:
            out["carrier_standard_code"] = carrier.standard_code
        if carrier.tracking_url and number:
            out["tracking_url"] = carrier.tracking_url.replace("{trackingId}", str(number))
    elif name:
        if not cfg.allow_unregistered_carriers:
            raise ApiError(
                400,
                f"{cfg.name} does not allow unregistered carriers: use a carrier_code from SH21",
            )
        out["carrier_name"] = str(name)
        if data.get(url_field):
            out["tracking_url"] = str(data[url_field])
    else:
        raise ApiError(400, "Give a carrier_code (registered carrier) or a carrier_name")
    if number:
        out["tracking_number"] = str(number)
    return out


def or23(call: Call) -> Response:
    order = _order(call, call.path["order_id"])
    tracking = _tracking(call, call.json_object(), "carrier_url")
    if order.state not in (OrderState.SHIPPING, OrderState.SHIPPED, OrderState.TO_COLLECT):
        raise ApiError(400, f"Current status is {order.state.value}: tracking needs SHIPPING")
    order.carrier_code = tracking.get("carrier_code")
    order.carrier_name = tracking.get("carrier_name")
    order.carrier_standard_code = tracking.get("carrier_standard_code")
    order.tracking_number = tracking.get("tracking_number")
    order.tracking_url = tracking.get("tracking_url")
    order.last_updated = call.now
    return no_content()


def _ship_lines(call: Call, order: Order, line_ids: set[str] | None) -> None:
    now = call.now
    targets = [
        ln
        for ln in order.lines
        if ln.state == LineState.SHIPPING and (line_ids is None or ln.line_id in line_ids)
    ]
    _apply(order, now, {ln.line_id: _E.SHIPPED for ln in targets})
    for ln in targets:
        ln.shipped = now
    if order.state == OrderState.SHIPPED:
        order.shipped_at = now
        accounting.make_payable(call.market, now, order.order_id)


def or24(call: Call) -> Response:
    order = _order(call, call.path["order_id"])
    if order.state != OrderState.SHIPPING:
        raise ApiError(400, f"Current status is {order.state.value}")
    _ship_lines(call, order, None)
    return no_content()


def _shipment_json(s: Shipment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": s.id,
        "order_id": s.order_id,
        "status": s.status,
        "status_customer_debit": "DEBIT_OK",
        "created_date": iso(s.created),
        "last_updated_date": iso(s.last_updated),
        "shipment_lines": s.lines,
        "tracking": s.tracking,
    }
    if s.shipped is not None:
        out["shipped_date"] = iso(s.shipped)
    if s.invoice_reference:
        out["invoice_reference"] = s.invoice_reference
    if s.warehouse_code:
        out["shipping_from"] = {"warehouse": {"code": s.warehouse_code}}
    return out


def _require_multi_shipment(call: Call) -> None:
    if not call.market.config.multi_shipment:
        # Clients detect a disabled multi-shipment feature by this 404 (Magento connector).
        raise ApiError(404, "Multi-shipment is not enabled on this platform")


def _list_of(call: Call, name: str, maximum: int = 1000) -> list[dict[str, Any]]:
    items = call.json_object().get(name)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiError(400, f"{name} is required and must be a list of objects")
    if len(items) > maximum:
        raise ApiError(400, f"At most {maximum} {name} per call, got {len(items)}")
    return items


def st01(call: Call) -> Response:
    _require_multi_shipment(call)
    market = call.market
    success: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for item in _list_of(call, "shipments"):
        order_id = str(item.get("order_id", ""))
        try:
            order = _order(call, order_id)
            if order.state != OrderState.SHIPPING:
                raise ApiError(400, f"Current status is {order.state.value}")
            lines = item.get("shipment_lines")
            if not isinstance(lines, list) or not lines:
                raise ApiError(400, "shipment_lines is required")
            by_id = {ln.line_id: ln for ln in order.lines}
            by_sku = {ln.offer_sku: ln for ln in order.lines}
            stored: list[dict[str, Any]] = []
            shipped_ids: set[str] = set()
            for sl in lines:
                line = by_id.get(str(sl.get("order_line_id"))) or by_sku.get(
                    str(sl.get("offer_sku"))
                )
                if line is None:
                    raise ApiError(400, "shipment line matches no order line")
                qty = sl.get("quantity")
                if not isinstance(qty, int) or not 1 <= qty <= line.quantity:
                    raise ApiError(400, f"quantity for {line.line_id} must be 1..{line.quantity}")
                entry = {
                    "order_line_id": line.line_id,
                    "offer_sku": line.offer_sku,
                    "quantity": qty,
                }
                if sl.get("package_reference"):
                    entry["package_reference"] = str(sl["package_reference"])
                stored.append(entry)
                shipped_ids.add(line.line_id)
            tracking = (
                _tracking(call, item["tracking"], "tracking_url") if item.get("tracking") else {}
            )
        except ApiError as exc:
            errors.append({"order_id": order_id, "message": exc.message})
            continue
        shipment = Shipment(
            id=market.uuid(),
            order_id=order.order_id,
            lines=stored,
            tracking=tracking,
            status="SHIPPING",
            created=call.now,
            last_updated=call.now,
            invoice_reference=item.get("invoice_reference"),
            warehouse_code=((item.get("shipping_from") or {}).get("warehouse") or {}).get("code"),
        )
        market.shipments[shipment.id] = shipment
        if item.get("shipped"):
            shipment.status = "SHIPPED"
            shipment.shipped = call.now
            _ship_lines(call, order, shipped_ids)
        if tracking:
            _copy_tracking(order, tracking)
        order.last_updated = call.now
        success.append(_shipment_json(shipment))
    return json_reply({"shipment_success": success, "shipment_errors": errors}, status=201)


def _copy_tracking(order: Order, tracking: dict[str, str]) -> None:
    order.carrier_code = tracking.get("carrier_code")
    order.carrier_name = tracking.get("carrier_name")
    order.tracking_number = tracking.get("tracking_number")
    order.tracking_url = tracking.get("tracking_url")


def st11(call: Call) -> Response:
    _require_multi_shipment(call)

    def select(c: Call) -> list[Shipment]:
        items = sorted(c.market.shipments.values(), key=lambda s: (s.created, s.id))
        getters: dict[str, Callable[[Shipment], str]] = {
            "order_id": lambda s: s.order_id,
            "shipment_state_code": lambda s: s.status,
        }
        for name, get in getters.items():
            wanted = set(c.q_list(name))
            if wanted:
                items = [s for s in items if get(s) in wanted]
        return items

    page, tokens = seek_page(call, select)
    return json_reply({"data": [_shipment_json(s) for s in page], **tokens})


def st23(call: Call) -> Response:
    _require_multi_shipment(call)
    success: list[dict[str, str]] = []
    errors: list[dict[str, str]] = []
    for item in _list_of(call, "shipments"):
        sid = str(item.get("id", ""))
        shipment = call.market.shipments.get(sid)
        try:
            if shipment is None:
                raise ApiError(404, f"Shipment {sid} does not exist")
            tracking = _tracking(call, item.get("tracking") or {}, "tracking_url")
        except ApiError as exc:
            errors.append({"id": sid, "message": exc.message})
            continue
        shipment.tracking = tracking
        shipment.last_updated = call.now
        _copy_tracking(call.market.orders[shipment.order_id], tracking)
        success.append({"id": sid})
    return json_reply({"shipment_success": success, "shipment_errors": errors})


def st24(call: Call) -> Response:
    _require_multi_shipment(call)
    success: list[dict[str, str]] = []
    errors: list[dict[str, str]] = []
    for item in _list_of(call, "shipments"):
        sid = str(item.get("id", ""))
        shipment = call.market.shipments.get(sid)
        if shipment is None:
            errors.append({"id": sid, "message": f"Shipment {sid} does not exist"})
            continue
        if shipment.status != "SHIPPING":
            errors.append({"id": sid, "message": f"Current status is {shipment.status}"})
            continue
        shipment.status = "SHIPPED"
        shipment.shipped = shipment.last_updated = call.now
        _ship_lines(
            call,
            call.market.orders[shipment.order_id],
            {ln["order_line_id"] for ln in shipment.lines},
        )
        success.append({"id": sid})
    return json_reply({"shipment_success": success, "shipment_errors": errors})


# ---- refunds and cancelations -------------------------------------------------------------


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


# ---- history: orders that predate the seller's connector (sandbox seeds) ------------------


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
