"""Cancellations: a shop order cancelled in Shopify cancels the marketplace order.

OR29 cancels the whole order when Mirakl says the order ``can_cancel``; otherwise OR30
cancels line by line where the operator enabled partial cancellation (Mirakl answers
403 where not). Anything refused becomes an exception for ops. The stock held for the
cancelled lines goes back to the pool (``StockLedger.release``). Every call re-reads
the order first, so a repeated run cancels nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mirakl_sync.config import Settings
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.errors import PermanentError
from mirakl_sync.services.pass_failures import CANCEL_NOT_SENT, PassFailures, PassRecord
from mirakl_sync.services.ports import Clock, ExceptionLog, MarketplaceDispatchApi, StockLedger
from mirakl_sync.services.reference_cache import ReferenceCache
from mirakl_sync.services.refunds import _dec, lines_for_skus

CANCELLABLE_LINE_STATES = frozenset({"WAITING_DEBIT", "WAITING_DEBIT_PAYMENT", "SHIPPING"})
RETRY = "mirakl-sync sync shipments --once"
#: Line cancellations (shop refunds of unfulfilled units) are sent by the refunds pass.
RETRY_REFUNDS = "mirakl-sync sync refunds --once"


class CancelStatus(StrEnum):
    CANCELLED = "cancelled"
    LINES_CANCELLED = "lines_cancelled"
    ALREADY = "already"
    EXCEPTION = "exception"


@dataclass(frozen=True)
class CancelResult:
    status: CancelStatus
    marketplace: str
    order_id: str
    detail: str = ""


class CancellationService:
    def __init__(
        self,
        settings: Settings,
        apis: Callable[[str], MarketplaceDispatchApi],
        exceptions: ExceptionLog,
        references: ReferenceCache,
        clock: Clock,
        ledger: StockLedger | None = None,
    ) -> None:
        self._settings = settings
        self._apis = apis
        self._exceptions = exceptions
        self._references = references
        self._clock = clock
        self._ledger = ledger
        self._failures = PassFailures(exceptions, clock)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # ------------------------------------------------------------------ in a pass

    @staticmethod
    def pass_record(marketplace: str, order_id: str, skus: dict[str, int] | None) -> PassRecord:
        """A cancellation (whole order: ``skus`` None) as a pass's exception keeps it."""
        if skus is None:
            doing, entity_type, entity_id = (
                f"the cancellation of order {order_id} (OR29, or OR30 per line)",
                "order",
                order_id,
            )
        else:
            units = ", ".join(f"{q} x {sku}" for sku, q in sorted(skus.items()))
            doing = f"the cancellation of {units} of order {order_id} (OR30)"
            entity_type, entity_id = "order_lines", f"{order_id}|{units}"
        return PassRecord(
            type=CANCEL_NOT_SENT,
            owner=OwnerTeam.OPS,
            doing=doing,
            retry=RETRY_REFUNDS if skus is not None else RETRY,
            entity_type=entity_type,
            entity_id=entity_id,
            marketplace=marketplace,
            order_id=order_id,
            record={"marketplace": marketplace, "order_id": order_id, "skus": skus},
        )

    async def cancel_in_pass(
        self, marketplace: str, order_id: str, skus: dict[str, int] | None = None
    ) -> CancelResult:
        """``cancel_order`` (``skus`` None) or ``cancel_skus`` for a polling pass: a failure
        is a ``cancel_not_sent`` exception for ops, tried again by later passes
        (``due_retries``; the order is re-read first, nothing is cancelled twice)."""

        async def work() -> CancelResult:
            if skus is None:
                return await self.cancel_order(marketplace, order_id)
            return await self.cancel_skus(marketplace, order_id, skus)

        outcome = await self._failures.attempt(self.pass_record(marketplace, order_id, skus), work)
        if isinstance(outcome, str):
            return CancelResult(CancelStatus.EXCEPTION, marketplace, order_id, outcome)
        return outcome

    def due_retries(self, *, lines: bool) -> list[tuple[str, str, dict[str, int] | None]]:
        """(marketplace, order id, SKUs) of the cancellations that failed in an earlier
        pass and are due again: line cancellations (``lines``, the refunds pass) or whole
        orders (the shipments pass)."""
        out: list[tuple[str, str, dict[str, int] | None]] = []
        for record in self._failures.due(CANCEL_NOT_SENT, OwnerTeam.OPS):
            skus = record.get("skus")
            if (skus is not None) == lines:
                out.append((str(record["marketplace"]), str(record["order_id"]), skus))
        return out

    async def cancel_order(self, marketplace: str, order_id: str) -> CancelResult:
        api = self._apis(marketplace)
        order = await api.order(order_id)
        if order is None:
            return CancelResult(CancelStatus.ALREADY, marketplace, order_id, "unknown to Mirakl")
        live = [
            ln
            for ln in order.get("order_lines") or []
            if ln.get("order_line_state") in CANCELLABLE_LINE_STATES
        ]
        if not live:
            self._release(marketplace, order, only_cancelled=True)
            return CancelResult(CancelStatus.ALREADY, marketplace, order_id, order["order_state"])
        if order.get("can_cancel"):
            try:
                await api.cancel_order(order_id)
            except PermanentError as exc:
                return self._exception(marketplace, order_id, f"OR29 refused: {exc}")
            self._release(marketplace, order, lines=live)
            return CancelResult(CancelStatus.CANCELLED, marketplace, order_id)
        return await self._cancel_lines(api, order, [(ln, None) for ln in live])

    async def cancel_skus(
        self, marketplace: str, order_id: str, skus: dict[str, int]
    ) -> CancelResult:
        """OR30 for these quantities (a shop refund of unfulfilled units, restock CANCEL)."""
        api = self._apis(marketplace)
        order = await api.order(order_id)
        if order is None:
            return CancelResult(CancelStatus.ALREADY, marketplace, order_id, "unknown to Mirakl")
        picked = [
            (line, qty)
            for line, qty in lines_for_skus(order, skus)
            if line.get("order_line_state") in CANCELLABLE_LINE_STATES
        ]
        if not picked:
            return CancelResult(CancelStatus.ALREADY, marketplace, order_id, "nothing to cancel")
        return await self._cancel_lines(api, order, picked)

    async def _cancel_lines(
        self,
        api: MarketplaceDispatchApi,
        order: dict[str, Any],
        picked: Sequence[tuple[dict[str, Any], int | None]],
    ) -> CancelResult:
        marketplace, order_id = api.marketplace, str(order["order_id"])
        reason = self._settings.marketplace(marketplace).cancel_reason
        if reason is None:
            allowed = await self._references.reasons(api, "CANCELATION")
            reason = allowed[0] if allowed else None
        if reason is None:
            return self._exception(
                marketplace,
                order_id,
                "no CANCELATION reason: set cancel_reason for this marketplace",
            )
        bodies = []
        for line, wanted in picked:
            cancelled = sum(int(c.get("quantity") or 0) for c in line.get("cancelations") or [])
            left = int(line.get("quantity") or 0) - cancelled
            quantity = left if wanted is None else min(wanted, left)
            if quantity <= 0:
                continue
            unit = _dec(line.get("price")) / max(int(line.get("quantity") or 1), 1)
            full = quantity == left
            bodies.append(
                {
                    "order_line_id": line["order_line_id"],
                    "quantity": quantity,
                    "amount": float(round(unit * quantity, 2)),
                    "shipping_amount": float(_dec(line.get("shipping_price"))) if full else 0.0,
                    "reason_code": reason,
                }
            )
        if not bodies:
            return CancelResult(CancelStatus.ALREADY, marketplace, order_id, "nothing left")
        try:
            await api.cancel_lines(bodies, order.get("order_tax_mode"))
        except PermanentError as exc:
            return self._exception(
                marketplace,
                order_id,
                f"the order cannot be cancelled (can_cancel is false) and OR30 was refused: "
                f"{exc}. Cancel it in the {marketplace} back office",
            )
        if self._ledger is not None:
            for body in bodies:
                self._ledger.release(marketplace, str(body["order_line_id"]), self._now())
        return CancelResult(CancelStatus.LINES_CANCELLED, marketplace, order_id)

    def _release(
        self,
        marketplace: str,
        order: dict[str, Any],
        *,
        lines: list[dict[str, Any]] | None = None,
        only_cancelled: bool = False,
    ) -> None:
        if self._ledger is None:
            return
        chosen = lines if lines is not None else order.get("order_lines") or []
        for line in chosen:
            if only_cancelled and line.get("order_line_state") != "CANCELED":
                continue
            self._ledger.release(marketplace, str(line["order_line_id"]), self._now())

    def _exception(self, marketplace: str, order_id: str, message: str) -> CancelResult:
        self._exceptions.record(
            ExceptionReport(
                type="cancel_refused",
                owner=OwnerTeam.OPS,
                severity=Severity.ERROR,
                entity_type="order",
                entity_id=order_id,
                marketplace=marketplace,
                message=message,
                details={"retry": RETRY},
            ),
            self._now(),
        )
        return CancelResult(CancelStatus.EXCEPTION, marketplace, order_id, message)
