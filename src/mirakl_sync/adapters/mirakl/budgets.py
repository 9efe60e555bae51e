"""Mirakl's call budgets: the MAXIMUM of each operation's "Call Frequency" block.

``CALL_BUDGETS`` maps a Mirakl operation code (the spec's ``operationId``) to the budgets
the client reserves before calling it. Several budgets all apply (TL02: 20 per minute
AND 60 per hour). The table covers every operation of the seller spec; a unit test
parses each description of ``specs/mirakl/mmp-seller-openapi.json`` and checks this table
against it, so the table cannot drift from the spec.

How the texts are read:

- "Once per day" = 1 per 86 400 s, "Once per minute" = 1 per 60 s, "Every 5 minutes" =
  1 per 300 s, "20 times per min, 60 times per hour" = two budgets, and so on.
- Limits stated per business event or per page view ("At each new order", "On each
  shop's offers page view", "Each time a page must display a list of reasons",
  "Synchronous only ...") and operations without a Call Frequency block (PC01, V01, the
  DR* APIs...) have no numeric maximum: an empty tuple, no budget.
  NB: RE01 and PC01 therefore have no budget; callers cache them for a day anyway.
- OR11 gives two personas; we use the *Default* one. Its maximum has two parts:
  "Asynchronous: once per minute" (``OR11``: the pulls, which at the default 60 s poll
  take all of it) and "Synchronous: at each order page display" (``OR11:synchronous``,
  no numeric maximum). The hub reads given orders by id (``order_ids``) about the events
  it acts on (before an acceptance, a shipment, a refund or a cancellation, and while it
  follows a refund it sent until Mirakl says REFUNDED, every 5 minutes): the
  counterpart of a page display, so those reads take ``OR11:synchronous``. That is
  this hub's reading of the spec, which says no more; counting them against the
  once-a-minute budget (as before) made every shipment and refund wait behind, and
  delay, the pulls (issue 10's soak).
  The "External Partner" persona (connector vendors: every 15 minutes) is not modelled.
- Two maxima on one operation depending on the request are two entries: ``OF01`` (offers
  only, 1/min) plus ``OF01:with_products`` (1 per 15 min) when ``with_products`` is set;
  ``OF52``/``OF51``/``OR13`` (differential) plus ``...:full`` (full export) when no
  ``last_request_date`` is given. A full export reserves both.
- Pages: each page of a listing is one HTTP call to Mirakl and counts against the budget
  (OR11 offset pages, TL02 seek pages...), except where the spec exempts them: IV01 and
  SBC11 read "Once per day and as many times as there are ... pages returned", so only
  the first page of a listing reserves the daily slot; the following pages of the same
  walk do not (``PAGES_EXEMPT``).

Keys in the shared budget store are ``mirakl:{marketplace}:{shop_id}:{operation}`` (see
``budget_key``): budgets are per shop, which is how Mirakl states them ("for each
seller").
"""

from __future__ import annotations

from mirakl_sync.domain.call_budget import Budget

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

_NONE: tuple[Budget, ...] = ()
_DAILY = (Budget(1, DAY),)
_HOURLY = (Budget(1, HOUR),)
_PER_MINUTE = (Budget(1, MINUTE),)
_EVERY_5_MIN = (Budget(1, 5 * MINUTE),)
_EVERY_15_MIN = (Budget(1, 15 * MINUTE),)

