"""Table: the marketplace order -> Shopify ``OrderCreateOrderInput`` mapper."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mirakl_sync.adapters.shopify.mapping import ShopOrderOptions, order_create_input
from mirakl_sync.domain.orders import (
    LineBinding,
    MarketplaceOrder,
    OrderAddress,
    OrderCustomer,
    OrderLine,
    OrderTaxLine,
    TargetSystem,
)

OPTIONS = ShopOrderOptions(
    source_name="mirakl-sync",
    marketplace_name="Debenhams",
    shipping_methods={"STD": "Royal Mail 48"},
)


def order(tax_mode: str, shipping_type: str | None, customer: OrderCustomer | None):  # type: ignore[no-untyped-def]
    return MarketplaceOrder(
        marketplace="debenhams",
        order_id="2001000001-A",
        state="WAITING_ACCEPTANCE",
        created_at=datetime(2026, 11, 27, tzinfo=UTC),
        last_updated_at=datetime(2026, 11, 27, tzinfo=UTC),
        currency="GBP",
        total_price=Decimal("124.99"),
        shipping_price=Decimal("4.99"),
        tax_mode=tax_mode,
        shipping_type_code=shipping_type,
        customer=customer,
        lines=(
            OrderLine(
                "L1", "FJ-1", 2, "WAITING_ACCEPTANCE", "Shell Jacket",
                Decimal("60"), Decimal("120"), Decimal("4.99"),
                (OrderTaxLine("VAT", Decimal("20"), Decimal("20")),),
                (OrderTaxLine("VAT", Decimal("0.83"), Decimal("20")),),
            ),
            OrderLine(
                "L2", "FJ-2", 1, "WAITING_ACCEPTANCE", "Fleece", Decimal("10"), Decimal("10")
            ),
        ),
    )  # fmt: skip


BINDINGS = {
    "L1": LineBinding("FJ-1", TargetSystem.SHOPIFY, "FJ-1", "gid://shopify/ProductVariant/1")
}
CUSTOMER = OrderCustomer(
    firstname="Ada",
    lastname="Lovelace",
    shipping_address=OrderAddress(
        firstname="Ada", lastname="Lovelace", street_1="1 Way", city="Leeds",
        zip_code="LS1", country_iso_code="GBR",
    ),
)  # fmt: skip


@pytest.mark.parametrize(
    ("tax_mode", "shipping_type", "customer", "included", "title", "address"),
    [
        ("TAX_INCLUDED", "STD", CUSTOMER, True, "Royal Mail 48", True),
        ("TAX_EXCLUDED", "STD", CUSTOMER, False, "Royal Mail 48", True),
        ("TAX_INCLUDED", "EXPRESS", None, True, "Standard", False),
        ("TAX_INCLUDED", None, OrderCustomer(firstname="Bo"), True, "Standard", False),
    ],
)
def test_order_create_input(
    tax_mode: str,
    shipping_type: str | None,
    customer: OrderCustomer | None,
    included: bool,
    title: str,
    address: bool,
) -> None:
    mapped = order_create_input(order(tax_mode, shipping_type, customer), BINDINGS, ["L1"], OPTIONS)
    assert mapped["sourceIdentifier"] == "2001000001-A"
    assert mapped["sourceName"] == "mirakl-sync"
    assert mapped["tags"] == ["mirakl", "mirakl:debenhams", "Debenhams"]
    assert mapped["taxesIncluded"] is included
    [line] = mapped["lineItems"]  # only the accepted line
    assert line["variantId"] == "gid://shopify/ProductVariant/1"
    assert line["priceSet"]["shopMoney"] == {"amount": "60", "currencyCode": "GBP"}
    assert line["taxLines"][0]["rate"] == "0.2"
    [shipping] = mapped["shippingLines"]
    assert shipping["title"] == title
    assert shipping["priceSet"]["shopMoney"]["amount"] == "4.99"
    assert ("shippingAddress" in mapped) is address
    if address:
        assert mapped["shippingAddress"]["countryCode"] == "GB"


def test_a_line_without_a_variant_becomes_a_custom_line() -> None:
    mapped = order_create_input(order("TAX_INCLUDED", None, None), {}, ["L2"], OPTIONS)
    [line] = mapped["lineItems"]
    assert "variantId" not in line and line["title"] == "Fleece" and line["sku"] == "FJ-2"
