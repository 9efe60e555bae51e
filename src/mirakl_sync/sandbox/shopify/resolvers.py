"""The read-side root: ``QueryRoot`` answers the query fields (shop, locations, products
and variants, inventory items, orders, fulfilments, refunds, webhook subscriptions and
``node``/``nodes``) with their search filters over ``ShopData``; ``resolve_type`` names the
type of a view for interfaces and unions. The views themselves are in :mod:`.views`,
:mod:`.catalogue_views` and :mod:`.order_views`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from mirakl_sync.sandbox.shopify.catalogue_views import (
    InventoryItemView,
    LocationView,
    ProductView,
    VariantView,
)
from mirakl_sync.sandbox.shopify.order_views import (
    FulfillmentOrderView,
    FulfillmentView,
    OrderView,
    RefundView,
)
from mirakl_sync.sandbox.shopify.search import SearchTerm, parse_search, parse_search_terms
from mirakl_sync.sandbox.shopify.state import (
    LocationRec,
    OrderRec,
    ShopData,
    WebhookSubscriptionRec,
)
from mirakl_sync.sandbox.shopify.views import View, _paging, connection, gid, parse_gid


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
