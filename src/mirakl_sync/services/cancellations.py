"""Cancellations: a shop order cancelled in Shopify cancels the marketplace order.

OR29 cancels the whole order when Mirakl says the order ``can_cancel``; otherwise OR30
cancels line by line where the operator enabled partial cancellation (Mirakl answers
403 where not). Anything refused becomes an exception for ops. The stock held for the
cancelled lines goes back to the pool (``StockLedger.release``). Every call re-reads
the order first, so a repeated run cancels nothing twice.

**Not yet** (issue 10): an order still WAITING_ACCEPTANCE (or STAGING) cannot be
cancelled by the seller (Mirakl takes OR29/OR30 once the order is accepted; refusing is
OR21's, the order flow's). Such a cancellation used to find no cancellable line and be
dropped as "already". A whole-order cancellation now leaves a mark the order flow reads
before OR21, so the order is refused rather than accepted (``services.shop_cancel_mark``),
and WAITS (in case the acceptance was already on its way): the workflow sleeps and tries
again, a pass keeps an INFO ``cancel_waiting`` record (``services.waiting``) and sends it
once the order is accepted. The stored state (kept by the order pull) is looked at first,
so a waiting cancellation spends no OR11 call; a refusal naming a waiting state waits too.

**Items** (issue 10, item 5): every cancelled line that had sold a unique Supercycle item
makes that item available again, once (``services.item_release``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mirakl_sync.config import Settings
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.marketplace_order import LineState, OrderState, not_yet
from mirakl_sync.errors import PermanentError
from mirakl_sync.services.item_release import ItemRelease
from mirakl_sync.services.pass_failures import PassFailures, PassRecord
from mirakl_sync.services.ports import (
    Clock,
    ExceptionLog,
    MarketplaceDispatchApi,
    MarketplaceOrderIndex,
    StockLedger,
)
from mirakl_sync.services.reference_cache import ReferenceCache
from mirakl_sync.services.refund_lines import decimal_of, lines_for_skus
from mirakl_sync.services.shop_cancel_mark import MarkStore, mark_cancelled_in_shop
from mirakl_sync.services.waiting import CANCELLATION, WaitingWork

CANCELLABLE_LINE_STATES = frozenset(
    {LineState.WAITING_DEBIT, LineState.WAITING_DEBIT_PAYMENT, LineState.SHIPPING}
)
#: Order states in which the seller cannot cancel yet: the order is not accepted (the
#: seller's answer then is OR21, see mirakl-api.md §2.8). A cancellation waits them out.
NOT_YET_CANCELLABLE = frozenset({OrderState.STAGING.value, OrderState.WAITING_ACCEPTANCE.value})
RETRY = "mirakl-sync sync shipments --once"
#: Line cancellations (shop refunds of unfulfilled units) are sent by the refunds pass.
RETRY_REFUNDS = "mirakl-sync sync refunds --once"


class CancelStatus(StrEnum):
    CANCELLED = "cancelled"
    LINES_CANCELLED = "lines_cancelled"
    ALREADY = "already"
    #: Mirakl cannot take it yet (the order is not accepted yet): tried again.
    WAITING = "waiting"
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
        *,
        index: MarketplaceOrderIndex | None = None,
        items: ItemRelease | None = None,
        marks: MarkStore | None = None,
    ) -> None:
        self._settings = settings
        self._apis = apis
        self._exceptions = exceptions
        self._references = references
        self._clock = clock
        self._ledger = ledger
        #: The stored orders: their state (kept by the pull) says "not yet" for free.
        self._index = index
        #: Makes the Supercycle items of cancelled lines available again (once).
        self._items = items
        #: Where "cancelled in the shop before acceptance" is left for the order flow.
        self._marks = marks
        self._failures = PassFailures(exceptions, clock)
        self._waiting = WaitingWork(CANCELLATION, exceptions, clock)

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
            type=ExceptionType.CANCEL_NOT_SENT,
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

        item = self.pass_record(marketplace, order_id, skus)
        outcome = await self._failures.attempt(item, work)
        if isinstance(outcome, str):
            return CancelResult(CancelStatus.EXCEPTION, marketplace, order_id, outcome)
        if outcome.status == CancelStatus.WAITING:
            # Kept for the next passes (INFO, nobody alarmed; escalated past the deadline).
            self._waiting.wait(item, outcome.detail)
        else:
            self._waiting.settled(item)
        return outcome

    def hand_over(
        self, marketplace: str, order_id: str, skus: dict[str, int] | None, state: str
    ) -> None:
        """A workflow stops waiting: the passes keep trying this cancellation from here."""
        self._waiting.wait(self.pass_record(marketplace, order_id, skus), state)

    def due_retries(self, *, lines: bool) -> list[tuple[str, str, dict[str, int] | None]]:
        """(marketplace, order id, SKUs) of the cancellations that failed in an earlier
        pass and are due again: line cancellations (``lines``, the refunds pass) or whole
        orders (the shipments pass)."""
        out: list[tuple[str, str, dict[str, int] | None]] = []
        records = (
            self._failures.due(ExceptionType.CANCEL_NOT_SENT, OwnerTeam.OPS) + self._waiting.due()
        )
        for record in records:
            skus = record.get("skus")
            entry = (str(record["marketplace"]), str(record["order_id"]), skus)
            if (skus is not None) == lines and entry not in out:
                out.append(entry)
        return out

    def _not_yet(self, marketplace: str, order_id: str) -> CancelResult | None:
        """WAITING when the stored order is not accepted yet (no OR11 spent)."""
        ref = self._index.by_order_id(marketplace, order_id) if self._index else None
        if ref is not None and ref.state in NOT_YET_CANCELLABLE:
            return CancelResult(CancelStatus.WAITING, marketplace, order_id, ref.state)
        return None

    async def cancel_order(self, marketplace: str, order_id: str) -> CancelResult:
        waiting = self._not_yet(marketplace, order_id)
        if waiting is not None:
            return self._refuse_instead(waiting)
        api = self._apis(marketplace)
        order = await api.order(order_id)
        if order is None:
            return CancelResult(CancelStatus.ALREADY, marketplace, order_id, "unknown to Mirakl")
        if order.get("order_state") in NOT_YET_CANCELLABLE:
            return self._refuse_instead(
                CancelResult(CancelStatus.WAITING, marketplace, order_id, order["order_state"])
            )
        live = [
            ln
            for ln in order.get("order_lines") or []
            if ln.get("order_line_state") in CANCELLABLE_LINE_STATES
        ]
        if not live:
            await self._release(marketplace, order, only_cancelled=True)
            return CancelResult(CancelStatus.ALREADY, marketplace, order_id, order["order_state"])
        if order.get("can_cancel"):
            try:
                await api.cancel_order(order_id)
            except PermanentError as exc:
                state = not_yet(str(exc))
                if state is not None:
                    return CancelResult(CancelStatus.WAITING, marketplace, order_id, state)
                return self._exception(marketplace, order_id, f"OR29 refused: {exc}")
            await self._release(marketplace, order, lines=live)
            return CancelResult(CancelStatus.CANCELLED, marketplace, order_id)
        return await self._cancel_lines(api, order, [(ln, None) for ln in live])

    def _refuse_instead(self, waiting: CancelResult) -> CancelResult:
        """Not accepted yet: tell the order flow to refuse it (``services.shop_cancel_mark``)
        and wait, in case the acceptance is already on its way."""
        if self._marks is not None:
            mark_cancelled_in_shop(self._marks, waiting.marketplace, waiting.order_id, self._now())
        return waiting

    async def cancel_skus(
        self, marketplace: str, order_id: str, skus: dict[str, int]
    ) -> CancelResult:
        """OR30 for these quantities (a shop refund of unfulfilled units, restock CANCEL)."""
        waiting = self._not_yet(marketplace, order_id)
        if waiting is not None:
            return waiting
        api = self._apis(marketplace)
        order = await api.order(order_id)
        if order is None:
            return CancelResult(CancelStatus.ALREADY, marketplace, order_id, "unknown to Mirakl")
        if order.get("order_state") in NOT_YET_CANCELLABLE:
            return CancelResult(CancelStatus.WAITING, marketplace, order_id, order["order_state"])
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
            unit = decimal_of(line.get("price")) / max(int(line.get("quantity") or 1), 1)
            full = quantity == left
            bodies.append(
                {
                    "order_line_id": line["order_line_id"],
                    "quantity": quantity,
                    "amount": float(round(unit * quantity, 2)),
                    "shipping_amount": float(decimal_of(line.get("shipping_price")))
                    if full
                    else 0.0,
                    "reason_code": reason,
                }
            )
        if not bodies:
            return CancelResult(CancelStatus.ALREADY, marketplace, order_id, "nothing left")
        try:
            await api.cancel_lines(bodies, order.get("order_tax_mode"))
        except PermanentError as exc:
            state = not_yet(str(exc))
            if state is not None:
                return CancelResult(CancelStatus.WAITING, marketplace, order_id, state)
            return self._exception(
                marketplace,
                order_id,
                f"the order cannot be cancelled (can_cancel is false) and OR30 was refused: "
                f"{exc}. Cancel it in the {marketplace} back office",
            )
        if self._ledger is not None:
            for body in bodies:
                self._ledger.release(marketplace, str(body["order_line_id"]), self._now())
        if self._items is not None:
            # Only whole lines give their unique item back (a unique item is one unit).
            whole = [
                str(line["order_line_id"])
                for line, wanted in picked
                if any(
                    b["order_line_id"] == line["order_line_id"]
                    and int(b["quantity"]) >= int(line.get("quantity") or 0)
                    for b in bodies
                )
            ]
            await self._items.release_lines(marketplace, order_id, whole)
        return CancelResult(CancelStatus.LINES_CANCELLED, marketplace, order_id)

    async def _release(
        self,
        marketplace: str,
        order: dict[str, Any],
        *,
        lines: list[dict[str, Any]] | None = None,
        only_cancelled: bool = False,
    ) -> None:
        chosen = lines if lines is not None else order.get("order_lines") or []
        released = [
            str(line["order_line_id"])
            for line in chosen
            if not only_cancelled or line.get("order_line_state") == LineState.CANCELED
        ]
        if self._ledger is not None:
            for line_id in released:
                self._ledger.release(marketplace, line_id, self._now())
        if self._items is not None:
            await self._items.release_lines(marketplace, str(order["order_id"]), released)

    def _exception(self, marketplace: str, order_id: str, message: str) -> CancelResult:
        self._exceptions.record(
            ExceptionReport(
                type=ExceptionType.CANCEL_REFUSED,
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
