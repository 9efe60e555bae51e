"""Read-side views of orders and what hangs off them: line items, fulfillment orders,
fulfillments and refunds (kept together, as they refer to one another)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from mirakl_sync.sandbox.shopify.catalogue_views import LocationView, VariantView
from mirakl_sync.sandbox.shopify.state import (
    FulfillmentOrderRec,
    FulfillmentRec,
    LineItemRec,
    OrderRec,
    RefundRec,
    ShopData,
)
from mirakl_sync.sandbox.shopify.views import View, _limit, _paging, connection, gid, money


class LineItemView(View):
    typename = "LineItem"

    def __init__(self, data: ShopData, order: OrderRec, rec: LineItemRec) -> None:
        super().__init__(data)
        self.rec = rec
        self.id = gid("LineItem", rec.id)
        self.sku = rec.sku
        self.title = rec.title
        self.name = rec.title if not rec.variant_title else f"{rec.title} - {rec.variant_title}"
        self.variantTitle = rec.variant_title
        self.quantity = rec.quantity
        self.currentQuantity = rec.quantity - rec.refunded
        self.refundableQuantity = rec.quantity - rec.refunded
        self.unfulfilledQuantity = max(0, rec.quantity - rec.refunded - rec.fulfilled)
        self.requiresShipping = rec.requires_shipping
        self.taxable = rec.taxable
        self.isGiftCard = False
        self.originalUnitPriceSet = money(rec.price, order.currency)
        self.originalTotalSet = money(rec.price * rec.quantity, order.currency)
        self.discountedUnitPriceSet = money(rec.price, order.currency)

    @property
    def variant(self) -> VariantView | None:
        if self.rec.variant_id is None or self.rec.variant_id not in self.data.variants:
            return None
        return VariantView(self.data, self.data.variants[self.rec.variant_id])

    def taxLines(self, info: GraphQLResolveInfo, first: int | None = None) -> list[Any]:
        return _limit([_tax_line(t, self.originalUnitPriceSet) for t in self.rec.tax_lines], first)


def _tax_line(tax: dict[str, Any], currency_of: dict[str, Any]) -> dict[str, Any]:
    currency = currency_of["shopMoney"]["currencyCode"]
    return {
        "title": tax["title"],
        "rate": float(tax["rate"]),
        "ratePercentage": float(tax["rate"]) * 100,
        "priceSet": money(Decimal(str(tax.get("price", "0"))), currency),
        "channelLiable": tax.get("channel_liable"),
    }


class OrderView(View):
    typename = "Order"

    def __init__(self, data: ShopData, rec: OrderRec) -> None:
        super().__init__(data)
        self.rec = rec
        c = rec.currency
        self.id = gid("Order", rec.id)
        self.legacyResourceId = str(rec.id)
        self.name = rec.name
        self.sourceIdentifier = rec.source_identifier
        self.sourceName = rec.source_name
        self.tags = list(rec.tags)
        self.email = rec.email
        self.phone = rec.phone
        self.note = rec.note
        self.createdAt = rec.created_at
        self.updatedAt = rec.updated_at
        self.processedAt = rec.processed_at
        self.cancelledAt = rec.cancelled_at
        self.cancelReason = rec.cancel_reason
        self.closed = False
        self.test = rec.test
        self.currencyCode = c
        self.presentmentCurrencyCode = c
        self.taxesIncluded = rec.taxes_included
        self.displayFinancialStatus = rec.financial_status
        self.displayFulfillmentStatus = _fulfillment_status(rec)
        self.customAttributes = [dict(a) for a in rec.custom_attributes]
        self.subtotalPriceSet = money(rec.subtotal(), c)
        self.totalPriceSet = money(rec.total(), c)
        self.currentTotalPriceSet = money(rec.total(), c)
        self.totalTaxSet = money(rec.tax_total(), c)
        self.totalShippingPriceSet = money(rec.shipping_total(), c)
        refunded = sum((data.refunds[r].total for r in rec.refund_ids), Decimal("0"))
        self.totalRefundedSet = money(refunded, c)
        self.shippingAddress = _address(rec.shipping_address)
        self.billingAddress = _address(rec.billing_address)
        self.canMarkAsPaid = rec.financial_status in ("PENDING", "AUTHORIZED", "PARTIALLY_PAID")
        self.fullyPaid = rec.financial_status in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED")

    def lineItems(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        items = [(li.id, LineItemView(self.data, self.rec, li)) for li in self.rec.line_items]
        return connection(items, **_paging(args))

    def shippingLines(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        c = self.rec.currency
        items = []
        for index, line in enumerate(self.rec.shipping_lines):
            price = money(Decimal(str(line["price"])), c)
            node = {
                "id": gid("ShippingLine", self.rec.id * 100 + index),
                "title": line["title"],
                "code": line.get("code"),
                "source": line.get("source"),
                "custom": True,
                "isRemoved": False,
                "originalPriceSet": price,
                "discountedPriceSet": price,
                "currentDiscountedPriceSet": price,
                "taxLines": [_tax_line(t, price) for t in line.get("tax_lines", [])],
            }
            items.append((index, node))
        args.pop("includeRemovals", None)
        return connection(items, **_paging(args))

    def fulfillmentOrders(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        items = [
            (fo_id, FulfillmentOrderView(self.data, self.data.fulfillment_orders[fo_id]))
            for fo_id in self.rec.fulfillment_order_ids
        ]
        return connection(items, **_paging(args))

    def fulfillments(
        self, info: GraphQLResolveInfo, first: int | None = None, query: str | None = None
    ) -> list[Any]:
        views = [
            FulfillmentView(self.data, self.data.fulfillments[f]) for f in self.rec.fulfillment_ids
        ]
        return _limit(views, first)

    def refunds(self, info: GraphQLResolveInfo, first: int | None = None) -> list[Any]:
        return _limit(
            [RefundView(self.data, self.data.refunds[r]) for r in self.rec.refund_ids], first
        )


def _fulfillment_status(rec: OrderRec) -> str:
    open_lines = [li for li in rec.line_items if li.quantity - li.refunded > 0]
    if not open_lines:
        return "FULFILLED" if any(li.fulfilled for li in rec.line_items) else "UNFULFILLED"
    if all(li.fulfilled >= li.quantity - li.refunded for li in open_lines):
        return "FULFILLED"
    if any(li.fulfilled for li in rec.line_items):
        return "PARTIALLY_FULFILLED"
    return "UNFULFILLED"


def _address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    shown = dict(address)
    shown.setdefault("id", "gid://shopify/MailingAddress/1")
    shown["countryCodeV2"] = address.get("countryCode")
    shown["name"] = " ".join(p for p in (address.get("firstName"), address.get("lastName")) if p)
    shown["coordinatesValidated"] = False
    shown["formatted"] = [v for v in (address.get("address1"), address.get("city")) if v]
    return shown


class FulfillmentOrderView(View):
    typename = "FulfillmentOrder"

    def __init__(self, data: ShopData, rec: FulfillmentOrderRec) -> None:
        super().__init__(data)
        self.rec = rec
        order = data.orders[rec.order_id]
        self.id = gid("FulfillmentOrder", rec.id)
        self.status = rec.status
        self.orderId = gid("Order", rec.order_id)
        self.orderName = order.name
        self.orderProcessedAt = order.processed_at
        self.createdAt = rec.created_at
        self.updatedAt = rec.updated_at
        self.requestStatus = "UNSUBMITTED"
        self.assignedLocation = {
            "name": data.locations[rec.location_id].name,
            "location": LocationView(data, data.locations[rec.location_id]),
        }

    @property
    def order(self) -> OrderView:
        return OrderView(self.data, self.data.orders[self.rec.order_id])

    def lineItems(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        order = self.data.orders[self.rec.order_id]
        items = []
        for line in self.rec.lines:
            _, line_item = self.data.line_items[line.line_item_id]
            node = {
                "id": gid("FulfillmentOrderLineItem", line.id),
                "totalQuantity": line.total,
                "remainingQuantity": line.remaining,
                "sku": line_item.sku,
                "productTitle": line_item.title,
                "variantTitle": line_item.variant_title,
                "requiresShipping": line_item.requires_shipping,
                "lineItem": LineItemView(self.data, order, line_item),
                "inventoryItemId": (
                    gid("InventoryItem", self.data.variants[line_item.variant_id].inventory_item_id)
                    if line_item.variant_id in self.data.variants
                    else None
                ),
            }
            items.append((line.id, node))
        return connection(items, **_paging(args))


class FulfillmentView(View):
    typename = "Fulfillment"

    def __init__(self, data: ShopData, rec: FulfillmentRec) -> None:
        super().__init__(data)
        self.rec = rec
        self.id = gid("Fulfillment", rec.id)
        self.legacyResourceId = str(rec.id)
        self.name = rec.name
        self.status = rec.status
        self.createdAt = rec.created_at
        self.updatedAt = rec.updated_at
        self.requiresShipping = True
        self.totalQuantity = sum(q for _, _, q in rec.lines)
        self.location = LocationView(data, data.locations[rec.location_id])

    @property
    def order(self) -> OrderView:
        return OrderView(self.data, self.data.orders[self.rec.order_id])

    def trackingInfo(self, info: GraphQLResolveInfo, first: int | None = None) -> list[Any]:
        return _limit([dict(t) for t in self.rec.tracking], first)

    def fulfillmentLineItems(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        order = self.data.orders[self.rec.order_id]
        items = []
        for line_id, line_item_id, quantity in self.rec.lines:
            _, line_item = self.data.line_items[line_item_id]
            node = {
                "id": gid("FulfillmentLineItem", line_id),
                "quantity": quantity,
                "lineItem": LineItemView(self.data, order, line_item),
            }
            items.append((line_id, node))
        return connection(items, **_paging(args))


class RefundView(View):
    typename = "Refund"

    def __init__(self, data: ShopData, rec: RefundRec) -> None:
        super().__init__(data)
        self.rec = rec
        currency = data.orders[rec.order_id].currency
        self.currency = currency
        self.id = gid("Refund", rec.id)
        self.legacyResourceId = str(rec.id)
        self.createdAt = rec.created_at
        self.processedAt = rec.created_at
        self.updatedAt = rec.created_at
        self.note = rec.note
        self.totalRefundedSet = money(rec.total, currency)

    @property
    def order(self) -> OrderView:
        return OrderView(self.data, self.data.orders[self.rec.order_id])

    def refundLineItems(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        order = self.data.orders[self.rec.order_id]
        items = []
        for line in self.rec.lines:
            _, line_item = self.data.line_items[line.line_item_id]
            location = self.data.locations.get(line.location_id or -1)
            node = {
                "id": gid("RefundLineItem", line.id),
                "quantity": line.quantity,
                "restockType": line.restock_type,
                "restocked": line.restock_type in ("RETURN", "CANCEL"),
                "lineItem": LineItemView(self.data, order, line_item),
                "location": LocationView(self.data, location) if location else None,
                "priceSet": money(line_item.price, self.currency),
                "subtotalSet": money(line.subtotal, self.currency),
                "totalTaxSet": money(Decimal("0"), self.currency),
            }
            items.append((line.id, node))
        return connection(items, **_paging(args))
