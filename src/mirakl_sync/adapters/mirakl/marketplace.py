"""``MiraklMarketplace``: one marketplace's orders through ``MiraklClient``, as hub orders.

Implements the ``MarketplaceOrders`` port: OR11 listings (every page, via the client's
iterator) normalised into :class:`~mirakl_sync.domain.orders.MarketplaceOrder`, and OR21.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.adapters.mirakl.models import Address, Order, Tax
from mirakl_sync.domain.orders import (
    OPEN_STATES,
    MarketplaceOrder,
    OrderAddress,
    OrderCustomer,
    OrderLine,
    OrderTaxLine,
)

_ZERO = Decimal("0")


class MiraklMarketplace:
    def __init__(self, client: MiraklClient, marketplace: str) -> None:
        self._client = client
        self._marketplace = marketplace

    async def updated_since(self, since: datetime | None) -> AsyncIterator[MarketplaceOrder]:
        # Sorted by creation, oldest first: an order created while we page is appended at
        # the end of the listing, never slipped in before our offset.
        async for order in self._client.list_orders(
            start_update_date=since, sort="dateCreated", order="asc"
        ):
            yield order_from_mirakl(self._marketplace, order)

    async def open_orders(self) -> AsyncIterator[MarketplaceOrder]:
        async for order in self._client.list_orders(
            order_state_codes=list(OPEN_STATES), sort="dateCreated", order="asc"
        ):
            yield order_from_mirakl(self._marketplace, order)

    async def get(self, order_id: str) -> MarketplaceOrder | None:
        # Read as the hub decides this order: OR11's synchronous usage (budgets.py).
        async for order in self._client.list_orders(order_ids=[order_id], synchronous=True):
            if order.order_id == order_id:
                return order_from_mirakl(self._marketplace, order)
        return None

    async def decide(self, order_id: str, decisions: Mapping[str, bool]) -> None:
        await self._client.accept_order(order_id, decisions)


def _taxes(taxes: list[Tax]) -> tuple[OrderTaxLine, ...]:
    return tuple(OrderTaxLine(t.code, t.amount, t.rate) for t in taxes)


def _address(address: Address | None) -> OrderAddress | None:
    if address is None:
        return None
    return OrderAddress(
        firstname=address.firstname,
        lastname=address.lastname,
        company=address.company,
        street_1=address.street_1,
        street_2=address.street_2,
        zip_code=address.zip_code,
        city=address.city,
        state=address.state,
        country_iso_code=address.country_iso_code,
        phone=address.phone,
    )


def order_from_mirakl(marketplace: str, order: Order) -> MarketplaceOrder:
    """Normalise an OR11 order; dates Mirakl always sends are required here too."""
    now = datetime.now(UTC)
    customer = order.customer
    return MarketplaceOrder(
        marketplace=marketplace,
        order_id=order.order_id,
        state=order.order_state,
        created_at=order.created_date or now,
        last_updated_at=order.last_updated_date or order.created_date or now,
        currency=order.currency_iso_code or "",
        total_price=order.total_price or _ZERO,
        shipping_price=order.shipping_price or _ZERO,
        tax_mode=order.order_tax_mode or "TAX_INCLUDED",
        shipping_type_code=order.shipping_type_code,
        shipping_type_label=order.shipping_type_label,
        has_incident=bool(order.has_incident),
        reference_for_customer=order.references.order_reference_for_customer
        if order.references
        else None,
        customer=None
        if customer is None
        else OrderCustomer(
            customer_id=customer.customer_id,
            firstname=customer.firstname,
            lastname=customer.lastname,
            billing_address=_address(customer.billing_address),
            shipping_address=_address(customer.shipping_address),
        ),
        raw=order.model_dump(mode="json", exclude_none=True),
        lines=tuple(
            OrderLine(
                line_id=line.order_line_id,
                offer_sku=line.offer_sku,
                quantity=line.quantity,
                state=line.order_line_state,
                title=line.product_title or line.offer_sku,
                unit_price=line.price_unit or _ZERO,
                price=line.price if line.price is not None else _ZERO,
                shipping_price=line.shipping_price or _ZERO,
                taxes=_taxes(line.taxes),
                shipping_taxes=_taxes(line.shipping_taxes),
            )
            for line in order.order_lines
        ),
    )
