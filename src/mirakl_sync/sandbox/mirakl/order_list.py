"""OR11 (list orders, with its filters and paging) and the JSON shapes of an order and its
lines that it answers."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mirakl_sync.domain.marketplace_order import LineState, OrderState
from mirakl_sync.sandbox.mirakl import accounting
from mirakl_sync.sandbox.mirakl.http import ApiError, Call, json_reply, offset_page
from mirakl_sync.sandbox.mirakl.state import MarketState, Order, OrderLine, iso, money, parse_date

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
