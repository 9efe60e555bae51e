"""Every GraphQL document the hub sends to Shopify, by operation name.

Documents are plain strings so they stay reviewable as GraphQL; ``all_documents()`` lets
the contract test validate each one against the vendored Admin 2026-10 schema. Each
document must cost at most 1000 points (Shopify's single-query limit) with the page
sizes the client uses: connections cost 2 + ``first`` x their node's cost.

Rules kept here on purpose:

* ``refundCreate`` carries ``@idempotent(key: $idempotencyKey)``: the 2026-10 schema says
  the key is required since 2026-04, although the directive's argument cannot say so.
* ``webhookSubscriptionCreate`` sends ``uri``: ``callbackUrl`` is deprecated in 2026-10.
"""

from __future__ import annotations

from types import MappingProxyType

# -- fragments (appended to the documents that spread them) -------------------------------

_MONEY = "fragment Money on MoneyBag { shopMoney { amount currencyCode } }"

_VARIANT = """
fragment VariantFields on ProductVariant {
  id
  legacyResourceId
  sku
  barcode
  title
  price
  product { id legacyResourceId title handle productType vendor tags }
  inventoryItem { id legacyResourceId tracked }
}
"""

_VARIANT_STOCK = """
fragment VariantStockFields on ProductVariant {
  id
  legacyResourceId
  sku
  barcode
  title
  price
  product { id legacyResourceId title handle productType vendor tags }
  inventoryItem {
    id
    legacyResourceId
    tracked
    inventoryLevels(first: $levels) {
      nodes {
        location { id legacyResourceId name }
        quantities(names: ["available"]) { name quantity }
      }
    }
  }
}
"""

_ORDER = """
fragment OrderFields on Order {
  id
  legacyResourceId
  name
  sourceIdentifier
  sourceName
  tags
  email
  createdAt
  cancelledAt
  cancelReason
  displayFinancialStatus
  displayFulfillmentStatus
  currencyCode
  totalPriceSet { ...Money }
  lineItems(first: 25) {
    nodes {
      id
      sku
      title
      quantity
      currentQuantity
      variant { id }
      originalUnitPriceSet { ...Money }
    }
  }
}
"""

_REFUND = """
fragment RefundFields on Refund {
  id
  legacyResourceId
  createdAt
  note
  totalRefundedSet { ...Money }
  refundLineItems(first: 20) {
    nodes {
      id
      quantity
      restockType
      lineItem { id sku }
      subtotalSet { ...Money }
    }
  }
}
"""

# -- queries ----------------------------------------------------------------------------

SHOP_INFO = "query ShopInfo { shop { name myshopifyDomain currencyCode } }"

LOCATIONS = """
query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after) {
    nodes { id legacyResourceId name isActive fulfillsOnlineOrders }
    pageInfo { hasNextPage endCursor }
  }
}
"""

VARIANTS_BY_QUERY = (
    """
query VariantsByQuery($query: String!, $first: Int!, $after: String) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes { ...VariantFields }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + _VARIANT
)

VARIANT_STOCK_PAGE = (
    """
query VariantStockPage($first: Int!, $after: String, $query: String, $levels: Int!) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes { ...VariantStockFields }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + _VARIANT_STOCK
)

_INVENTORY_ITEM_STOCK = """
fragment InventoryItemStock on InventoryItem {
  id
  legacyResourceId
  sku
  tracked
  inventoryLevels(first: $levels) {
    nodes {
      location { id legacyResourceId name }
      quantities(names: ["available"]) { name quantity }
    }
  }
}
"""

INVENTORY_ITEM = (
    """
query InventoryItem($id: ID!, $levels: Int!) {
  inventoryItem(id: $id) { ...InventoryItemStock }
}
"""
    + _INVENTORY_ITEM_STOCK
)

