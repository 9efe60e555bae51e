"""The exception-type catalogue: one owner per type, the same as the runbook says, and
no report of a type nobody owns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mirakl_sync.domain.exception_types import CATALOGUE, ExceptionType, kind_of
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
RUNBOOK_SECTIONS = {
    re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
    for line in RUNBOOK.read_text(encoding="utf-8").splitlines()
    if line.startswith("#")
}


def _runbook_table() -> dict[str, str]:
    """Type -> owner as the runbook's table of exceptions gives them (a row may name
    several types, with their owners in the same order)."""
    text = RUNBOOK.read_text(encoding="utf-8")
    table = text.split("### The exceptions you will see", 1)[1].split("\n## ", 1)[0]
    out: dict[str, str] = {}
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        types = re.findall(r"`([a-z_]+)`", cells[0])
        owners = re.findall(r"ops|finance|ecommerce", cells[1].split("(")[0])
        owners = owners if len(owners) == len(types) else owners[:1] * len(types)
        out.update(zip(types, owners, strict=True))
    return out


def test_every_type_is_in_the_runbook_with_its_owner() -> None:
    table = _runbook_table()
    catalogue = {t.value: kind.owner.value for t, kind in CATALOGUE.items()}
    assert table == catalogue


def test_every_type_has_an_entry_and_a_runbook_section() -> None:
    assert set(CATALOGUE) == set(ExceptionType)
    for kind in CATALOGUE.values():
        assert kind.what and kind.remedy
        assert kind.runbook in RUNBOOK_SECTIONS, kind.runbook


def test_a_report_of_a_type_nobody_owns_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown exception type 'made_up'"):
        ExceptionReport("made_up", OwnerTeam.OPS, Severity.ERROR, "order", "1", "m")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown exception type"):
        kind_of("made_up")


def test_a_report_takes_the_catalogue_owner_only() -> None:
    with pytest.raises(ValueError, match="belongs to finance, not ops"):
        ExceptionReport(ExceptionType.REFUND_FAILED, OwnerTeam.OPS, Severity.ERROR, "r", "1", "m")
    report = ExceptionReport("refund_failed", OwnerTeam.FINANCE, Severity.ERROR, "r", "1", "m")  # type: ignore[arg-type]
    assert report.type is ExceptionType.REFUND_FAILED
    assert report.fingerprint.startswith("refund_failed|")
