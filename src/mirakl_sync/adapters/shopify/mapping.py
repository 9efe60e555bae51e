"""The order mapper: a marketplace order -> Shopify's ``OrderCreateOrderInput``.

Pure. Rules:

- ``sourceIdentifier`` = the Mirakl ``order_id`` (how the hub finds the order again
  before ever creating it twice), ``sourceName`` = ``[shopify] source_name``;
- tags name the marketplace (``mirakl``, ``mirakl:<code>``, its display name);
- prices are Mirakl's unit prices in the order's ``order_tax_mode``: ``TAX_INCLUDED``
  gives ``taxesIncluded: true``; tax lines carry Mirakl's amounts, and Mirakl's percent
  rates become Shopify's decimal rates (20 -> 0.2);
- one shipping line titled from ``shipping_methods[shipping_type_code]`` (else
  ``default_shipping_method``), priced at the order's shipping price;
- addresses only when Mirakl gives them (often not before acceptance); Mirakl's country
  is ISO alpha-3, Shopify wants alpha-2: a country not in :data:`ALPHA3_TO_ALPHA2` is
  left out of the address rather than guessed;
- ``financialStatus`` PENDING: the marketplace collects the money; the hub marks the
  order paid when Mirakl reports it debited (SHIPPING).

The customer's e-mail is not sent: Mirakl only gives an anonymised relay address, so no
Shopify customer record is upserted; the names travel on the addresses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from mirakl_sync.adapters.shopify.models import (
    AddressInput,
    LineItemInput,
    MoneyBagInput,
    OrderCreateInput,
    ShippingLineInput,
    TaxLineInput,
)
from mirakl_sync.domain.orders import LineBinding, MarketplaceOrder, OrderAddress, OrderTaxLine

#: ISO 3166 alpha-3 -> alpha-2 for the countries Mirakl marketplaces commonly ship to.
ALPHA3_TO_ALPHA2: dict[str, str] = {
    "AUT": "AT", "BEL": "BE", "BGR": "BG", "CAN": "CA", "CHE": "CH", "CYP": "CY",
    "CZE": "CZ", "DEU": "DE", "DNK": "DK", "ESP": "ES", "EST": "EE", "FIN": "FI",
    "FRA": "FR", "GBR": "GB", "GRC": "GR", "HRV": "HR", "HUN": "HU", "IRL": "IE",
    "ISL": "IS", "ITA": "IT", "LTU": "LT", "LUX": "LU", "LVA": "LV", "MCO": "MC",
    "MLT": "MT", "NLD": "NL", "NOR": "NO", "POL": "PL", "PRT": "PT", "ROU": "RO",
    "SVK": "SK", "SVN": "SI", "SWE": "SE", "USA": "US", "AUS": "AU", "NZL": "NZ",
    "JPN": "JP", "ARE": "AE", "SAU": "SA", "TUR": "TR", "ISR": "IL", "ZAF": "ZA",
}  # fmt: skip


@dataclass(frozen=True)
class ShopOrderOptions:
    """The shop-side settings the mapper needs (from ``[shopify]`` and the marketplace)."""

    source_name: str
    marketplace_name: str
    shipping_methods: Mapping[str, str] = field(default_factory=dict)
    default_shipping_method: str = "Standard"


def _money(amount: Decimal, currency: str) -> MoneyBagInput:
    return {"shopMoney": {"amount": str(amount), "currencyCode": currency}}


def _rate(rate: Decimal | None, amount: Decimal, base: Decimal, included: bool) -> str:
    if rate is not None:
        return str((rate / 100).normalize())
    # No rate given: derive it from the amounts (Shopify requires one).
    net = base - amount if included else base
    return "0" if net <= 0 else str((amount / net).quantize(Decimal("0.0001")))


def tax_lines(
    taxes: Sequence[OrderTaxLine], base: Decimal, currency: str, *, included: bool
) -> list[TaxLineInput]:
    return [
        {
            "title": tax.code,
            "rate": _rate(tax.rate, tax.amount, base, included),
            "priceSet": _money(tax.amount, currency),
        }
        for tax in taxes
    ]


def shipping_title(order: MarketplaceOrder, options: ShopOrderOptions) -> str:
    code = order.shipping_type_code
    if code and code in options.shipping_methods:
        return options.shipping_methods[code]
    return options.default_shipping_method


def address_input(address: OrderAddress | None) -> AddressInput | None:
    if address is None:
        return None
    out: AddressInput = {}
    for key, value in (
        ("firstName", address.firstname),
        ("lastName", address.lastname),
        ("company", address.company),
        ("address1", address.street_1),
        ("address2", address.street_2),
        ("city", address.city),
        ("zip", address.zip_code),
        ("phone", address.phone),
    ):
        if value:
            out[key] = value  # type: ignore[literal-required]
    country = ALPHA3_TO_ALPHA2.get((address.country_iso_code or "").upper())
    if country:
        out["countryCode"] = country
    return out or None


def order_tags(order: MarketplaceOrder, options: ShopOrderOptions) -> list[str]:
    tags = ["mirakl", f"mirakl:{order.marketplace}", options.marketplace_name]
    return list(dict.fromkeys(tags))


def order_create_input(
    order: MarketplaceOrder,
    bindings: Mapping[str, LineBinding],
    line_ids: Sequence[str],
    options: ShopOrderOptions,
) -> OrderCreateInput:
    """The shop order for the given (accepted) lines of ``order``."""
    included = order.tax_mode != "TAX_EXCLUDED"
    currency = order.currency
    wanted = set(line_ids)
    lines: list[LineItemInput] = []
    shipping_price = Decimal("0")
    shipping_taxes: dict[str, list[OrderTaxLine]] = defaultdict(list)
    for line in order.lines:
        if line.line_id not in wanted:
            continue
        item: LineItemInput = {
            "quantity": line.quantity,
            "title": line.title or line.offer_sku,
            "sku": line.offer_sku,
            "priceSet": _money(line.unit_price, currency),
            "requiresShipping": True,
            "taxable": bool(line.taxes),
        }
        binding = bindings.get(line.line_id)
        if binding is not None and binding.variant_id:
            item["variantId"] = binding.variant_id
        if line.taxes:
            item["taxLines"] = tax_lines(line.taxes, line.price, currency, included=included)
        lines.append(item)
        shipping_price += line.shipping_price
        for tax in line.shipping_taxes:
            shipping_taxes[tax.code].append(tax)
    if not lines:
        raise ValueError(f"order {order.order_id}: no line to put in the shop order")
    shipping: ShippingLineInput = {
        "title": shipping_title(order, options),
        "priceSet": _money(shipping_price, currency),
        "source": f"mirakl:{order.marketplace}",
    }
    if order.shipping_type_code:
        shipping["code"] = order.shipping_type_code
    merged = [
        OrderTaxLine(code, sum((t.amount for t in taxes), Decimal("0")), taxes[0].rate)
        for code, taxes in shipping_taxes.items()
    ]
    if merged:
        shipping["taxLines"] = tax_lines(merged, shipping_price, currency, included=included)
    result: OrderCreateInput = {
        "sourceIdentifier": order.order_id,
        "sourceName": options.source_name,
        "tags": order_tags(order, options),
        "currency": currency,
        "processedAt": order.created_at.isoformat(),
        "financialStatus": "PENDING",
        "taxesIncluded": included,
        "lineItems": lines,
        "shippingLines": [shipping],
        "note": f"{options.marketplace_name} order {order.order_id}",
        "customAttributes": [
            {"key": "mirakl_marketplace", "value": order.marketplace},
            {"key": "mirakl_order_id", "value": order.order_id},
        ],
    }
    customer = order.customer
    if customer is not None:
        shipping_address = address_input(customer.shipping_address)
        billing_address = address_input(customer.billing_address)
        if shipping_address:
            result["shippingAddress"] = shipping_address
        if billing_address:
            result["billingAddress"] = billing_address
    return result