# The decision-time read of one variant the hub already knows by id: its SKU (to check
# it still is the variant asked for) and ``available`` per location, nothing else, since
# Shopify charges per object asked. About half a search by SKU's charged cost.
VARIANT_STOCK_BY_ID = (
    """
query VariantStockById($id: ID!, $levels: Int!) {
  productVariant(id: $id) {
    id
    sku
    inventoryItem { ...InventoryItemStock }
  }
}
"""
    + _INVENTORY_ITEM_STOCK
)

ORDERS_BY_QUERY = (
    """
query OrdersByQuery($query: String!, $first: Int!, $after: String) {
  orders(first: $first, after: $after, query: $query) {
    nodes { ...OrderFields }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + _ORDER
    + _MONEY
)

ORDER = (
    """
query Order($id: ID!) {
  order(id: $id) { ...OrderFields }
}
"""
    + _ORDER
    + _MONEY
)

ORDER_FULFILLMENT_ORDERS = """
query OrderFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 10) {
      nodes {
        id
        status
        assignedLocation { location { id legacyResourceId } }
        lineItems(first: 25) {
          nodes { id totalQuantity remainingQuantity lineItem { id sku } }
        }
      }
    }
  }
}
"""

ORDER_FULFILLMENTS = """
query OrderFulfillments($id: ID!) {
  order(id: $id) {
    id
    fulfillments(first: 10) {
      id
      legacyResourceId
      name
      status
      createdAt
      trackingInfo(first: 5) { company number url }
      fulfillmentLineItems(first: 25) {
        nodes { id quantity lineItem { id sku } }
      }
    }
  }
}
"""

ORDER_REFUNDS = (
    """
query OrderRefunds($id: ID!) {
  order(id: $id) {
    id
    refunds(first: 5) { ...RefundFields }
  }
}
"""
    + _REFUND
    + _MONEY
)

# The shipments/refunds safety net: shop orders changed since a cursor, oldest change
# first (``sortKey: UPDATED_AT``; ``query`` is ``updated_at:>='<time>'``), each with its
# fulfilments (tracking, lines) and refunds (lines) in the same request. The small
# ``first`` of the nested lists keeps a page of 10 orders at 822 requested points (under
# the 1000 of one query); ``dispatch_api.changed_orders`` reads an order whose lists may
# be cut (3 fulfilments or refunds, a next page of lines) again in full.
ORDERS_CHANGED_SINCE = """
query OrdersChangedSince($query: String!, $first: Int!, $after: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id
      legacyResourceId
      updatedAt
      sourceName
      sourceIdentifier
      cancelledAt
      fulfillments(first: 3) {
        id
        legacyResourceId
        name
        status
        createdAt
        trackingInfo(first: 1) { company number url }
        fulfillmentLineItems(first: 5) {
          nodes { id quantity lineItem { id sku } }
          pageInfo { hasNextPage }
        }
      }
      refunds(first: 3) {
        id
        legacyResourceId
        createdAt
        refundLineItems(first: 5) {
          nodes { id quantity restockType lineItem { id sku } }
          pageInfo { hasNextPage }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

WEBHOOK_SUBSCRIPTIONS = """
query WebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    nodes { id topic uri format }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# -- mutations --------------------------------------------------------------------------

ORDER_CREATE = (
    """
mutation OrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { ...OrderFields }
    userErrors { field message code }
  }
}
"""
    + _ORDER
    + _MONEY
)

ORDER_CANCEL = """
mutation OrderCancel(
  $orderId: ID!
  $reason: OrderCancelReason!
  $restock: Boolean!
  $refund: Boolean
  $notifyCustomer: Boolean
  $staffNote: String
) {
  orderCancel(
    orderId: $orderId
    reason: $reason
    restock: $restock
    refund: $refund
    notifyCustomer: $notifyCustomer
    staffNote: $staffNote
  ) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""

ORDER_UPDATE = """
mutation OrderUpdate($input: OrderInput!) {
  orderUpdate(input: $input) {
    order { id tags note }
    userErrors { field message }
  }
}
"""

ORDER_MARK_AS_PAID = """
mutation OrderMarkAsPaid($input: OrderMarkAsPaidInput!) {
  orderMarkAsPaid(input: $input) {
    order { id displayFinancialStatus }
    userErrors { field message }
  }
}
"""

FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment {
      id
      legacyResourceId
      name
      status
      createdAt
      trackingInfo(first: 5) { company number url }
    }
    userErrors { field message }
  }
}
"""

REFUND_CREATE = (
    """
