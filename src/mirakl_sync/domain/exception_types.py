"""The exception-type catalogue: every kind of failure the hub records, with its owner.

Each type names the team that acts on it (``OwnerTeam``), its usual severity (a flow may
raise it, as ``order_waiting`` does near a deadline), what happened and what to do in
one line each, and the section of the runbook (``docs/operations.md``) that explains it.
An ``ExceptionReport`` takes only a type of this catalogue, with the catalogue's owner
(``domain.exceptions``): a flow cannot invent a type nobody owns. The runbook's table of
exceptions lists exactly these types (``tests/unit/test_exception_types.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mirakl_sync.domain.owners import OwnerTeam, Severity


class ExceptionType(StrEnum):
    """A kind of failure (the value is what the store and the CLI show)."""

    # Orders
    ORDER_WAITING = "order_waiting"
    UNMAPPED_SKU = "unmapped_sku"
    ORDER_UNLINKED = "order_unlinked"
    ORDER_INCIDENT = "order_incident"
    ORDER_FOLLOWUP_FAILED = "order_followup_failed"
    ORDER_PULL_STALE = "order_pull_stale"
    # Shipments
    CARRIER_UNMAPPED = "carrier_unmapped"
    CARRIER_REJECTED = "carrier_rejected"
    SHIP_REFUSED = "ship_refused"
    SHIPMENT_NOT_SENT = "shipment_not_sent"
    SHIPMENT_WAITING = "shipment_waiting"
    SHIPMENT_BLOCKED = "shipment_blocked"
    # Cancellations
    CANCEL_REFUSED = "cancel_refused"
    CANCEL_NOT_SENT = "cancel_not_sent"
    CANCEL_WAITING = "cancel_waiting"
    CANCEL_BLOCKED = "cancel_blocked"
    # Refunds
    REFUND_FAILED = "refund_failed"
    REFUND_NOT_SENT = "refund_not_sent"
    REFUND_WAITING = "refund_waiting"
    REFUND_BLOCKED = "refund_blocked"
    REFUND_NOT_NEEDED = "refund_not_needed"
    # The safety-net passes
    POLL_SOURCE_UNREADABLE = "poll_source_unreadable"
    POLL_STEP_FAILED = "poll_step_failed"
    POLL_ORDER_FAILED = "poll_order_failed"
    # Stock, prices and offers
    STOCK_LINE_REJECTED = "stock_line_rejected"
    PRICE_LINE_REJECTED = "price_line_rejected"
    OFFER_LINE_REJECTED = "offer_line_rejected"
    OFFER_NOT_LISTED = "offer_not_listed"
    OFFER_NOT_CREATABLE = "offer_not_creatable"
    OFFER_UNMATCHED = "offer_unmatched"
    OFFER_EXPORT_FAILED = "offer_export_failed"
    STOCK_TICK_DELAYED = "stock_tick_delayed"
    # Webhooks
    WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid"
    WEBHOOK_MALFORMED = "webhook_malformed"
    WEBHOOK_BODY_TOO_LARGE = "webhook_body_too_large"
    WEBHOOK_SUBSCRIPTION_FAILED = "webhook_subscription_failed"


#: Sections of docs/operations.md (GitHub's anchors of their titles).
_TABLE = "the-exceptions-you-will-see"
_WAITING = "work-that-waits-for-the-marketplace"
_PASSES = "the-safety-net-passes"
_WEBHOOKS = "shopify-webhooks"


@dataclass(frozen=True)
class ExceptionKind:
    """What the catalogue says of one type."""

    owner: OwnerTeam
    #: The usual severity; a flow may raise or lower it (a deadline nearing, info only).
    severity: Severity
    what: str
    remedy: str
    #: The section of docs/operations.md that explains it (an anchor).
    runbook: str = _TABLE


_O, _F, _E = OwnerTeam.OPS, OwnerTeam.FINANCE, OwnerTeam.ECOMMERCE
_I, _W, _R, _C = Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.CRITICAL
_T = ExceptionType

CATALOGUE: dict[ExceptionType, ExceptionKind] = {
    _T.ORDER_WAITING: ExceptionKind(
        _O,
        _W,
        "A marketplace order cannot be decided yet (an unmapped SKU, Shopify or Supercycle "
        "unreadable); severity rises as its acceptance deadline nears.",
        "Fix the cause before the deadline; the hub retries on every pull.",
    ),
    _T.UNMAPPED_SKU: ExceptionKind(
        _E,
        _R,
        "An offer SKU matches no Shopify variant SKU and no Supercycle item serial.",
        "Correct the SKU on the marketplace, or `mirakl-sync mappings add`.",
    ),
    _T.ORDER_UNLINKED: ExceptionKind(
        _O,
        _R,
        "An order accepted before the hub has no Shopify order with its Mirakl order id as "
        "sourceIdentifier: the hub cannot ship, refund or cancel it.",
        "Handle it in the marketplace's back office.",
        "orders-from-before-the-hub",
    ),
    _T.ORDER_INCIDENT: ExceptionKind(
        _O,
        _R,
        "The customer or the operator opened an incident on an order line.",
        "Handle it in the marketplace's back office.",
    ),
    _T.ORDER_FOLLOWUP_FAILED: ExceptionKind(
        _O,
        _R,
        "A shop order could not be brought in line with its marketplace order (marked paid, "
        "or cancelled) even after retrying.",
        "Nothing unless it stays open (every pull tries again); then `mirakl-sync doctor`.",
    ),
    _T.ORDER_PULL_STALE: ExceptionKind(
        _O,
        _C,
        "A marketplace's orders have not been pulled for longer than their poll period "
        "plus two minutes: new orders wait unaccepted.",
        "Follow the runbook's 'Orders stopped arriving' at once.",
        "orders-stopped-arriving",
    ),
    _T.CARRIER_UNMAPPED: ExceptionKind(
        _O,
        _R,
        "A parcel's carrier name maps to no carrier code of the marketplace; its notice waits.",
        "Add the name to `[carriers]` or `[carrier_aliases]`.",
    ),
    _T.CARRIER_REJECTED: ExceptionKind(
        _O,
        _R,
        "The marketplace refused the carrier code or the tracking number.",
        "Check the tracking number in Shopify, or the code in `[carriers]`.",
    ),
    _T.SHIP_REFUSED: ExceptionKind(
        _O,
        _R,
        "The marketplace refused to mark the order shipped (cancelled meanwhile, say).",
        "Check the order's state on the marketplace.",
    ),
    _T.SHIPMENT_NOT_SENT: ExceptionKind(
        _O,
        _W,
        "A dispatch notice did not go through in a pass (no answer, no call slot, an "
        "unexpected refusal); later passes try again.",
        "Nothing unless it stays open; then `mirakl-sync doctor`.",
    ),
    _T.SHIPMENT_WAITING: ExceptionKind(
        _O,
        _I,
        "A dispatch notice waits for the order's acceptance and debit.",
        "Nothing: it is sent once the order allows it.",
        _WAITING,
    ),
    _T.SHIPMENT_BLOCKED: ExceptionKind(
        _O,
        _R,
        "A dispatch notice has waited 72 hours for the order's acceptance or debit.",
        "Check the order in the marketplace's back office.",
        _WAITING,
    ),
    _T.CANCEL_REFUSED: ExceptionKind(
        _O,
        _R,
        "A cancellation made in Shopify could not be passed on to the marketplace.",
        "Cancel or refund it in the marketplace's back office.",
    ),
    _T.CANCEL_NOT_SENT: ExceptionKind(
        _O,
        _W,
        "A cancellation did not go through in a pass; later passes try again.",
        "Nothing unless it stays open; then cancel it in the back office.",
    ),
    _T.CANCEL_WAITING: ExceptionKind(
        _O,
        _I,
        "A cancellation waits: the marketplace order is not accepted yet.",
        "Nothing: it is sent once the order is accepted.",
        _WAITING,
    ),
    _T.CANCEL_BLOCKED: ExceptionKind(
        _O,
        _R,
        "A cancellation has waited 72 hours for the order's acceptance.",
        "Check the order in the marketplace's back office.",
        _WAITING,
    ),
    _T.REFUND_FAILED: ExceptionKind(
        _F,
        _R,
        "The marketplace refused a refund (an insufficient payable balance, say).",
        "Resolve what its message names; the refund is never sent twice.",
    ),
    _T.REFUND_NOT_SENT: ExceptionKind(
        _F,
        _W,
        "A refund did not go through in a pass; later passes try again.",
        "Nothing unless it stays open; then `mirakl-sync doctor`.",
    ),
    _T.REFUND_WAITING: ExceptionKind(
        _F,
        _I,
        "A refund waits for the order's acceptance and debit.",
        "Nothing: it is sent once the order allows it.",
        _WAITING,
    ),
    _T.REFUND_BLOCKED: ExceptionKind(
        _F,
        _R,
        "A refund has waited 72 hours for the order's acceptance or debit.",
        "Check the order in the marketplace's back office.",
        _WAITING,
    ),
    _T.REFUND_NOT_NEEDED: ExceptionKind(
        _F,
        _I,
        "A Shopify refund was not sent: the marketplace order is refused or cancelled.",
        "Nothing; resolve it once noted for the reconciliation.",
    ),
    _T.POLL_SOURCE_UNREADABLE: ExceptionKind(
        _O,
        _W,
        "A safety-net pass could not read one of its sources; its cursor stayed.",
        "Nothing unless it stays open; then `mirakl-sync doctor`.",
        _PASSES,
    ),
    _T.POLL_STEP_FAILED: ExceptionKind(
        _O,
        _R,
        "One unit of a safety-net pass failed with an unexpected error.",
        "Nothing at first; if it stays open, report the traceback in the log.",
        _PASSES,
    ),
    _T.POLL_ORDER_FAILED: ExceptionKind(
        _O,
        _R,
        "One shop order could not be handled in a pass (an unexpected error).",
        "Nothing at first; if it stays open, report it and act in the back office.",
        _PASSES,
    ),
    _T.STOCK_LINE_REJECTED: ExceptionKind(
        _E,
        _R,
        "A line of a stock file was refused by the marketplace.",
        "Fix the product data in Shopify; the next push sends it again.",
    ),
    _T.PRICE_LINE_REJECTED: ExceptionKind(
        _E,
        _R,
        "A line of a price file was refused by the marketplace.",
        "Fix the product data in Shopify; the next push sends it again.",
    ),
    _T.OFFER_LINE_REJECTED: ExceptionKind(
        _E,
        _R,
        "A line of an offer file was refused by the marketplace.",
        "Fix the product data in Shopify; the next push sends it again.",
    ),
    _T.OFFER_NOT_LISTED: ExceptionKind(
        _E,
        _W,
        "A Supercycle item cannot be offered: its condition has no offer state, or its "
        "variant is gone.",
        "Map the condition in `[supercycle] condition_states`, or regrade the item.",
    ),
    _T.OFFER_NOT_CREATABLE: ExceptionKind(
        _E,
        _W,
        "An offer the marketplace does not hold cannot be created: its variant has no barcode.",
        "Add a barcode in Shopify, or create the offer by hand.",
    ),
    _T.OFFER_UNMATCHED: ExceptionKind(
        _E,
        _W,
        "An offer on the marketplace has a SKU that is no variant SKU and no serial.",
        "Give the variant that SKU, or end the offer on the marketplace.",
    ),
    _T.OFFER_EXPORT_FAILED: ExceptionKind(
        _O,
        _W,
        "A marketplace's offer export (OF52) could not be read.",
        "Nothing unless it stays open; then `mirakl-sync doctor`.",
    ),
    _T.STOCK_TICK_DELAYED: ExceptionKind(
        _O,
        _W,
        "A stock push could not run (Shopify throttled, a system did not answer).",
        "Nothing unless it stays open; then `mirakl-sync doctor`.",
    ),
    _T.WEBHOOK_SIGNATURE_INVALID: ExceptionKind(
        _O,
        _W,
        "A call claiming to be a Shopify webhook failed its signature check.",
        "Check `shopify.webhook_secret`; otherwise someone else is calling the hub.",
        _WEBHOOKS,
    ),
    _T.WEBHOOK_MALFORMED: ExceptionKind(
        _O,
        _W,
        "A signed Shopify webhook could not be read; answered 400, polling catches up.",
        "Nothing unless it repeats; then report it with the excerpt.",
        _WEBHOOKS,
    ),
    _T.WEBHOOK_BODY_TOO_LARGE: ExceptionKind(
        _O,
        _W,
        "A Shopify webhook was larger than `web.webhook_max_body_bytes`; answered 413.",
        "Raise the limit if Shopify's payloads are that large.",
        _WEBHOOKS,
    ),
    _T.WEBHOOK_SUBSCRIPTION_FAILED: ExceptionKind(
        _O,
        _W,
        "The hub could not subscribe to Shopify's webhooks; it polls and tries again.",
        "Nothing unless it stays open; then check the token's scopes and `web.public_url`.",
        _WEBHOOKS,
    ),
}


def kind_of(type_: ExceptionType | str) -> ExceptionKind:
    """The catalogue's entry for ``type_``; ``ValueError`` (naming the catalogue) for a
    type it does not list."""
    try:
        return CATALOGUE[ExceptionType(type_)]
    except ValueError:
        raise ValueError(
            f"unknown exception type {type_!r}: every type is listed, with its owner, in "
            "mirakl_sync.domain.exception_types"
        ) from None
