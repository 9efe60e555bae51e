"""What the Shopify client returns and accepts: typed records read from GraphQL nodes, and
TypedDicts of the input objects the hub sends (field names exactly as in the 2026-10 schema).

Money is ``Decimal`` (Shopify's ``Decimal``/``Money`` scalars are strings); ids are the
global ids (``gid://shopify/Order/123``) with the numeric ``legacy_id`` beside them.

Two modules: ``records`` (what the hub reads) and ``inputs`` (what it sends); every name is
also named here.
"""

from __future__ import annotations

from mirakl_sync.adapters.shopify.models.inputs import (
    AddressInput,
    CustomAttributeInput,
    CustomerInput,
    CustomerUpsertInput,
    FulfillmentLineInput,
    InventoryBehaviour,
    LineItemInput,
    MoneyBagInput,
    MoneyInput,
    OrderCreateInput,
    RefundLineItemInput,
    RefundTransactionInput,
    RestockType,
    ShippingLineInput,
    TaxLineInput,
)
from mirakl_sync.adapters.shopify.models.records import (
    CHANGED_ORDER_LIST_FIRST,
    ChangedOrder,
    Fulfillment,
    FulfillmentLine,
    FulfillmentOrder,
    FulfillmentOrderLine,
    InventoryItem,
    InventoryLevel,
    Location,
    Order,
    OrderLine,
    OrderRef,
    Refund,
    RefundLine,
    ShopInfo,
    TrackingInfo,
    Variant,
    WebhookSubscription,
    gid,
    legacy_id,
)

__all__ = [
    "CHANGED_ORDER_LIST_FIRST",
    "AddressInput",
    "ChangedOrder",
    "CustomAttributeInput",
    "CustomerInput",
    "CustomerUpsertInput",
    "Fulfillment",
    "FulfillmentLine",
    "FulfillmentLineInput",
    "FulfillmentOrder",
    "FulfillmentOrderLine",
    "InventoryBehaviour",
    "InventoryItem",
    "InventoryLevel",
    "LineItemInput",
    "Location",
    "MoneyBagInput",
    "MoneyInput",
    "Order",
    "OrderCreateInput",
    "OrderLine",
    "OrderRef",
    "Refund",
    "RefundLine",
    "RefundLineItemInput",
    "RefundTransactionInput",
    "RestockType",
    "ShippingLineInput",
    "ShopInfo",
    "TaxLineInput",
    "TrackingInfo",
    "Variant",
    "WebhookSubscription",
    "gid",
    "legacy_id",
]
