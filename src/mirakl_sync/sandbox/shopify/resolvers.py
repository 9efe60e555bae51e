"""Read-side resolvers: views over ``ShopData`` whose attributes are the schema's field names.

graphql-core's default resolver reads an attribute named like the field and, if it is a
method, calls it with ``(info, **arguments)``; so each view is a small class with
properties for plain fields and methods for fields that take arguments. A field the
emulator does not implement resolves to ``None`` (an error for non-null fields): honest
rather than invented.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from graphql import GraphQLError, GraphQLResolveInfo

from mirakl_sync.sandbox.shopify.search import (
    SearchTerm,
    parse_search,
    parse_search_terms,
)
from mirakl_sync.sandbox.shopify.state import (
    FulfillmentOrderRec,
    FulfillmentRec,
    LineItemRec,
    LocationRec,
    OrderRec,
    RefundRec,
    ShopData,
    VariantRec,
    WebhookSubscriptionRec,
)

MAX_PAGE = 250
T = TypeVar("T")


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: str, kind: str) -> int | None:
    prefix = f"gid://shopify/{kind}/"
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    tail = value[len(prefix) :].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    value = {"amount": str(amount.quantize(Decimal("0.01"))), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": dict(value)}


def _cursor(key: int) -> str:
    return base64.b64encode(f"cursor:{key}".encode()).decode()


def _cursor_key(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode()).decode()
        return int(text.removeprefix("cursor:"))
    except (ValueError, UnicodeDecodeError):
        raise GraphQLError(f"Invalid cursor: {cursor!r}") from None


def connection(
    items: Sequence[tuple[int, Any]],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
    **_: Any,
) -> dict[str, Any]:
    """A Relay connection over ``(key, node)`` pairs sorted by key."""
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for size in (first, last):
        if size is not None and not 0 <= size <= MAX_PAGE:
            raise GraphQLError(f"The first and last arguments must be between 0 and {MAX_PAGE}")
    ordered = sorted(items, key=lambda pair: pair[0], reverse=reverse)
    if after is not None:
        key = _cursor_key(after)
        ordered = [p for p in ordered if (p[0] < key if reverse else p[0] > key)]
    if before is not None:
        key = _cursor_key(before)
        ordered = [p for p in ordered if (p[0] > key if reverse else p[0] < key)]
    has_next = has_previous = False
    if first is not None and len(ordered) > first:
        ordered, has_next = ordered[:first], True
    if last is not None and len(ordered) > last:
        ordered, has_previous = ordered[-last:], True
    edges = [{"cursor": _cursor(k), "node": node} for k, node in ordered]
    return {
        "edges": edges,
        "nodes": [node for _, node in ordered],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous or after is not None,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _limit(items: list[T], first: int | None) -> list[T]:
    return items[:first] if first is not None else items


class View:
    typename = ""

    def __init__(self, data: ShopData) -> None:
        self.data = data


# -- catalogue and inventory ---------------------------------------------------------------


class LocationView(View):
    typename = "Location"

    def __init__(self, data: ShopData, rec: LocationRec) -> None:
        super().__init__(data)
        self.rec = rec
        self.id = gid("Location", rec.id)
        self.legacyResourceId = str(rec.id)
        self.name = rec.name
        self.isActive = rec.active
        self.fulfillsOnlineOrders = True
        self.isFulfillmentService = False
        self.shipsInventory = True

    def inventoryLevels(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        levels = [
            (item_id, InventoryLevelView(self.data, item_id, self.rec.id))
            for (item_id, location_id) in self.data.levels
            if location_id == self.rec.id
        ]
        return connection(levels, **_paging(args))


class InventoryLevelView(View):
    typename = "InventoryLevel"

    def __init__(self, data: ShopData, item_id: int, location_id: int) -> None:
        super().__init__(data)
        self.item_id = item_id
        self.location_id = location_id
        self.id = f"gid://shopify/InventoryLevel/{item_id}?inventory_item_id={item_id}"
        self.isActive = True

    @property
    def item(self) -> InventoryItemView:
        return InventoryItemView(self.data, self.item_id)

    @property
    def location(self) -> LocationView:
        return LocationView(self.data, self.data.locations[self.location_id])

    def quantities(self, info: GraphQLResolveInfo, names: list[str]) -> list[dict[str, Any]]:
        available = self.data.levels.get((self.item_id, self.location_id), 0)
        known = {"available": available, "on_hand": available}
        result = []
        for name in names:
            if name not in known:
                # Other named quantities (committed, reserved, ...) are not tracked here.
                raise GraphQLError(f"The Shopify emulator does not track the quantity {name!r}")
            result.append(
                {
                    "id": f"gid://shopify/InventoryQuantity/{self.item_id}-{self.location_id}"
                    f"?name={name}",
                    "name": name,
                    "quantity": known[name],
                    "updatedAt": None,
                }
            )
        return result


class InventoryItemView(View):
    typename = "InventoryItem"

    def __init__(self, data: ShopData, item_id: int) -> None:
        super().__init__(data)
        self.item_id = item_id
        self.variant_rec = data.variants[data.items[item_id]]
        self.id = gid("InventoryItem", item_id)
        self.legacyResourceId = str(item_id)
        self.sku = self.variant_rec.sku
        self.tracked = self.variant_rec.tracked
        self.requiresShipping = True
        self.duplicateSkuCount = (
            sum(1 for v in data.variants.values() if v.sku == self.variant_rec.sku) - 1
        )

    @property
    def variant(self) -> VariantView:
        return VariantView(self.data, self.variant_rec)

    def inventoryLevel(self, info: GraphQLResolveInfo, locationId: str, **_: Any) -> Any:
        location_id = parse_gid(locationId, "Location")
        if location_id is None or (self.item_id, location_id) not in self.data.levels:
            return None
        return InventoryLevelView(self.data, self.item_id, location_id)

    def inventoryLevels(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        levels = [
            (location_id, InventoryLevelView(self.data, item_id, location_id))
            for (item_id, location_id) in self.data.levels
            if item_id == self.item_id
        ]
        return connection(levels, **_paging(args))


class ProductView(View):
    typename = "Product"

    def __init__(self, data: ShopData, product_id: int) -> None:
        super().__init__(data)
        rec = data.products[product_id]
        self.rec = rec
        self.id = gid("Product", rec.id)
        self.legacyResourceId = str(rec.id)
        self.title = rec.title
        self.handle = rec.handle
        self.productType = rec.product_type
        self.vendor = rec.vendor
        self.tags = list(rec.tags)
        self.status = rec.status
        self.createdAt = rec.created_at
        self.updatedAt = rec.updated_at

    def variants(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        items = [
            (vid, VariantView(self.data, self.data.variants[vid])) for vid in self.rec.variant_ids
        ]
        return connection(items, **_paging(args))


class VariantView(View):
    typename = "ProductVariant"

    def __init__(self, data: ShopData, rec: VariantRec) -> None:
        super().__init__(data)
        self.rec = rec
        self.id = gid("ProductVariant", rec.id)
        self.legacyResourceId = str(rec.id)
        self.sku = rec.sku
        self.barcode = rec.barcode
        self.title = rec.title
        self.price = str(rec.price)
        self.position = rec.position
        self.createdAt = rec.created_at
        self.updatedAt = rec.updated_at
        self.inventoryPolicy = "DENY"
        product = data.products[rec.product_id]
        self.displayName = f"{product.title} - {rec.title}"

    # Computed only when a query asks: every variant is wrapped for each page of a search,
    # and summing every inventory level for each made a full read quadratic.
    @property
    def inventoryQuantity(self) -> int:
        item = self.rec.inventory_item_id
        return sum(qty for (level_item, _), qty in self.data.levels.items() if level_item == item)

    @property
    def availableForSale(self) -> bool:
        return self.inventoryQuantity > 0 or not self.rec.tracked

    @property
    def product(self) -> ProductView:
        return ProductView(self.data, self.rec.product_id)

    @property
    def inventoryItem(self) -> InventoryItemView:
        return InventoryItemView(self.data, self.rec.inventory_item_id)


# -- orders --------------------------------------------------------------------------------


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


class WebhookSubscriptionView(View):
    typename = "WebhookSubscription"

    def __init__(self, data: ShopData, rec: WebhookSubscriptionRec, api_version: str) -> None:
        super().__init__(data)
        self.id = gid("WebhookSubscription", rec.id)
        self.legacyResourceId = str(rec.id)
        self.topic = rec.topic
        self.uri = rec.uri
        self.callbackUrl = rec.uri
        self.format = rec.format
        self.createdAt = rec.created_at
        self.updatedAt = rec.updated_at
        self.apiVersion = {"handle": api_version, "displayName": api_version, "supported": True}
        self.includeFields: list[str] = []
        self.metafieldNamespaces: list[str] = []
        self.metafields: list[Any] = []
        self.endpoint = {"__typename": "WebhookHttpEndpoint", "callbackUrl": rec.uri}


def _paging(args: dict[str, Any]) -> dict[str, Any]:
    """Keep the paging arguments; the others (``includeInactive``, ...) do not filter here."""
    return {k: args[k] for k in ("first", "after", "last", "before", "reverse") if k in args}


# -- the query root ------------------------------------------------------------------------


class QueryRoot(View):
    def __init__(self, data: ShopData, api_version: str) -> None:
        super().__init__(data)
        self.api_version = api_version

    @property
    def shop(self) -> dict[str, Any]:
        name = self.data.shop.split(".", 1)[0].replace("-", " ").title()
        return {
            "id": gid("Shop", 1),
            "name": name,
            "myshopifyDomain": self.data.shop,
            "currencyCode": self.data.currency,
            "ianaTimezone": "Europe/London",
            "email": f"owner@{self.data.shop}",
            "contactEmail": f"owner@{self.data.shop}",
        }

    def locations(self, info: GraphQLResolveInfo, query: str | None = None, **args: Any) -> Any:
        terms = parse_search(query, frozenset({"name", "id", "active"}))
        items = [
            (loc.id, LocationView(self.data, loc))
            for loc in self.data.locations.values()
            if _matches_location(loc, terms)
        ]
        return connection(items, **_paging(args))

    def location(self, info: GraphQLResolveInfo, id: str | None = None) -> Any:
        number = parse_gid(id or "", "Location")
        loc = self.data.locations.get(number or -1)
        return LocationView(self.data, loc) if loc else None

    def productVariants(
        self, info: GraphQLResolveInfo, query: str | None = None, **args: Any
    ) -> dict[str, Any]:
        terms = parse_search(query, frozenset({"sku", "barcode", "product_id", "id"}))
        items = [
            (v.id, VariantView(self.data, v))
            for v in self.data.variants.values()
            if _matches(
                terms,
                {
                    "sku": v.sku,
                    "barcode": v.barcode or "",
                    "product_id": str(v.product_id),
                    "id": str(v.id),
                },
            )
        ]
        return connection(items, **_paging(args))

    def productVariant(self, info: GraphQLResolveInfo, id: str) -> Any:
        rec = self.data.variants.get(parse_gid(id, "ProductVariant") or -1)
        return VariantView(self.data, rec) if rec else None

    def product(self, info: GraphQLResolveInfo, id: str) -> Any:
        number = parse_gid(id, "Product")
        return ProductView(self.data, number) if number in self.data.products else None

    def inventoryItem(self, info: GraphQLResolveInfo, id: str) -> Any:
        number = parse_gid(id, "InventoryItem")
        return InventoryItemView(self.data, number) if number in self.data.items else None

    def inventoryItems(
        self, info: GraphQLResolveInfo, query: str | None = None, **args: Any
    ) -> dict[str, Any]:
        terms = parse_search(query, frozenset({"sku", "id"}))
        items = [
            (item_id, InventoryItemView(self.data, item_id))
            for item_id, variant_id in self.data.items.items()
            if _matches(terms, {"sku": self.data.variants[variant_id].sku, "id": str(item_id)})
        ]
        return connection(items, **_paging(args))

    def orders(
        self,
        info: GraphQLResolveInfo,
        query: str | None = None,
        sortKey: str = "PROCESSED_AT",
        **args: Any,
    ) -> dict[str, Any]:
        terms = parse_search_terms(
            query,
            frozenset({"source_identifier", "source_name", "name", "tag", "id", "sku"})
            | _ORDER_TIMES,
            ranged=_ORDER_TIMES,
        )
        plain = [(t.key, t.value) for t in terms if t.key not in _ORDER_TIMES]
        times = [t for t in terms if t.key in _ORDER_TIMES]
        items = [
            (_order_sort_key(o, sortKey), OrderView(self.data, o))
            for o in self.data.orders.values()
            if _matches_order(o, plain) and all(_matches_time(o, t) for t in times)
        ]
        return connection(items, **_paging(args))

    def order(self, info: GraphQLResolveInfo, id: str) -> Any:
        rec = self.data.orders.get(parse_gid(id, "Order") or -1)
        return OrderView(self.data, rec) if rec else None

    def fulfillmentOrder(self, info: GraphQLResolveInfo, id: str) -> Any:
        rec = self.data.fulfillment_orders.get(parse_gid(id, "FulfillmentOrder") or -1)
        return FulfillmentOrderView(self.data, rec) if rec else None

    def fulfillment(self, info: GraphQLResolveInfo, id: str) -> Any:
        rec = self.data.fulfillments.get(parse_gid(id, "Fulfillment") or -1)
        return FulfillmentView(self.data, rec) if rec else None

    def refund(self, info: GraphQLResolveInfo, id: str) -> Any:
        rec = self.data.refunds.get(parse_gid(id, "Refund") or -1)
        return RefundView(self.data, rec) if rec else None

    def webhookSubscriptions(
        self, info: GraphQLResolveInfo, topics: list[str] | None = None, **args: Any
    ) -> dict[str, Any]:
        items = [
            (s.id, WebhookSubscriptionView(self.data, s, self.api_version))
            for s in self.data.subscriptions.values()
            if not topics or s.topic in topics
        ]
        return connection(items, **_paging(args))

    def node(self, info: GraphQLResolveInfo, id: str) -> Any:
        return self._node(info, id)

    def nodes(self, info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
        return [self._node(info, i) for i in ids]

    def _node(self, info: GraphQLResolveInfo, id: str) -> Any:
        lookups: dict[str, Callable[[GraphQLResolveInfo, str], Any]] = {
            "Order": self.order,
            "ProductVariant": self.productVariant,
            "Product": self.product,
            "InventoryItem": self.inventoryItem,
            "FulfillmentOrder": self.fulfillmentOrder,
            "Fulfillment": self.fulfillment,
            "Refund": self.refund,
            "Location": self.location,
        }
        kind = id.removeprefix("gid://shopify/").split("/", 1)[0] if isinstance(id, str) else ""
        lookup = lookups.get(kind)
        return lookup(info, id) if lookup else None


def _matches(terms: list[tuple[str, str]], values: dict[str, str]) -> bool:
    return all(values.get(key, "") == value for key, value in terms)


def _matches_location(loc: LocationRec, terms: list[tuple[str, str]]) -> bool:
    values = {"name": loc.name, "id": str(loc.id), "active": str(loc.active).lower()}
    return _matches(terms, values)


def _matches_order(order: OrderRec, terms: list[tuple[str, str]]) -> bool:
    for key, value in terms:
        if key == "tag":
            if value not in order.tags:
                return False
        elif key == "sku":
            if all(li.sku != value for li in order.line_items):
                return False
        else:
            values = {
                "source_identifier": order.source_identifier or "",
                "source_name": order.source_name or "",
                "name": order.name,
                "id": str(order.id),
            }
            if values[key] != value and not (key == "name" and values[key] == f"#{value}"):
                return False
    return True


#: Order search keys that take a time and the comparators ``<``, ``<=``, ``>``, ``>=``.
_ORDER_TIMES = frozenset({"updated_at", "created_at"})
#: Room for an order id in a composite sort key (ids stay below 10^12 here).
_ID_SPAN = 10**12


def _instant(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise GraphQLError(
            f"The Shopify emulator reads search times as ISO 8601 ('2026-10-01T00:00:00Z'), "
            f"not {value!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _matches_time(order: OrderRec, term: SearchTerm) -> bool:
    moment = _instant(order.updated_at if term.key == "updated_at" else order.created_at)
    bound = _instant(term.value)
    return {
        "": moment == bound,
        "<": moment < bound,
        "<=": moment <= bound,
        ">": moment > bound,
        ">=": moment >= bound,
    }[term.comparator]


def _order_sort_key(order: OrderRec, sort_key: str) -> int:
    """The connection key of ``order`` under ``sortKey``: ``UPDATED_AT`` orders by the last
    change (then id), as Shopify does; the other keys keep creation order (ids grow with
    ``createdAt`` and ``processedAt`` here), which is what the emulator offered before."""
    if sort_key == "UPDATED_AT":
        return int(_instant(order.updated_at).timestamp()) * _ID_SPAN + order.id
    return order.id


def resolve_type(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str | None:
    """``__typename`` of a view (or of a dict carrying one), for interfaces and unions."""
    if isinstance(value, dict):
        return value.get("__typename")
    return getattr(value, "typename", None) or None
