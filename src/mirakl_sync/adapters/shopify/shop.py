"""``ShopifyShop``: the shop's variants, stock and orders through ``ShopifyClient``.

Implements the ``ShopCatalogue`` and ``ShopOrders`` ports for marketplace orders.
Shop orders decrement Shopify inventory (``DECREMENT_IGNORING_POLICY``): the hub has
already decided on a fresh read and holds the units in its ledger, so Shopify must
record the sale even if a web sale raced it; items Supercycle manages are untracked in
Shopify and are not decremented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from mirakl_sync.adapters.shopify.client import ShopifyClient, search_value
from mirakl_sync.adapters.shopify.mapping import ShopOrderOptions, address_input, order_create_input
from mirakl_sync.adapters.shopify.models import InventoryLevel
from mirakl_sync.domain.orders import (
    LineBinding,
    MarketplaceOrder,
    ShopOrderRef,
    StockReading,
    TargetSystem,
)


class ShopifyShop:
    def __init__(
        self,
        client: ShopifyClient,
        *,
        options: ShopOrderOptions,
        locations: Sequence[str] = (),
    ) -> None:
        self._client = client
        self._options = options
        #: Location names counted in the pool; empty = every location.
        self._locations = set(locations)

    # -- catalogue

    async def find_variant(self, sku: str) -> LineBinding | None:
        variants = await self._client.variants_by_sku(sku)
        if not variants:
            return None
        # Shopify does not enforce unique SKUs; the first (oldest) variant wins.
        variant = variants[0]
        return LineBinding(sku, TargetSystem.SHOPIFY, sku, variant_id=variant.id)

    async def read_stock(self, sku: str, *, variant_id: str | None = None) -> StockReading | None:
        if variant_id is not None:
            # The cheap read by id, when the variant is still the one with this SKU.
            known = await self._client.variant_inventory(variant_id)
            if known is not None and known[0] == sku:
                return self._reading(known[1].levels)
        found = None
        async for variant in self._client.variant_stock(f"sku:{search_value(sku)}"):
            if variant.sku == sku:
                found = variant
                break
        if found is None:
            return None
        return self._reading(found.levels)

    def _reading(self, levels: Iterable[InventoryLevel]) -> StockReading:
        available = sum(
            level.available
            for level in levels
            if not self._locations or level.location_name in self._locations
        )
        return StockReading(max(0, available))

    # -- orders

    async def find(self, source_identifier: str) -> ShopOrderRef | None:
        order = await self._client.order_ref_by_source_identifier(source_identifier)
        if order is None:
            return None
        return ShopOrderRef(
            order.id, order.name, order.cancelled_at is not None, order.financial_status
        )

    async def create(
        self,
        order: MarketplaceOrder,
        bindings: Mapping[str, LineBinding],
        line_ids: list[str],
    ) -> ShopOrderRef:
        created = await self._client.order_create_ref(
            order_create_input(order, bindings, line_ids, self._options),
            inventory_behaviour="DECREMENT_IGNORING_POLICY",
        )
        return ShopOrderRef(created.id, created.name, False, created.financial_status)

    async def cancel(self, shop_order_id: str) -> None:
        current = await self._client.order_ref(shop_order_id)
        if current.cancelled_at is not None:
            return
        await self._client.order_cancel(
            shop_order_id,
            reason="OTHER",
            restock=True,
            staff_note="Cancelled on the marketplace",
        )

    async def mark_paid(self, shop_order_id: str) -> None:
        current = await self._client.order_ref(shop_order_id)
        if current.financial_status in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED"):
            return
        await self._client.order_mark_as_paid(shop_order_id)

    async def update_addresses(self, shop_order_id: str, order: MarketplaceOrder) -> None:
        """``orderUpdate`` with the shipping address Mirakl now gives (``OrderInput``
        has no billing address: Shopify keeps the one the order was created with)."""
        customer = order.customer
        address = address_input(customer.shipping_address) if customer else None
        if address is None:
            return
        data = await self._client.run(
            "OrderUpdate", {"input": {"id": shop_order_id, "shippingAddress": dict(address)}}
        )
        errors = (data.get("orderUpdate") or {}).get("userErrors") or []
        if errors:
            from mirakl_sync.errors import PermanentError

            raise PermanentError(
                f"orderUpdate refused the address: {errors[0].get('message')}", system="shopify"
            )


class ShopOrderFinderPerLookup:
    """``ShopifyShop.find`` with a client opened per look-up, for callers that look up
    rarely (the adoption of orders accepted before the hub)."""

    def __init__(self, open_client: Callable[[], ShopifyClient], source_name: str) -> None:
        self._open_client = open_client
        # Only ``find`` is used: the order-mapping options do not matter here.
        self._options = ShopOrderOptions(source_name=source_name, marketplace_name="")

    async def find(self, source_identifier: str) -> ShopOrderRef | None:
        async with self._open_client() as client:
            return await ShopifyShop(client, options=self._options).find(source_identifier)
