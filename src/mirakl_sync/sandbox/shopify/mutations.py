"""Write-side resolvers: the mutations the hub sends, answering payloads like Shopify's.

Each resolver checks its input, answers ``userErrors`` (never an exception) for bad data,
and delegates the state change to the ``ShopifyEmulator`` operation that the test helpers
use too, so a mutation and a helper emit the same webhooks. The user-error messages are
the emulator's own wording; the codes are the schema's enums.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from graphql import GraphQLResolveInfo

from mirakl_sync.sandbox.shopify.order_views import FulfillmentView, OrderView, RefundView
from mirakl_sync.sandbox.shopify.resolvers import WebhookSubscriptionView
from mirakl_sync.sandbox.shopify.state import (
    FulfillmentRec,
    OrderRec,
    RefundRec,
    ShopData,
    WebhookSubscriptionRec,
)
from mirakl_sync.sandbox.shopify.views import parse_gid
from mirakl_sync.sandbox.shopify.webhooks import TOPICS


class ShopOperations(Protocol):
    """The emulator's operations the mutations delegate to (``ShopifyEmulator`` is one):
    the facade builds its parts, and the parts never import it back."""

    data: ShopData
    api_version: str

    def create_order(
        self, order: dict[str, Any], lines: list[dict[str, Any]], behaviour: str
    ) -> tuple[OrderRec | None, str | None]: ...

    def touch_order(self, order: OrderRec, topic: str) -> None: ...

    def cancel_order_by_id(
        self, order_id: int, *, reason: str = "OTHER", restock: bool = True
    ) -> None: ...

    def create_fulfillment(
        self,
        requests: list[tuple[int, list[tuple[int, int]] | None]],
        tracking: list[dict[str, str | None]],
    ) -> FulfillmentRec: ...

    def create_refund(
        self,
        order_id: int,
        lines: list[tuple[int, int, str, int | None]],
        *,
        note: str | None = None,
        transactions: list[dict[str, Any]] | None = None,
        shipping: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> RefundRec: ...

    def subscribe(self, topic: str, uri: str) -> WebhookSubscriptionRec: ...


def _error(field: list[str], message: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"field": field, "message": message}
    if code is not None:
        error["code"] = code
    return error


def _amount(bag: dict[str, Any] | None) -> Decimal | None:
    if not bag:
        return None
    try:
        return Decimal(str(bag["shopMoney"]["amount"]))
    except (KeyError, InvalidOperation, TypeError):
        return None


class MutationRoot:
    def __init__(self, emulator: ShopOperations) -> None:
        self.emulator = emulator
        self.data = emulator.data

    # -- orders -------------------------------------------------------------------------

    def orderCreate(
        self,
        info: GraphQLResolveInfo,
        order: dict[str, Any],
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        errors: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        for index, line in enumerate(order.get("lineItems") or []):
            where = ["order", "lineItems", str(index)]
            variant_id = None
            if line.get("variantId") is not None:
                variant_id = parse_gid(line["variantId"], "ProductVariant")
                if variant_id not in self.data.variants:
                    errors.append(
                        _error([*where, "variantId"], "Variant does not exist", "INVALID")
                    )
                    continue
            elif not line.get("title"):
                errors.append(_error([*where, "title"], "Title can't be blank", "INVALID"))
                continue
            if int(line["quantity"]) < 1:
                errors.append(
                    _error([*where, "quantity"], "Quantity must be greater than 0", "INVALID")
                )
                continue
            lines.append({**line, "variant_id": variant_id, "price": _amount(line.get("priceSet"))})
        if not lines and not errors:
            errors.append(_error(["order", "lineItems"], "Line items can't be blank", "INVALID"))
        for index, tax in enumerate(order.get("taxLines") or []):
            if tax.get("rate") is None:
                errors.append(
                    _error(
                        ["order", "taxLines", str(index), "rate"],
                        "Rate is missing",
                        "TAX_LINE_RATE_MISSING",
                    )
                )
        if errors:
            return {"order": None, "userErrors": errors}
        behaviour = (options or {}).get("inventoryBehaviour") or "BYPASS"
        rec, claim_error = self.emulator.create_order(order, lines, behaviour)
        if claim_error:
            return {
                "order": None,
                "userErrors": [
                    _error(["order", "lineItems"], claim_error, "INVENTORY_CLAIM_FAILED")
                ],
            }
        assert rec is not None
        return {"order": OrderView(self.data, rec), "userErrors": []}

    def orderCancel(
        self, info: GraphQLResolveInfo, orderId: str, reason: str, restock: bool, **_: Any
    ) -> dict[str, Any]:
        order_id = parse_gid(orderId, "Order")
        rec = self.data.orders.get(order_id or -1)
        if rec is None:
            return {
                "job": None,
                "jobResult": None,
                "userErrors": [],
                "orderCancelUserErrors": [_error(["orderId"], "Order does not exist", "NOT_FOUND")],
            }
        if rec.cancelled_at is not None:
            return {
                "job": None,
                "jobResult": None,
                "userErrors": [],
                "orderCancelUserErrors": [
                    _error(["orderId"], "Order has already been cancelled", "INVALID")
                ],
            }
        self.emulator.cancel_order_by_id(rec.id, reason=reason, restock=restock)
        job = {"id": f"gid://shopify/Job/{uuid.uuid4()}", "done": True, "query": None}
        return {"job": job, "jobResult": None, "userErrors": [], "orderCancelUserErrors": []}

    def orderUpdate(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        rec = self.data.orders.get(parse_gid(input["id"], "Order") or -1)
        if rec is None:
            return {"order": None, "userErrors": [_error(["id"], "Order does not exist")]}
        if input.get("tags") is not None:
            rec.tags = list(input["tags"])
        for key, attr in (("note", "note"), ("email", "email"), ("phone", "phone")):
            if input.get(key) is not None:
                setattr(rec, attr, input[key])
        if input.get("customAttributes") is not None:
            rec.custom_attributes = [
                {"key": a["key"], "value": a.get("value") or ""} for a in input["customAttributes"]
            ]
        self.emulator.touch_order(rec, "ORDERS_UPDATED")
        return {"order": OrderView(self.data, rec), "userErrors": []}

    def orderMarkAsPaid(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        rec = self.data.orders.get(parse_gid(input["id"], "Order") or -1)
        if rec is None:
            return {"order": None, "userErrors": [_error(["id"], "Order does not exist")]}
        if rec.financial_status not in ("PENDING", "AUTHORIZED", "PARTIALLY_PAID"):
            return {"order": None, "userErrors": [_error(["id"], "Order cannot be marked as paid")]}
        rec.financial_status = "PAID"
        self.emulator.touch_order(rec, "ORDERS_PAID")
        return {"order": OrderView(self.data, rec), "userErrors": []}

    # -- fulfilment ---------------------------------------------------------------------

    def fulfillmentCreate(
        self, info: GraphQLResolveInfo, fulfillment: dict[str, Any], message: str | None = None
    ) -> dict[str, Any]:
        requests: list[tuple[int, list[tuple[int, int]] | None]] = []
        for index, group in enumerate(fulfillment["lineItemsByFulfillmentOrder"]):
            where = ["fulfillment", "lineItemsByFulfillmentOrder", str(index)]
            fo_id = parse_gid(group["fulfillmentOrderId"], "FulfillmentOrder")
            fo = self.data.fulfillment_orders.get(fo_id or -1)
            if fo is None:
                return _fail(
                    "fulfillment",
                    [*where, "fulfillmentOrderId"],
                    "Fulfillment order does not exist.",
                )
            if fo.status not in ("OPEN", "IN_PROGRESS"):
                return _fail(
                    "fulfillment",
                    [*where, "fulfillmentOrderId"],
                    f"Fulfillment order is {fo.status.lower()} and cannot be fulfilled.",
                )
            chosen: list[tuple[int, int]] | None = None
            if group.get("fulfillmentOrderLineItems"):
                chosen = []
                by_id = {line.id: line for line in fo.lines}
                for item in group["fulfillmentOrderLineItems"]:
                    line_id = parse_gid(item["id"], "FulfillmentOrderLineItem")
                    line = by_id.get(line_id or -1)
                    if line is None:
                        return _fail("fulfillment", where, "Fulfillment order line item not found.")
                    if not 0 < int(item["quantity"]) <= line.remaining:
                        return _fail(
                            "fulfillment",
                            where,
                            "Invalid fulfillment order line item quantity requested.",
                        )
                    chosen.append((line.id, int(item["quantity"])))
            requests.append((fo.id, chosen))
        if len({self.data.fulfillment_orders[fo].order_id for fo, _ in requests}) != 1:
            return _fail(
                "fulfillment",
                ["fulfillment"],
                "All fulfillment orders must belong to the same order.",
            )
        tracking = fulfillment.get("trackingInfo") or {}
        numbers = tracking.get("numbers") or (
            [tracking["number"]] if tracking.get("number") else []
        )
        urls = tracking.get("urls") or ([tracking["url"]] if tracking.get("url") else [])
        entries = [
            {
                "company": tracking.get("company"),
                "number": number,
                "url": urls[i] if i < len(urls) else None,
            }
            for i, number in enumerate(numbers)
        ]
        if not entries and tracking.get("company"):
            entries = [{"company": tracking["company"], "number": None, "url": None}]
        rec = self.emulator.create_fulfillment(requests, entries)
        return {"fulfillment": FulfillmentView(self.data, rec), "userErrors": []}

    # -- refunds ------------------------------------------------------------------------

    def refundCreate(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        key = _idempotency_key(info)
        if key is None:
            # The schema says: required as of 2026-04. Shopify answers this as a user error.
            return {
                "refund": None,
                "order": None,
                "userErrors": [
                    _error(["input"], "An idempotency key is required: add @idempotent(key: ...)")
                ],
            }
        if key in self.data.refund_keys:
            refund = self.data.refunds[self.data.refund_keys[key]]
            order = self.data.orders[refund.order_id]
            return {
                "refund": RefundView(self.data, refund),
                "order": OrderView(self.data, order),
                "userErrors": [],
            }
        rec = self.data.orders.get(parse_gid(input["orderId"], "Order") or -1)
        if rec is None:
            return {
                "refund": None,
                "order": None,
                "userErrors": [_error(["orderId"], "Order does not exist")],
            }
        lines: list[tuple[int, int, str, int | None]] = []
        for index, line in enumerate(input.get("refundLineItems") or []):
            where = ["refundLineItems", str(index)]
            line_item_id = parse_gid(line["lineItemId"], "LineItem")
            found = self.data.line_items.get(line_item_id or -1)
            if found is None or found[0] != rec.id:
                return {
                    "refund": None,
                    "order": None,
                    "userErrors": [_error([*where, "lineItemId"], "Line item does not exist")],
                }
            line_item = found[1]
            quantity = int(line["quantity"])
            if not 0 < quantity <= line_item.quantity - line_item.refunded:
                return {
                    "refund": None,
                    "order": None,
                    "userErrors": [
                        _error(
                            [*where, "quantity"],
                            "Quantity cannot refund more items than were purchased",
                        )
                    ],
                }
            restock = line.get("restockType") or "NO_RESTOCK"
            if restock == "LEGACY_RESTOCK":
                return {
                    "refund": None,
                    "order": None,
                    "userErrors": [
                        _error(
                            [*where, "restockType"], "Restock type LEGACY_RESTOCK is not supported"
                        )
                    ],
                }
            location = parse_gid(line["locationId"], "Location") if line.get("locationId") else None
            lines.append((line_item.id, quantity, restock, location))
        transactions = [
            {"amount": str(t["amount"]), "gateway": t.get("gateway"), "kind": t.get("kind")}
            for t in input.get("transactions") or []
        ]
        refund = self.emulator.create_refund(
            rec.id,
            lines,
            note=input.get("note"),
            transactions=transactions,
            shipping=input.get("shipping"),
            idempotency_key=key,
        )
        return {
            "refund": RefundView(self.data, refund),
            "order": OrderView(self.data, rec),
            "userErrors": [],
        }

    # -- webhooks -----------------------------------------------------------------------

    def webhookSubscriptionCreate(
        self, info: GraphQLResolveInfo, topic: str, webhookSubscription: dict[str, Any]
    ) -> dict[str, Any]:
        uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl") or ""
        if not uri.startswith(("https://", "http://")):
            return {
                "webhookSubscription": None,
                "userErrors": [
                    _error(["webhookSubscription", "callbackUrl"], "Address is invalid")
                ],
            }
        if any(s.topic == topic and s.uri == uri for s in self.data.subscriptions.values()):
            return {
                "webhookSubscription": None,
                "userErrors": [
                    _error(
                        ["webhookSubscription", "callbackUrl"],
                        "Address for this topic has already been taken",
                    )
                ],
            }
        if topic not in TOPICS:
            return {
                "webhookSubscription": None,
                "userErrors": [
                    _error(["topic"], f"The Shopify emulator does not send {topic} webhooks")
                ],
            }
        rec = self.emulator.subscribe(topic, uri)
        view = WebhookSubscriptionView(self.data, rec, self.emulator.api_version)
        return {"webhookSubscription": view, "userErrors": []}


def _fail(payload_key: str, field: list[str], message: str) -> dict[str, Any]:
    return {payload_key: None, "userErrors": [_error(field, message)]}


def _idempotency_key(info: GraphQLResolveInfo) -> str | None:
    for node in info.field_nodes:
        for directive in node.directives or ():
            if directive.name.value != "idempotent":
                continue
            for argument in directive.arguments:
                if argument.name.value != "key":
                    continue
                value: Any = argument.value
                if value.kind == "variable":
                    key = info.variable_values.get(value.name.value)
                else:
                    key = getattr(value, "value", None)
                if isinstance(key, str) and key.strip():
                    return key
    return None
