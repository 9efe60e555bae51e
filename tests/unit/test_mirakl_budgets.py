"""CALL_BUDGETS agrees with the "Call Frequency" text of every operation in Mirakl's spec.

The expected budgets are derived here from the text of each operation's
``max-call-frequency`` block, independently of the table, so a change of either the spec
or the table that makes them disagree fails this test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mirakl_sync.adapters.mirakl.budgets import CALL_BUDGETS, PAGES_EXEMPT, budget_key
from mirakl_sync.domain.call_budget import Budget

SPEC = Path(__file__).resolve().parents[2] / "specs" / "mirakl" / "mmp-seller-openapi.json"

UNITS = {
    "second": 1.0,
    "seconds": 1.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "day": 86400.0,
}

# Texts that state no numeric frequency: per business event, per page view, per URL...
NO_LIMIT = re.compile(
    r"^(at each|on each|each time|after each|once on|once per file url|synchronous only"
    r"|\d+ \w+ documents per call|as many times)",
    re.IGNORECASE,
)


# Clauses that qualify a rate without changing it.
QUALIFIER = r"\d+ orders per call|\d+ order lines per call|for each seller|until completed status.*"


def _operations() -> dict[str, str]:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    result: dict[str, str] = {}
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                result[operation["operationId"]] = operation.get("description", "")
    return result


def _maximum_text(description: str) -> str | None:
    """The first (Default persona) maximum-usage text, tags stripped."""
    match = re.search(r'<div class="max-call-frequency">(.*?)</div>', description, re.S)
    if match is None:
        return None
    text = re.sub(r"<[^>]+>", " ", match.group(1))
    text = re.sub(r"\s+", " ", text).strip()
    return text.removeprefix("Maximum usage:").strip()


def _one_rate(text: str) -> tuple[Budget, ...]:
    """Budgets of one clause such as "Once per minute" or "20 times per min, 60 times per hour"."""
    text = text.strip().rstrip(".").lower()
    budgets: list[Budget] = []
    for clause in re.split(r",\s*", text):
        clause = clause.strip()
        if m := re.fullmatch(r"once per (\w+)(?: .*)?", clause):
            budgets.append(Budget(1, UNITS[m.group(1)]))
        elif m := re.fullmatch(r"(?:once )?every (\d+ )?(\w+)(?: .*)?", clause):
            count = float(m.group(1) or 1)
            budgets.append(Budget(1, count * UNITS[m.group(2)]))
        elif m := re.fullmatch(r"(\d+) (?:times |calls )?per (\w+)", clause):
            budgets.append(Budget(int(m.group(1)), UNITS[m.group(2)]))
        elif NO_LIMIT.match(clause) or re.fullmatch(QUALIFIER, clause):
            continue  # a size limit ("100 orders per call") or a qualifier ("for each seller")
        else:
            raise AssertionError(f"cannot read call frequency clause {clause!r}")
    return tuple(budgets)


def expected_budgets(operation: str, description: str) -> dict[str, tuple[Budget, ...]]:
    """operation (and its variants) -> budgets, as the spec text states them."""
    text = _maximum_text(description)
    if text is None or NO_LIMIT.match(text):
        return {operation: ()}
    if "Differential:" in text:
        # OR11-style persona text uses "Asynchronous:"; exports use "Differential:/Full:".
        differential = re.search(r"Differential: (.*?)(?: - |$)", text)
        full = re.search(r"Full: (.*?)(?: - |$)", text)
        assert differential and full, text
        return {
            operation: _one_rate(differential.group(1)),
            f"{operation}:full": _one_rate(full.group(1)),
        }
    if "Asynchronous:" in text:
        asynchronous = re.search(r"Asynchronous: (.*?)(?: - |$)", text)
        assert asynchronous, text
        found = {operation: _one_rate(asynchronous.group(1))}
        if re.search(r"Synchronous: at each .* display", text):
            found[f"{operation}:synchronous"] = ()
        return found
    if "with offers and products" in text:
        offers_only, with_products = text.split(", ", 1)
        return {
            operation: _one_rate(offers_only.removesuffix(" with offers only")),
            f"{operation}:with_products": _one_rate(
                with_products.split(" with offers and products")[0]
            ),
        }
    if " and as many times as there are " in text:
        return {operation: _one_rate(text.split(" and as many times")[0])}
    return {operation: _one_rate(text)}


OPERATIONS = _operations()


def test_the_spec_has_the_122_seller_operations() -> None:
    assert len(OPERATIONS) == 122


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_budget_table_matches_the_spec_text(operation: str) -> None:
    for key, budgets in expected_budgets(operation, OPERATIONS[operation]).items():
        assert key in CALL_BUDGETS, f"{key} missing from CALL_BUDGETS"
        assert CALL_BUDGETS[key] == budgets, (
            f"{key}: table {CALL_BUDGETS[key]} but spec says "
            f"{_maximum_text(OPERATIONS[operation])!r}"
        )


def test_table_has_no_entry_the_spec_does_not_have() -> None:
    known: set[str] = set()
    for operation, description in OPERATIONS.items():
        known.update(expected_budgets(operation, description))
    assert set(CALL_BUDGETS) == known


def test_pages_exempt_exactly_where_the_spec_says_so() -> None:
    exempt = {
        operation
        for operation, description in OPERATIONS.items()
        if "as many times as there are" in (_maximum_text(description) or "")
    }
    assert exempt == PAGES_EXEMPT == {"IV01", "SBC11"}


def test_headline_budgets() -> None:
    # The values the hub's design relies on, stated plainly.
    assert CALL_BUDGETS["OR11"] == (Budget(1, 60),)
    assert CALL_BUDGETS["STO01"] == (Budget(1, 60),)
    assert CALL_BUDGETS["STO02"] == (Budget(1, 15),)
    assert CALL_BUDGETS["OF52"] == (Budget(1, 60),)
    assert CALL_BUDGETS["TL02"] == (Budget(20, 60), Budget(60, 3600))
    for daily in ("SH21", "OF61", "A01", "IV01", "SBC11"):
        assert CALL_BUDGETS[daily] == (Budget(1, 86400),)
    for per_event in ("OR21", "OR23", "OR24", "OR28", "OR29", "OR30", "ST01", "ST23", "ST24"):
        assert CALL_BUDGETS[per_event] == ()


def test_parser_reads_the_shapes_it_meets() -> None:
    assert _one_rate("Once per minute") == (Budget(1, 60),)
    assert _one_rate("Once every 15 seconds") == (Budget(1, 15),)
    assert _one_rate("Every 5 minutes") == (Budget(1, 300),)
    assert _one_rate("every 24 hours") == (Budget(1, 86400),)
    assert _one_rate("60 per hour, 100 order lines per call") == (Budget(60, 3600),)
    assert _one_rate("5 calls per second") == (Budget(5, 1),)
    with pytest.raises(AssertionError):
        _one_rate("twice a fortnight")


def test_budget_key_format() -> None:
    assert budget_key("debenhams", 2001, "OR11") == "mirakl:debenhams:2001:OR11"
