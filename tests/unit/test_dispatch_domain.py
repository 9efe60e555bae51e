"""Carrier mapping, shipment lines, refund amounts and Supercycle triggers, as tables."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mirakl_sync.config import RefundSettings
from mirakl_sync.domain.carriers import CarrierMap, CarrierOutcome, decide, normalise
from mirakl_sync.domain.marketplace_order import not_yet, state_named_in
from mirakl_sync.domain.refunds import LineTax, RefundableLine, line_refund, resolve_reason
from mirakl_sync.domain.shipments import MarketLine, ShipmentLine, batches, lines_to_ship
from mirakl_sync.services.return_feed import triggered

SH21 = {"RM": "Royal Mail", "DPD": "DPD", "EVRI": "Evri"}
MAP = CarrierMap(
    global_map={"Royal Mail": "RM", "DPD UK": "DPD", "Parcelforce": "PF48"},
    aliases={"Royal Mail 24": "Royal Mail", "RM Tracked": "Royal Mail 24"},
    overrides={"DPD UK": "EVRI"},
)


@pytest.mark.parametrize(
    ("name", "allow", "outcome", "code"),
    [
        ("Royal Mail", False, CarrierOutcome.REGISTERED, "RM"),
        ("royal-mail 24", False, CarrierOutcome.REGISTERED, "RM"),  # alias, case, spacing
        ("RM  TRACKED", False, CarrierOutcome.REGISTERED, "RM"),  # alias of an alias
        ("dpd uk", False, CarrierOutcome.REGISTERED, "EVRI"),  # marketplace override wins
        ("Evri", False, CarrierOutcome.REGISTERED, "EVRI"),  # SH21 label itself
        ("Parcelforce", True, CarrierOutcome.UNKNOWN_CODE, "PF48"),  # not in SH21
        ("Yodel", True, CarrierOutcome.UNREGISTERED, None),
        ("Yodel", False, CarrierOutcome.UNMAPPED, None),
        ("", True, CarrierOutcome.UNMAPPED, None),
    ],
)
def test_carrier_decisions(
    name: str, allow: bool, outcome: CarrierOutcome, code: str | None
) -> None:
    decision = decide(name, MAP, SH21, allow_unregistered=allow)
    assert (decision.outcome, decision.code) == (outcome, code)


def test_without_an_sh21_list_the_mapped_code_is_trusted() -> None:
    assert decide("Parcelforce", MAP, None, allow_unregistered=False).code == "PF48"


@pytest.mark.parametrize(
    ("raw", "key"), [("Royal Mail 24", "royalmail24"), (" D.P.D-uk ", "dpduk"), ("ÉVRI", "évri")]
)
def test_normalise(raw: str, key: str) -> None:
    assert normalise(raw) == key


LINES = [
    MarketLine("L1", "SKU-A", 2, "SHIPPING"),
    MarketLine("L2", "SKU-B", 1, "SHIPPING"),
    MarketLine("L3", "SKU-A", 1, "SHIPPING"),
    MarketLine("L4", "SKU-C", 1, "CANCELED"),
]


@pytest.mark.parametrize(
    ("fulfilled", "shipped", "whole", "expected"),
    [
        ({"SKU-A": 3}, {}, False, [("L1", 2), ("L3", 1)]),
        ({"SKU-A": 1}, {"L1": 1}, False, [("L1", 1)]),
        ({"SKU-B": 5}, {}, False, [("L2", 1)]),
        ({"SKU-C": 1}, {}, False, []),  # a cancelled line never ships
        ({}, {"L1": 2}, True, [("L2", 1), ("L3", 1)]),
    ],
)
def test_lines_to_ship(
    fulfilled: dict[str, int],
    shipped: dict[str, int],
    whole: bool,
    expected: list[tuple[str, int]],
) -> None:
    got = lines_to_ship(fulfilled, LINES, shipped, whole_order=whole)
    assert got == [ShipmentLine(a, b) for a, b in expected]


@pytest.mark.parametrize(("n", "sizes"), [(0, []), (1000, [1000]), (2500, [1000, 1000, 500])])
def test_batches_of_1000(n: int, sizes: list[int]) -> None:
    assert [len(b) for b in batches(list(range(n)))] == sizes


D = Decimal
LINE = RefundableLine(
    "L1",
    quantity=3,
    price=D("60.00"),
    shipping_price=D("3.95"),
    taxes=(LineTax("VAT", D("10.00"), "FIXED"),),
    shipping_taxes=(LineTax("VAT", D("0.66"), "FIXED"),),
)


@pytest.mark.parametrize(
    ("line", "qty", "amount", "shipping", "taxes"),
    [
        (LINE, 1, D("20.00"), D("0"), (("VAT", D("3.33")),)),  # partial: no shipping
        (LINE, 3, D("60.00"), D("3.95"), (("VAT", D("10.00")),)),  # full: shipping too
        (LINE, 5, D("60.00"), D("3.95"), (("VAT", D("10.00")),)),  # capped at the line
        # Already 50 refunded: only 10 left, and the refund completes the line.
        (
            RefundableLine("L1", 3, D("60.00"), D("3.95"), refunded_amount=D("50.00")),
            1,
            D("10.00"),
            D("3.95"),
            (),
        ),
        (RefundableLine("L1", 1, D("10"), D("0"), refunded_amount=D("10")), 1, None, None, None),
    ],
)
def test_line_refund(
    line: RefundableLine,
    qty: int,
    amount: Decimal | None,
    shipping: Decimal | None,
    taxes: tuple[tuple[str, Decimal], ...] | None,
) -> None:
    refund = line_refund(line, qty)
    if amount is None:
        assert refund is None
        return
    assert refund is not None
    assert (refund.amount, refund.shipping_amount, refund.taxes) == (amount, shipping, taxes)


def test_proportional_taxes_are_left_to_mirakl() -> None:
    line = RefundableLine(
        "L", 1, D("12"), D("0"), taxes=(LineTax("VAT", D("2"), "PROPORTIONAL_TO_AMOUNT"),)
    )
    refund = line_refund(line, 1)
    assert refund is not None and refund.taxes == ()


@pytest.mark.parametrize(
    ("reason", "mapping", "default", "allowed", "expected"),
    [
        ("return", {"return": "15"}, "17", ["15", "16", "17"], "15"),
        ("goodwill", {"return": "15"}, "17", ["15", "16", "17"], "17"),
        ("return", {"return": "18"}, None, ["15", "16"], None),  # not the shop's right
        ("return", {}, None, ["16", "15"], "16"),  # nothing configured: first allowed
        ("return", {"return": "99"}, None, None, "99"),  # RE01 unreadable: trust config
    ],
)
def test_reason_resolution(
    reason: str,
    mapping: dict[str, str],
    default: str | None,
    allowed: list[str] | None,
    expected: str | None,
) -> None:
    assert resolve_reason(reason, mapping, default, allowed) == expected


@pytest.mark.parametrize(
    ("trigger", "line", "expected"),
    [
        ("received", {"status": "awaiting"}, False),
        ("received", {"status": "received", "condition": "Damaged (Unrepairable)"}, True),
        ("inspection_passed", {"status": "received", "condition": "Used"}, True),
        ("inspection_passed", {"status": "received", "condition": "Damaged (Unrepairable)"}, False),
        ("restocked", {"status": "received", "condition": "Used"}, False),
        ("restocked", {"status": "received", "restocked_at": "2026-11-27T10:00:00Z"}, True),
    ],
)
def test_supercycle_triggers(trigger: str, line: dict[str, str], expected: bool) -> None:
    settings = RefundSettings(supercycle_trigger=trigger)  # type: ignore[arg-type]
    assert triggered(line, settings) is expected


@pytest.mark.parametrize(
    ("message", "named", "waiting"),
    [
        # OR23 / OR24 / a ST01 line, as Mirakl words them (issue 10's soak) and the emulator.
        ("mirakl HTTP 400: Current status is WAITING_DEBIT_PAYMENT", "WAITING_DEBIT_PAYMENT", True),
        (
            "Current status is WAITING_ACCEPTANCE: tracking needs SHIPPING",
            "WAITING_ACCEPTANCE",
            True,
        ),
        ("Current status is WAITING_DEBIT", "WAITING_DEBIT", True),
        ("Current status is STAGING", "STAGING", True),
        # OR28 on a line not debited yet.
        ("Order line 1-1 cannot be refunded in WAITING_ACCEPTANCE", "WAITING_ACCEPTANCE", True),
        # States that are not "not yet": final, or further along.
        ("Current status is CANCELED: the order cannot be canceled", "CANCELED", False),
        ("Current status is SHIPPED", "SHIPPED", False),
        ("Order line 1-1 cannot be refunded in CLOSED", "CLOSED", False),
        # No state named, or not a Mirakl state.
        ("Carrier code XX is unknown", None, False),
        ("Current status is SOMETHING_ELSE", None, False),
    ],
)
def test_the_state_a_mirakl_refusal_names(message: str, named: str | None, waiting: bool) -> None:
    assert state_named_in(message) == named
    assert (not_yet(message) is not None) is waiting
