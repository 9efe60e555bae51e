"""Shopify Admin GraphQL answers as the hub reads them: ids, and the records (shop,
locations, inventory, variants, orders, fulfilments, refunds, changed orders, webhook
subscriptions)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# -- ids --------------------------------------------------------------------------------


def gid(kind: str, number: int | str) -> str:
    """``gid("Order", 12)`` -> ``gid://shopify/Order/12``."""
    return f"gid://shopify/{kind}/{number}"


def legacy_id(global_id: str) -> int:
    """The number at the end of a Shopify global id."""
    tail = global_id.rsplit("/", 1)[-1].split("?", 1)[0]
    try:
        return int(tail)
    except ValueError:
        raise ValueError(f"not a Shopify global id: {global_id!r}") from None


def _money(bag: Any) -> Decimal:
    if not isinstance(bag, dict):
        return Decimal("0")
    shop_money = bag.get("shopMoney") or {}
    return Decimal(str(shop_money.get("amount", "0")))


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if not isinstance(connection, dict):
        return []
    return [node for node in connection.get("nodes") or [] if isinstance(node, dict)]


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


# -- records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopInfo:
    name: str
    myshopify_domain: str
    currency_code: str

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> ShopInfo:
        return cls(node["name"], node["myshopifyDomain"], node["currencyCode"])


@dataclass(frozen=True)
class Location:
    id: str
    legacy_id: int
    name: str
    is_active: bool
    fulfills_online_orders: bool

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> Location:
        return cls(
            id=node["id"],
            legacy_id=_int(node.get("legacyResourceId")),
            name=node["name"],
            is_active=bool(node.get("isActive", True)),
            fulfills_online_orders=bool(node.get("fulfillsOnlineOrders", True)),
        )


@dataclass(frozen=True)
class InventoryLevel:
    location_id: str
    location_legacy_id: int
    location_name: str
    #: The ``available`` named quantity.
    available: int

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> InventoryLevel:
        location = node["location"]
        available = next(
            (q["quantity"] for q in node.get("quantities") or [] if q.get("name") == "available"),
            0,
        )
        return cls(
            location_id=location["id"],
            location_legacy_id=_int(location.get("legacyResourceId")),
            location_name=location.get("name") or "",
            available=int(available),
        )


def _levels(item: dict[str, Any]) -> tuple[InventoryLevel, ...]:
    return tuple(InventoryLevel.from_node(n) for n in _nodes(item.get("inventoryLevels")))


@dataclass(frozen=True)
class InventoryItem:
    id: str
    legacy_id: int
    sku: str | None
    tracked: bool
    levels: tuple[InventoryLevel, ...]

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> InventoryItem:
        return cls(
            id=node["id"],
            legacy_id=_int(node.get("legacyResourceId")),
            sku=node.get("sku"),
            tracked=bool(node.get("tracked")),
            levels=_levels(node),
        )


@dataclass(frozen=True)
class Variant:
    id: str
    legacy_id: int
    sku: str | None
    barcode: str | None
    title: str
    price: Decimal
    product_id: str
    product_title: str
    product_handle: str
    product_type: str
    vendor: str
    tags: tuple[str, ...]
    inventory_item_id: str
    tracked: bool
    #: Empty unless read with the stock document (``VariantStockPage``).
    levels: tuple[InventoryLevel, ...] = ()

    @property
    def available(self) -> int:
        """``available`` summed over the levels read."""
        return sum(level.available for level in self.levels)

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> Variant:
        product = node["product"]
        item = node["inventoryItem"]
        return cls(
            id=node["id"],
            legacy_id=_int(node.get("legacyResourceId")),
            sku=node.get("sku"),
            barcode=node.get("barcode"),
            title=node.get("title") or "",
            price=Decimal(str(node.get("price", "0"))),
            product_id=product["id"],
            product_title=product.get("title") or "",
            product_handle=product.get("handle") or "",
            product_type=product.get("productType") or "",
            vendor=product.get("vendor") or "",
            tags=tuple(product.get("tags") or ()),
            inventory_item_id=item["id"],
            tracked=bool(item.get("tracked")),
            levels=_levels(item),
        )


@dataclass(frozen=True)
class OrderLine:
    id: str
    sku: str | None
    title: str
    quantity: int
    current_quantity: int
    variant_id: str | None
    unit_price: Decimal


@dataclass(frozen=True)
class OrderRef:
    """What the order flow needs to know of a shop order (the lean ``OrderRefFields``)."""

    id: str
    name: str
    source_identifier: str | None
    cancelled_at: str | None
    financial_status: str | None

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> OrderRef:
        return cls(
            node["id"],
            node["name"],
            node.get("sourceIdentifier"),
            node.get("cancelledAt"),
            node.get("displayFinancialStatus"),
        )


@dataclass(frozen=True)
class Order:
    id: str
    legacy_id: int
    name: str
    source_identifier: str | None
    source_name: str | None
    tags: tuple[str, ...]
    email: str | None
    created_at: str
    cancelled_at: str | None
    cancel_reason: str | None
    financial_status: str | None
    fulfillment_status: str
    currency_code: str
    total_price: Decimal
    lines: tuple[OrderLine, ...]

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> Order:
        lines = tuple(
            OrderLine(
                id=line["id"],
                sku=line.get("sku"),
                title=line.get("title") or "",
                quantity=int(line["quantity"]),
                current_quantity=int(line.get("currentQuantity", line["quantity"])),
                variant_id=(line.get("variant") or {}).get("id"),
                unit_price=_money(line.get("originalUnitPriceSet")),
            )
            for line in _nodes(node.get("lineItems"))
        )
        return cls(
            id=node["id"],
            legacy_id=_int(node.get("legacyResourceId")),
            name=node["name"],
            source_identifier=node.get("sourceIdentifier"),
            source_name=node.get("sourceName"),
            tags=tuple(node.get("tags") or ()),
            email=node.get("email"),
            created_at=node.get("createdAt") or "",
            cancelled_at=node.get("cancelledAt"),
            cancel_reason=node.get("cancelReason"),
            financial_status=node.get("displayFinancialStatus"),
            fulfillment_status=node.get("displayFulfillmentStatus") or "",
            currency_code=node.get("currencyCode") or "",
            total_price=_money(node.get("totalPriceSet")),
            lines=lines,
        )


