"""Shopify Admin GraphQL input objects the hub sends (a subset of the schema's, with its
names)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

# -- inputs (subset of the schema's input objects; names as in the schema) ----------------


class MoneyInput(TypedDict):
    amount: str
    currencyCode: str


class MoneyBagInput(TypedDict):
    shopMoney: MoneyInput
    presentmentMoney: NotRequired[MoneyInput]


class TaxLineInput(TypedDict):
    """``OrderCreateTaxLineInput``."""

    title: str
    rate: str
    priceSet: NotRequired[MoneyBagInput]
    channelLiable: NotRequired[bool]


class LineItemInput(TypedDict):
    """``OrderCreateLineItemInput``."""

    quantity: int
    variantId: NotRequired[str]
    sku: NotRequired[str]
    title: NotRequired[str]
    priceSet: NotRequired[MoneyBagInput]
    taxLines: NotRequired[list[TaxLineInput]]
    requiresShipping: NotRequired[bool]
    taxable: NotRequired[bool]


class ShippingLineInput(TypedDict):
    """``OrderCreateShippingLineInput``."""

    title: str
    priceSet: MoneyBagInput
    code: NotRequired[str]
    source: NotRequired[str]
    taxLines: NotRequired[list[TaxLineInput]]


class AddressInput(TypedDict, total=False):
    """``MailingAddressInput`` (``countryCode``/``provinceCode``: the non-deprecated fields)."""

    firstName: str
    lastName: str
    company: str
    address1: str
    address2: str
    city: str
    zip: str
    provinceCode: str
    countryCode: str
    phone: str


class CustomerUpsertInput(TypedDict, total=False):
    """``OrderCreateUpsertCustomerAttributesInput``."""

    email: str
    firstName: str
    lastName: str
    phone: str
    tags: list[str]


class CustomerInput(TypedDict, total=False):
    """``OrderCreateCustomerInput`` (``@oneOf``: give exactly one)."""

    toAssociate: dict[str, str]
    toUpsert: CustomerUpsertInput


class CustomAttributeInput(TypedDict):
    key: str
    value: str


class OrderCreateInput(TypedDict, total=False):
    """``OrderCreateOrderInput``: the fields the hub sets on marketplace orders."""

    sourceIdentifier: str
    sourceName: str
    sourceUrl: str
    tags: list[str]
    email: str
    phone: str
    note: str
    currency: str
    presentmentCurrency: str
    processedAt: str
    financialStatus: Literal[
        "AUTHORIZED",
        "EXPIRED",
        "PAID",
        "PARTIALLY_PAID",
        "PARTIALLY_REFUNDED",
        "PENDING",
        "REFUNDED",
        "VOIDED",
    ]
    taxesIncluded: bool
    test: bool
    customer: CustomerInput
    shippingAddress: AddressInput
    billingAddress: AddressInput
    lineItems: list[LineItemInput]
    shippingLines: list[ShippingLineInput]
    taxLines: list[TaxLineInput]
    customAttributes: list[CustomAttributeInput]


InventoryBehaviour = Literal["BYPASS", "DECREMENT_IGNORING_POLICY", "DECREMENT_OBEYING_POLICY"]
RestockType = Literal["CANCEL", "NO_RESTOCK", "RETURN"]


class RefundLineItemInput(TypedDict):
    """``RefundLineItemInput``."""

    lineItemId: str
    quantity: int
    restockType: NotRequired[RestockType]
    locationId: NotRequired[str]


class RefundTransactionInput(TypedDict):
    """``OrderTransactionInput``."""

    orderId: str
    amount: str
    gateway: str
    kind: Literal["REFUND"]
    parentId: NotRequired[str]


class FulfillmentLineInput(TypedDict):
    """``FulfillmentOrderLineItemInput``."""

    id: str
    quantity: int
