"""One emulated marketplace: its shop, its API key and its reference lists.

Reference-list codes (carriers, reasons, offer conditions) are configured per Mirakl
instance by each operator; the defaults below are plausible UK values, not Mirakl's.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Carrier:
    """An SH21 carrier; ``tracking_url`` holds Mirakl's ``{trackingId}`` placeholder."""

    code: str
    label: str
    tracking_url: str | None = None
    standard_code: str | None = None


@dataclass(frozen=True)
class Reason:
    """An RE01 reason (refund, cancelation, incident ...)."""

    code: str
    label: str
    type: str
    is_shop_right: bool = True


@dataclass(frozen=True)
class OfferCondition:
    """An OF61 offer state (condition), e.g. ``11`` New."""

    code: str
    label: str


def default_carriers() -> tuple[Carrier, ...]:
    return (
        Carrier(
            "DHL", "DHL", "https://www.dhl.com/gb-en/home/tracking.html?tracking-id={trackingId}"
        ),
        Carrier("DPD", "DPD", "https://track.dpd.co.uk/parcels/{trackingId}"),
        Carrier("EVRI", "Evri", "https://www.evri.com/track/parcel/{trackingId}"),
        Carrier(
            "RM",
            "Royal Mail",
            "https://www.royalmail.com/track-your-item#/tracking-results/{trackingId}",
        ),
    )


def default_reasons() -> tuple[Reason, ...]:
    return (
        Reason("40", "Item not received", "INCIDENT_OPEN", is_shop_right=False),
        Reason("41", "Item damaged", "INCIDENT_OPEN", is_shop_right=False),
        Reason("50", "Problem solved with the customer", "INCIDENT_CLOSE"),
        Reason("15", "Item returned by the customer", "REFUND"),
        Reason("16", "Item damaged in transit", "REFUND"),
        Reason("17", "Goodwill gesture", "REFUND"),
        Reason("18", "Operator decision", "REFUND", is_shop_right=False),
        Reason("34", "Out of stock", "CANCELATION"),
        Reason("35", "Customer asked to cancel", "CANCELATION"),
        Reason("60", "Question about the order", "ORDER_MESSAGING"),
    )


def default_offer_conditions() -> tuple[OfferCondition, ...]:
    return (
        OfferCondition("11", "New"),
        OfferCondition("1", "Used - Like New"),
        OfferCondition("2", "Used - Very Good"),
        OfferCondition("3", "Used - Good"),
        OfferCondition("4", "Used - Acceptable"),
    )


@dataclass
class EmulatedMarketplace:
    """A Mirakl instance (operator) as one seller shop sees it.

    The flags mirror what the seller can learn from PC01 and from the API's behaviour:
    ``multi_shipment`` (ST01 answers 404 when off), ``partial_acceptance`` (OR21 mixed
    decisions), ``allow_unregistered_carriers`` (PC01 ``disable_seller_alternative_carrier``
    is its negation), ``addresses_before_acceptance`` (PC01
    ``shipping_and_billing_details_before_acceptance``), ``automatic_acceptance`` (PC01
    ``order_acceptance`` AUTOMATIC).
    """

    code: str
    name: str
    api_key: str
    shop_id: int
    multi_shipment: bool = True
    partial_acceptance: bool = True
    partial_cancelation: bool = True
    allow_unregistered_carriers: bool = True
    addresses_before_acceptance: bool = True
    automatic_acceptance: bool = False
    shop_name: str = "Fjellrev Outdoor"
    currency_iso_code: str = "GBP"
    #: Share of the line price the operator keeps, and the VAT the operator charges on it.
    commission_rate: float = 0.15
    commission_vat_rate: float = 0.20
    #: VAT included in customer prices (UK orders are TAX_INCLUDED).
    vat_rate: float = 0.20
    #: Shipping charged to the customer on the first line of each order.
    shipping_price: float = 3.95
    leadtime_to_ship: int = 2
    shipping_type_code: str = "STD"
    shipping_type_label: str = "Standard delivery"
    shipping_zone_code: str = "UK"
    shipping_zone_label: str = "United Kingdom"
    channels: tuple[str, ...] = ("UK",)
    carriers: tuple[Carrier, ...] = field(default_factory=default_carriers)
    reasons: tuple[Reason, ...] = field(default_factory=default_reasons)
    offer_conditions: tuple[OfferCondition, ...] = field(default_factory=default_offer_conditions)

    def carrier(self, code: str) -> Carrier | None:
        return next((c for c in self.carriers if c.code == code), None)

    def reason(self, code: str, reason_type: str) -> Reason | None:
        return next((r for r in self.reasons if r.code == code and r.type == reason_type), None)