@dataclass(frozen=True)
class FulfillmentOrderLine:
    id: str
    total_quantity: int
    remaining_quantity: int
    line_item_id: str
    sku: str | None


@dataclass(frozen=True)
class FulfillmentOrder:
    id: str
    status: str
    location_id: str | None
    lines: tuple[FulfillmentOrderLine, ...]

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> FulfillmentOrder:
        assigned = (node.get("assignedLocation") or {}).get("location") or {}
        return cls(
            id=node["id"],
            status=node["status"],
            location_id=assigned.get("id"),
            lines=tuple(
                FulfillmentOrderLine(
                    id=line["id"],
                    total_quantity=int(line["totalQuantity"]),
                    remaining_quantity=int(line["remainingQuantity"]),
                    line_item_id=line["lineItem"]["id"],
                    sku=line["lineItem"].get("sku"),
                )
                for line in _nodes(node.get("lineItems"))
            ),
        )


@dataclass(frozen=True)
class TrackingInfo:
    company: str | None
    number: str | None
    url: str | None


@dataclass(frozen=True)
class FulfillmentLine:
    id: str
    quantity: int
    line_item_id: str
    sku: str | None


@dataclass(frozen=True)
class Fulfillment:
    id: str
    legacy_id: int
    name: str
    status: str
    created_at: str
    tracking: tuple[TrackingInfo, ...]
    lines: tuple[FulfillmentLine, ...]

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> Fulfillment:
        return cls(
            id=node["id"],
            legacy_id=_int(node.get("legacyResourceId")),
            name=node.get("name") or "",
            status=node.get("status") or "",
            created_at=node.get("createdAt") or "",
            tracking=tuple(
                TrackingInfo(t.get("company"), t.get("number"), t.get("url"))
                for t in node.get("trackingInfo") or []
            ),
            lines=tuple(
                FulfillmentLine(
                    id=line["id"],
                    quantity=int(line["quantity"]),
                    line_item_id=line["lineItem"]["id"],
                    sku=line["lineItem"].get("sku"),
                )
                for line in _nodes(node.get("fulfillmentLineItems"))
            ),
        )


@dataclass(frozen=True)
class RefundLine:
    id: str | None
    quantity: int
    restock_type: str
    line_item_id: str
    sku: str | None
    subtotal: Decimal


@dataclass(frozen=True)
class Refund:
    id: str
    legacy_id: int
    created_at: str | None
    note: str | None
    total: Decimal
    lines: tuple[RefundLine, ...]

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> Refund:
        return cls(
            id=node["id"],
            legacy_id=_int(node.get("legacyResourceId")),
            created_at=node.get("createdAt"),
            note=node.get("note"),
            total=_money(node.get("totalRefundedSet")),
            lines=tuple(
                RefundLine(
                    id=line.get("id"),
                    quantity=int(line["quantity"]),
                    restock_type=line["restockType"],
                    line_item_id=line["lineItem"]["id"],
                    sku=line["lineItem"].get("sku"),
                    subtotal=_money(line.get("subtotalSet")),
                )
                for line in _nodes(node.get("refundLineItems"))
            ),
        )


#: ``first`` of the nested lists in ``OrdersChangedSince`` (see documents.py): a list that
#: came back this full may have been cut.
CHANGED_ORDER_LIST_FIRST = 3


def _cut(node: dict[str, Any], connection: str) -> bool:
    page = (node.get(connection) or {}).get("pageInfo") or {}
    return bool(page.get("hasNextPage"))


@dataclass(frozen=True)
class ChangedOrder:
    """A shop order as the safety-net poll reads it (``OrdersChangedSince``)."""

    id: str
    legacy_id: int
    updated_at: str
    source_name: str | None
    source_identifier: str | None
    cancelled_at: str | None
    fulfillments: tuple[Fulfillment, ...]
    refunds: tuple[Refund, ...]
    #: False when a list or a line connection may have been cut by its ``first``: read
    #: the order's fulfilments and refunds again in full.
    complete: bool

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> ChangedOrder:
        fulfillments = [f for f in node.get("fulfillments") or [] if isinstance(f, dict)]
        refunds = [r for r in node.get("refunds") or [] if isinstance(r, dict)]
        complete = (
            len(fulfillments) < CHANGED_ORDER_LIST_FIRST
            and len(refunds) < CHANGED_ORDER_LIST_FIRST
            and not any(_cut(f, "fulfillmentLineItems") for f in fulfillments)
            and not any(_cut(r, "refundLineItems") for r in refunds)
        )
        return cls(
            id=node["id"],
            legacy_id=_int(node.get("legacyResourceId")),
            updated_at=node["updatedAt"],
            source_name=node.get("sourceName"),
            source_identifier=node.get("sourceIdentifier"),
            cancelled_at=node.get("cancelledAt"),
            fulfillments=tuple(Fulfillment.from_node(f) for f in fulfillments),
            refunds=tuple(Refund.from_node(r) for r in refunds),
            complete=complete,
        )


@dataclass(frozen=True)
class WebhookSubscription:
    id: str
    topic: str
    uri: str
    format: str

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> WebhookSubscription:
        return cls(node["id"], node["topic"], node["uri"], node.get("format") or "JSON")
