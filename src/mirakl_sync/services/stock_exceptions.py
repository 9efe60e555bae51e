"""Records the catalogue flows decide not to sync, kept as exceptions for e-commerce.

A record the hub cannot list (an item whose condition has no offer state, an item whose
Shopify variant is gone) or an offer it cannot create (no barcode for ``product-id``) is
never only a status in ``offer_states``: it is an open exception with its owner team and
what to do. Each cycle reports what it still cannot do; the exception log upserts by
fingerprint (type, marketplace, entity), so a repeated cycle raises the count of the one
exception rather than adding another. An open exception of the same kind that a cycle
no longer reports, within the part of the catalogue it looked at, is resolved: the
cause went away.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, ExceptionStatus, OwnerTeam, Severity
from mirakl_sync.domain.offers import Skipped
from mirakl_sync.services.ports import ExceptionLog

#: How many open exceptions of one kind a cycle reads back to resolve the cleared ones.
#: Far above any catalogue's count of unlistable records; past it, the oldest stay open
#: until a cycle that sees them reports or clears them again.
OPEN_LIMIT = 100_000


def not_listed(skipped: Skipped) -> ExceptionReport:
    """A record of the catalogue that no marketplace is offered, and what to do."""
    advice = f" To list it: {skipped.advice}." if skipped.advice else ""
    return ExceptionReport(
        type=ExceptionType.OFFER_NOT_LISTED,
        owner=OwnerTeam.ECOMMERCE,
        severity=Severity.WARNING,
        entity_type="offer",
        entity_id=skipped.key,
        message=(
            f"{skipped.key} is not offered on any marketplace: {skipped.reason}.{advice} "
            f"`mirakl-sync offers status MARKETPLACE --sku {skipped.key}` shows its state."
        ),
        details={"reason": skipped.reason},
    )


def not_creatable(marketplace: str, sku: str) -> ExceptionReport:
    """An offer without ``product-id`` that the marketplace has not shown it holds."""
    return ExceptionReport(
        type=ExceptionType.OFFER_NOT_CREATABLE,
        owner=OwnerTeam.ECOMMERCE,
        severity=Severity.WARNING,
        entity_type="offer",
        entity_id=sku,
        marketplace=marketplace,
        message=(
            f"{sku} cannot be created on {marketplace}: its Shopify variant has no barcode, "
            "and an offer is created (OF01) with the barcode as product-id. Add a barcode "
            "in Shopify (the next offer refresh creates the offer), or create the offer on "
            f"{marketplace} by hand with shop SKU {sku}. Its stock and price are pushed as "
            "soon as the offer exists; this clears by itself once a stock push to it "
            f"succeeds. `mirakl-sync offers status {marketplace} --sku {sku}` shows its state."
        ),
    )


def offer_unmatched(marketplace: str, sku: str) -> ExceptionReport:
    """An offer the marketplace holds whose SKU is no Shopify variant or Supercycle item."""
    return ExceptionReport(
        type=ExceptionType.OFFER_UNMATCHED,
        owner=OwnerTeam.ECOMMERCE,
        severity=Severity.WARNING,
        entity_type="offer",
        entity_id=sku,
        marketplace=marketplace,
        message=(
            f"offer {sku} is listed on {marketplace} (its offer export) but its SKU is no "
            "Shopify variant SKU nor Supercycle serial, so the hub does not keep its stock "
            f"or price in step and leaves it as it is. Give the variant that SKU in "
            f"Shopify, or end the offer in the {marketplace} back office if it is no longer "
            f"sold. `mirakl-sync mappings add {sku} TARGET_SKU --marketplace {marketplace}` "
            "binds its orders to a variant or item (the stock flow does not read mappings "
            "yet)."
        ),
    )


def keep_reported(
    log: ExceptionLog,
    kind: str,
    reports: Iterable[ExceptionReport],
    now: datetime,
    *,
    marketplace: str | None = None,
    scope: Collection[str] | None = None,
) -> None:
    """Record ``reports`` (all of type ``kind`` for ``marketplace``) and resolve the open
    ones of that kind no longer reported, among ``scope`` (entity ids; None: all)."""
    reported: set[str] = set()
    for report in reports:
        log.record(report, now)
        reported.add(report.entity_id)
    for record in log.list(
        status=ExceptionStatus.OPEN, owner=OwnerTeam.ECOMMERCE, limit=OPEN_LIMIT
    ):
        if record.type != kind or record.marketplace != marketplace:
            continue
        if record.entity_id in reported or (scope is not None and record.entity_id not in scope):
            continue
        cleared = ExceptionReport(
            type=ExceptionType(record.type),
            owner=record.owner,
            severity=record.severity,
            entity_type=record.entity_type,
            entity_id=record.entity_id,
            message=record.message,
            marketplace=record.marketplace,
        )
        log.resolve(cleared.fingerprint, now)