# operationId -> budgets (all apply). Order follows the spec's paths.
CALL_BUDGETS: dict[str, tuple[Budget, ...]] = {
    # Account, reference data
    "A01": _DAILY,
    "A02": _DAILY,
    "A21": _DAILY,
    "AF01": _DAILY,
    "CH11": _DAILY,
    "CUR01": _DAILY,
    "DO01": _DAILY,
    "L01": _DAILY,
    "H11": _HOURLY,
    "PM11": _HOURLY,
    "VL11": _HOURLY,
    "PC01": _NONE,  # no Call Frequency block in the spec
    "V01": _NONE,  # no Call Frequency block in the spec
    "RO02": _NONE,
    # Document requests: no Call Frequency block
    "DR11": _NONE,
    "DR12": _NONE,
    "DR73": _NONE,
    "DR74": _NONE,
    # Accounting
    "IV01": _DAILY,  # + pages (PAGES_EXEMPT)
    "IV02": _NONE,
    "SBC11": _DAILY,  # + pages (PAGES_EXEMPT)
    "TL02": (Budget(20, MINUTE), Budget(60, HOUR)),
    "TL03": _DAILY,
    "TL04": (Budget(1, 10.0),),
    "TL05": _NONE,
    # Messages: synchronous only
    "M01": _NONE,
    "M10": _NONE,
    "M11": _NONE,
    "M12": _NONE,
    "M13": _NONE,
    "M14": _NONE,
    # Offers
    "OF01": _PER_MINUTE,
    "OF01:with_products": _EVERY_15_MIN,
    "OF02": _PER_MINUTE,
    "OF03": _PER_MINUTE,
    "OF04": _PER_MINUTE,
    "OF21": _NONE,  # "On each shop's offers page view"
    "OF22": _NONE,
    "OF24": _PER_MINUTE,
    "OF26": _NONE,
    "OF51": _PER_MINUTE,
    "OF51:full": _DAILY,
    "OF52": _PER_MINUTE,
    "OF52:full": _DAILY,
    "OF53": (Budget(1, 10.0),),
    "OF54": _NONE,
    "OF61": _DAILY,
    # Orders
    "OR04": _PER_MINUTE,
    "OR07": (Budget(60, HOUR),),
    "OR11": _PER_MINUTE,  # Default persona, asynchronous usage; every page counts
    "OR11:synchronous": _NONE,  # ... synchronous usage: "at each order page display"
    "OR12": _NONE,
    "OR13": _EVERY_5_MIN,
    "OR13:full": _DAILY,
    "OR14": (Budget(1, 2.0),),
    "OR15": _NONE,
    "OR21": _NONE,
    "OR23": _NONE,
    "OR24": _NONE,
    "OR26": _NONE,
    "OR28": _NONE,
    "OR29": _NONE,
    "OR30": _NONE,
    "OR31": (Budget(5, 1.0),),
    "OR32": _PER_MINUTE,
    "OR41": _NONE,
    "OR42": _NONE,
    "OR43": _NONE,
    "OR51": _NONE,
    "OR64": _NONE,
    "OR72": _NONE,
    "OR73": _NONE,
    "OR74": _NONE,
    "OR75": _DAILY,
    "OR76": _NONE,
    # Products
    "P11": _NONE,
    "P31": _NONE,
    "P41": _EVERY_15_MIN,
    "P42": _PER_MINUTE,
    "P44": _NONE,
    "P45": _NONE,
    "P46": _NONE,
    "P47": _NONE,
    "P51": _PER_MINUTE,
    "PL11": _EVERY_5_MIN,
    # Promotions
    "PR01": _NONE,
    "PR03": _PER_MINUTE,
    "PR04": _PER_MINUTE,
    # Prices and stock
    "PRI01": _PER_MINUTE,
    "PRI02": _PER_MINUTE,
    "PRI03": _PER_MINUTE,
    "STO01": _PER_MINUTE,
    "STO02": (Budget(1, 15.0),),
    "STO03": _PER_MINUTE,
    # Reasons
    "RE01": _NONE,  # "Each time a page must display a list of reasons"
    "RE02": _NONE,
    "RE11": _NONE,
    "RE12": _NONE,
    "RE14": _NONE,
    # Returns
    "RT01": _NONE,
    "RT04": _NONE,
    "RT11": _EVERY_5_MIN,
    "RT12": _NONE,
    "RT21": _NONE,
    "RT25": _NONE,
    "RT26": _NONE,
    "RT27": _NONE,
    "RT29": _NONE,
    # Shop documents
    "S30": _NONE,
    "S31": _NONE,
    "S32": _NONE,  # "50 business documents per call" is a size limit, not a frequency
    "S33": _NONE,
    # Shipping
    "SH11": _DAILY,
    "SH12": _DAILY,
    "SH21": _DAILY,
    "SH31": _DAILY,
    "SH42": _HOURLY,
    "SH52": _HOURLY,
    # Shipments
    "ST01": _NONE,
    "ST06": _NONE,
    "ST07": _NONE,
    "ST11": _NONE,  # "at each shipment page display"
    "ST12": _EVERY_5_MIN,
    "ST23": _NONE,
    "ST24": _NONE,
    "ST26": _NONE,
    "ST31": _NONE,
}

# Operations whose Call Frequency allows "as many times as there are pages returned":
# only the first page of a listing takes a slot.
PAGES_EXEMPT: frozenset[str] = frozenset({"IV01", "SBC11"})


def budget_key(marketplace: str, shop_id: int | None, operation: str) -> str:
    """The shared budget's key for one operation of one shop on one marketplace."""
    return f"mirakl:{marketplace}:{shop_id}:{operation}"


def budgets_for(operation: str) -> tuple[Budget, ...]:
    """The budgets of ``operation`` (empty when Mirakl states no numeric maximum)."""
    try:
        return CALL_BUDGETS[operation]
    except KeyError:
        raise KeyError(
            f"no call budget entry for Mirakl operation {operation!r}: add it to CALL_BUDGETS"
        ) from None