mutation RefundCreate($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
    refund { ...RefundFields }
    order { id displayFinancialStatus }
    userErrors { field message }
  }
}
"""
    + _REFUND
    + _MONEY
)

WEBHOOK_SUBSCRIPTION_CREATE = """
mutation WebhookSubscriptionCreate(
  $topic: WebhookSubscriptionTopic!
  $webhookSubscription: WebhookSubscriptionInput!
) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri format }
    userErrors { field message }
  }
}
"""

# Lean documents for the order flow's hot path: Shopify charges a connection by its
# ``first`` and an object by each nested object, so reading whole orders (~500 points)
# to learn whether one exists would spend five seconds of a Standard shop's budget.
_ORDER_REF = """
fragment OrderRefFields on Order {
  id
  name
  sourceIdentifier
  cancelledAt
  displayFinancialStatus
}
"""

ORDER_REFS_BY_QUERY = (
    """
query OrderRefsByQuery($query: String!, $first: Int!, $after: String) {
  orders(first: $first, after: $after, query: $query) {
    nodes { ...OrderRefFields }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + _ORDER_REF
)

ORDER_REF = (
    """
query OrderRef($id: ID!) {
  order(id: $id) { ...OrderRefFields }
}
"""
    + _ORDER_REF
)

ORDER_CREATE_REF = (
    """
mutation OrderCreateRef($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { ...OrderRefFields }
    userErrors { field message code }
  }
}
"""
    + _ORDER_REF
)

_DOCUMENTS: MappingProxyType[str, str] = MappingProxyType(
    {
        "ShopInfo": SHOP_INFO,
        "Locations": LOCATIONS,
        "VariantsByQuery": VARIANTS_BY_QUERY,
        "VariantStockPage": VARIANT_STOCK_PAGE,
        "InventoryItem": INVENTORY_ITEM,
        "VariantStockById": VARIANT_STOCK_BY_ID,
        "OrdersByQuery": ORDERS_BY_QUERY,
        "Order": ORDER,
        "OrderFulfillmentOrders": ORDER_FULFILLMENT_ORDERS,
        "OrderFulfillments": ORDER_FULFILLMENTS,
        "OrderRefunds": ORDER_REFUNDS,
        "OrdersChangedSince": ORDERS_CHANGED_SINCE,
        "WebhookSubscriptions": WEBHOOK_SUBSCRIPTIONS,
        "OrderCreate": ORDER_CREATE,
        "OrderCancel": ORDER_CANCEL,
        "OrderUpdate": ORDER_UPDATE,
        "OrderMarkAsPaid": ORDER_MARK_AS_PAID,
        "FulfillmentCreate": FULFILLMENT_CREATE,
        "RefundCreate": REFUND_CREATE,
        "WebhookSubscriptionCreate": WEBHOOK_SUBSCRIPTION_CREATE,
        "OrderRefsByQuery": ORDER_REFS_BY_QUERY,
        "OrderRef": ORDER_REF,
        "OrderCreateRef": ORDER_CREATE_REF,
    }
)


def all_documents() -> dict[str, str]:
    """Every document the hub sends, keyed by its operation name."""
    return dict(_DOCUMENTS)


def document(name: str) -> str:
    """The document whose operation is ``name``; ``KeyError`` lists the known names."""
    try:
        return _DOCUMENTS[name]
    except KeyError:
        known = ", ".join(sorted(_DOCUMENTS))
        raise KeyError(f"no Shopify document named {name!r} (known: {known})") from None
