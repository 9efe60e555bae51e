"""Tracking and shipping: OR23 (tracking), OR24 (ship) and the multi-shipment operations
ST01/ST11/ST23/ST24, with the carrier checks against SH21."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from mirakl_sync.domain.marketplace_order import LineState, OrderEvent, OrderState
from mirakl_sync.sandbox.mirakl import accounting
from mirakl_sync.sandbox.mirakl.http import ApiError, Call, json_reply, no_content, seek_page
from mirakl_sync.sandbox.mirakl.orders import _apply, _list_of, _order
from mirakl_sync.sandbox.mirakl.state import Order, Shipment, iso

_E = OrderEvent


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
