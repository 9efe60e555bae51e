"""Refunds: each refund source (a Shopify refund, a Supercycle return line) becomes OR28
refunds on the marketplace order, exactly once.

Mirakl has no idempotency key, and a timed-out OR28 may have created the refund. So the
source is bound in ``bindings`` (system ``mirakl:<marketplace>``, entity ``refund``,
internal id ``<order_id>|<source key>``) BEFORE the call, as ``pending:...``, and to the
Mirakl refund ids after it. A source found pending (a crash or a timeout after the
call) is first looked for on the order (OR11 ``refunds[]``: same line, reason and
quantity, not bound to another source); only when it is not there is it sent again.
A rejection (e.g. "insufficient payable balance") removes the pending mark and opens an
exception for finance with Mirakl's message.

**Not yet** (issue 10): before the order is accepted and debited Mirakl takes no refund
(OR28 answers 400 "cannot be refunded in WAITING_ACCEPTANCE"). Such a refund is WAITING,
not a failure: the stored state (kept by the order pull) is looked at first, so a waiting
refund spends no OR11 call; then OR11's ``order_state``; then the state Mirakl's refusal
names (``domain.marketplace_order.not_yet``). The workflow sleeps and tries again; a pass
keeps it as an INFO ``refund_waiting`` record (``services.waiting``), escalated to
``refund_blocked`` past the deadline. An order the marketplace REFUSED or CANCELED needs
no refund on Mirakl (the customer was never charged there, or the operator refunds a
cancelled debit itself): the source is bound as settled (``none:<state>``) and an INFO
``refund_not_needed`` tells finance, for the reconciliation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import structlog

from mirakl_sync.config import Settings
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.marketplace_order import (
    NEVER_CHARGED_STATES,
    NOT_YET_STATES,
    LineState,
    not_yet,
    state_named_in,
)
from mirakl_sync.domain.refunds import (
    LineRefund,
    line_refund,
    resolve_reason,
)
from mirakl_sync.errors import PermanentError, RetryableError
from mirakl_sync.services.pass_failures import (
    OPEN_LIMIT,
    PassFailures,
    PassRecord,
)
from mirakl_sync.services.ports import (
    Bindings,
    Clock,
    ExceptionLog,
    MarketplaceDispatchApi,
    MarketplaceOrderIndex,
)
from mirakl_sync.services.reference_cache import ReferenceCache
from mirakl_sync.services.refund_lines import lines_for_skus, refundable_line
from mirakl_sync.services.waiting import REFUND, SHIPMENT, WaitingWork

log = structlog.get_logger(__name__)

ENTITY = "refund"
PENDING = "pending:"
#: A source settled without a refund on Mirakl: ``none:<order state>``.
SETTLED = "none:"
RETRY_REFUNDS = "mirakl-sync sync refunds --once"
REFUNDED = "REFUNDED"
#: Where the first time a Shopify refund was held for its order's shipment is kept.
SHIP_FIRST_ENTITY = "refund-ship-first"
#: The ``detail`` (the state it waits in, as the waiting record says) of such a refund.
SHIP_FIRST_DETAIL = "SHIPPING, and its shipment goes first"
# A Shopify refund of lines Mirakl still has to ship waits for their shipment for
# ``[refunds] ship_first_seconds``. A shop fulfils and refunds in the same second (a
# return booked at once, a refund right after the parcel left): the fulfilment's
# shipment and the refund race, and a refund that lands first leaves the lines REFUNDED,
# so the shipment (tracking, the seller's late-shipment rate) never shows on Mirakl.
# The hub normally confirms a shipment within seconds; a refund of lines that will never
# ship (a goodwill refund before dispatch) goes out after the wait.
#: Past ``ship_first_seconds``, a refund still waits while a shipment of its order is
#: being tried again (``shipment_not_sent``, ``shipment_waiting``), up to this long: before
#: (issue 10, the soak), a refund went while ST01 answered 500 and the shipment's retry
#: then found no line left to ship.
SHIP_FIRST_MAX_SECONDS = 24 * 3600.0


class RefundStatus(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    NOTHING_TO_REFUND = "nothing_to_refund"
    #: Mirakl cannot take it yet (the order is not accepted or not debited): tried again.
    WAITING = "waiting"
    #: The marketplace refused or cancelled the order: nothing was charged there.
    NOT_ON_MARKETPLACE = "not_on_marketplace"
    EXCEPTION = "exception"


@dataclass(frozen=True)
class RefundSource:
    #: ``shopify-refund:<id>`` or ``supercycle-return-line:<id>``: sent once per key.
    key: str
    marketplace: str
    order_id: str
    #: Offer SKU (variant SKU or item serial) -> quantity refunded.
    skus: dict[str, int]
    #: Hub reason, looked up in the marketplace's ``refund_reasons``.
    reason: str


@dataclass(frozen=True)
class RefundResult:
    status: RefundStatus
    source: str
    refund_ids: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class _Request:
    refund: LineRefund
    reason_code: str
    body: dict[str, Any] = field(hash=False, compare=False)


class RefundService:
    def __init__(
        self,
        settings: Settings,
        apis: Callable[[str], MarketplaceDispatchApi],
        bindings: Bindings,
        exceptions: ExceptionLog,
        references: ReferenceCache,
        clock: Clock,
        index: MarketplaceOrderIndex | None = None,
    ) -> None:
        self._settings = settings
        self._apis = apis
        self._bindings = bindings
        self._exceptions = exceptions
        self._references = references
        self._clock = clock
        #: The stored orders: their state (kept by the pull) says "not yet" for free.
        self._index = index
        self._failures = PassFailures(exceptions, clock)
        self._waiting = WaitingWork(REFUND, exceptions, clock)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # ------------------------------------------------------------------ in a pass

    @staticmethod
    def pass_record(source: RefundSource) -> PassRecord:
        """``source`` as a pass's ``refund_not_sent`` exception names and keeps it."""
        skus = ", ".join(f"{q} x {sku}" for sku, q in sorted(source.skus.items()))
        return PassRecord(
            type=ExceptionType.REFUND_NOT_SENT,
            owner=OwnerTeam.FINANCE,
            doing=f"the refund {source.key} of order {source.order_id} ({skus}, OR28)",
            retry=RETRY_REFUNDS,
            entity_type=ENTITY,
            entity_id=source.key,
            marketplace=source.marketplace,
            order_id=source.order_id,
            record=asdict(source),
        )

    async def refund_in_pass(self, source: RefundSource) -> RefundResult:
        """``refund(source)`` for a polling pass: a failure (Mirakl unavailable, no budget
        slot within the bound, an unexpected refusal) is a ``refund_not_sent`` exception for
        finance, tried again by later passes (``due_retries``; the pending binding makes the
        retry look on the order before sending), instead of ending the pass."""
        item = self.pass_record(source)
        outcome = await self._failures.attempt(item, lambda: self.refund(source))
        if isinstance(outcome, str):
            return RefundResult(RefundStatus.EXCEPTION, source.key, detail=outcome)
        if outcome.status == RefundStatus.WAITING:
            # Kept for the next passes (INFO, nobody alarmed; escalated past the deadline).
            self._waiting.wait(item, outcome.detail)
        else:
            self._waiting.settled(item)
        return outcome

    def hand_over(self, source: RefundSource, state: str) -> None:
        """A workflow stops waiting for ``source``: the passes keep trying it from here."""
        self._waiting.wait(self.pass_record(source), state)

    def due_retries(self) -> list[RefundSource]:
        """Refund sources that failed, or waited for the order's state, in an earlier pass
        and are due to be tried again (each once)."""
        records = (
            self._failures.due(ExceptionType.REFUND_NOT_SENT, OwnerTeam.FINANCE)
            + self._waiting.due()
        )
        unique = {RefundSource(**record).key: RefundSource(**record) for record in records}
        return list(unique.values())

    @staticmethod
    def system(marketplace: str) -> str:
        return f"mirakl:{marketplace}"

    @staticmethod
    def internal_id(source: RefundSource) -> str:
        return f"{source.order_id}|{source.key}"

    def bound_refund_ids(self, source: RefundSource) -> tuple[str, ...] | None:
        """The Mirakl refund ids recorded for ``source`` (None: not confirmed sent)."""
        value = self._bindings.get(
            self.system(source.marketplace), ENTITY, self.internal_id(source)
        )
        if value is None or value.startswith(PENDING):
            return None
        if value.startswith(SETTLED):
            return ()
        return tuple(v for v in value.split(",") if v)

    async def refund(self, source: RefundSource) -> RefundResult:
        system, internal = self.system(source.marketplace), self.internal_id(source)
        bound = self._bindings.get(system, ENTITY, internal)
        if bound is not None and bound.startswith(SETTLED):
            return self._not_on_marketplace_result(source, bound[len(SETTLED) :])
        if bound is not None and not bound.startswith(PENDING):
            return RefundResult(RefundStatus.ALREADY_SENT, source.key, tuple(bound.split(",")))
        stored = (
            self._index.by_order_id(source.marketplace, source.order_id) if self._index else None
        )
        if bound is None and stored is not None and stored.state in NOT_YET_STATES:
            # The pull keeps this state fresh (every minute): no OR11 spent while it waits.
            return RefundResult(RefundStatus.WAITING, source.key, detail=stored.state)
        api = self._apis(source.marketplace)
        order = await api.order(source.order_id)
        if order is None:
            return self._finance(source, f"order {source.order_id} is unknown to Mirakl")
        state = str(order.get("order_state") or "")
        if bound is None and state in NOT_YET_STATES:
            return RefundResult(RefundStatus.WAITING, source.key, detail=state)
        if bound is None and state in NEVER_CHARGED_STATES:
            return self._not_on_marketplace(source, state)
        if bound is None and self._ship_first(source, order):
            return RefundResult(RefundStatus.WAITING, source.key, detail=SHIP_FIRST_DETAIL)
        reason = await self._reason(api, source)
        if reason is None:
            return self._finance(
                source,
                f"no RE01 REFUND reason configured for {source.reason!r} on {source.marketplace}"
                f": set refund_reasons or default_refund_reason, then run `{RETRY_REFUNDS}`",
            )
        if bound is not None:
            landed = self._landed(order, source, reason)
            if landed:
                return self._bind(source, landed, RefundStatus.ALREADY_SENT)
        requests = self._requests(order, source, reason)
        if not requests:
            self._bindings.delete(system, ENTITY, internal)
            return RefundResult(RefundStatus.NOTHING_TO_REFUND, source.key, detail="nothing left")
        self._bindings.put(system, ENTITY, internal, PENDING + internal[:240], self._now())
        try:
            created = await api.refund([r.body for r in requests], order.get("order_tax_mode"))
        except PermanentError as exc:
            self._bindings.delete(system, ENTITY, internal)
            named = state_named_in(str(exc))
            if not_yet(str(exc)):
                # The order (or the line) moved back or the stored state was stale.
                return RefundResult(RefundStatus.WAITING, source.key, detail=str(named))
            if named in NEVER_CHARGED_STATES:
                return self._not_on_marketplace(source, str(named))
            return self._finance(
                source,
                f"{source.marketplace} rejected the refund of order {source.order_id}: {exc}. "
                f"{_remedy(str(exc))}, then run `{RETRY_REFUNDS}`",
                {"mirakl": str(exc)},
            )
        except RetryableError as exc:
            if not exc.ambiguous:
                raise
            # The refund may have landed: look before anyone sends it again.
            again = await api.order(source.order_id)
            landed = self._landed(again or {}, source, reason)
            if landed:
                return self._bind(source, landed, RefundStatus.SENT)
            raise
        ids = tuple(str(c.get("refund_id")) for c in created if c.get("refund_id"))
        return self._bind(source, ids, RefundStatus.SENT)

    def _ship_first(self, source: RefundSource, order: dict[str, Any]) -> bool:
        """Whether a Shopify refund waits for its lines' shipment (``ship_first_seconds``
        from the first time it was held, kept in the bindings so a restart keeps it)."""
        wait = self._settings.refunds.ship_first_seconds
        if wait <= 0 or not source.key.startswith("shopify-refund:"):
            return False
        lines = lines_for_skus(order, source.skus)
        if not any(str(line.get("order_line_state")) == LineState.SHIPPING for line, _ in lines):
            return False
        system, internal = self.system(source.marketplace), self.internal_id(source)
        now = self._clock()
        held = self._bindings.get(system, SHIP_FIRST_ENTITY, internal)
        if held is None:
            # "<since> <source>": a binding's value is unique per entity, and two refunds
            # can be held in the same instant.
            value = f"{now!r} {internal}"[:250]
            self._bindings.put(system, SHIP_FIRST_ENTITY, internal, value, self._now())
            return True
        waited = now - float(held.split(" ", 1)[0])
        if waited < wait:
            return True
        return waited < SHIP_FIRST_MAX_SECONDS and self._shipment_retried(source)

    def _shipment_retried(self, source: RefundSource) -> bool:
        """Whether a shipment of the refund's order failed or waits and is tried again."""
        open_ = self._exceptions.list(
            owner=OwnerTeam.OPS, marketplace=source.marketplace, limit=OPEN_LIMIT
        )
        return any(
            r.type in (ExceptionType.SHIPMENT_NOT_SENT, SHIPMENT.waiting)
            and r.details.get("order_id") == source.order_id
            for r in open_
        )

    def _bind(
        self, source: RefundSource, ids: tuple[str, ...], status: RefundStatus
    ) -> RefundResult:
        system, internal = self.system(source.marketplace), self.internal_id(source)
        self._bindings.put(system, ENTITY, internal, ",".join(ids), self._now())
        # Sent: its hold for the shipment (if it had one) is spent.
        self._bindings.delete(system, SHIP_FIRST_ENTITY, internal)
        self._exceptions.resolve(self._fingerprint(source), self._now())
        return RefundResult(status, source.key, ids)

    async def _reason(self, api: MarketplaceDispatchApi, source: RefundSource) -> str | None:
        """The RE01 code for ``source``; None when none is configured or allowed. With
        nothing configured the marketplace's first code is used, so a list that could not
        be read (a 500, a budget without a slot, another process reading it that gave no
        answer) is a retryable error, not a missing setting: before (issue 10, the soak),
        such refunds were ``refund_failed`` for finance and never tried again."""
        market = self._settings.marketplace(source.marketplace)
        allowed = await self._references.reasons(api, "REFUND")
        configured = market.refund_reasons.get(source.reason) or market.default_refund_reason
        if allowed is None and configured is None:
            error = RetryableError(
                f"the refund reasons of {source.marketplace} (RE01) could not be read, and "
                "none is configured to use meanwhile; the refund is tried again by the next "
                "passes (set default_refund_reason to not depend on RE01)",
                system="mirakl",
            )
            error.operation = "RE01"
            raise error
        return resolve_reason(
            source.reason, market.refund_reasons, market.default_refund_reason, allowed
        )

    def _requests(self, order: dict[str, Any], source: RefundSource, reason: str) -> list[_Request]:
        out = []
        for line, quantity in lines_for_skus(order, source.skus):
            refund = line_refund(refundable_line(line), quantity)
            if refund is None:
                continue
            body: dict[str, Any] = {
                "order_line_id": refund.order_line_id,
                "amount": float(refund.amount),
                "shipping_amount": float(refund.shipping_amount),
                "reason_code": reason,
                "quantity": refund.quantity,
            }
            if refund.taxes:
                body["taxes"] = [{"code": c, "amount": float(a)} for c, a in refund.taxes]
            if refund.shipping_taxes:
                body["shipping_taxes"] = [
                    {"code": c, "amount": float(a)} for c, a in refund.shipping_taxes
                ]
            out.append(_Request(refund, reason, body))
        return out

    def _landed(self, order: dict[str, Any], source: RefundSource, reason: str) -> tuple[str, ...]:
        """The refund ids on the order that match this source and no other binding."""
        taken: set[str] = set()
        for value in self._bindings.external_ids(
            self.system(source.marketplace), ENTITY, f"{source.order_id}|"
        ):
            if not value.startswith(PENDING):
                taken.update(value.split(","))
        found: list[str] = []
        for line, quantity in lines_for_skus(order, source.skus):
            match = next(
                (
                    str(r["id"])
                    for r in line.get("refunds") or []
                    if str(r.get("id")) not in taken
                    and r.get("reason_code") == reason
                    and int(r.get("quantity") or 0) == quantity
                ),
                None,
            )
            if match is None:
                return ()
            taken.add(match)
            found.append(match)
        return tuple(found)

    def _not_on_marketplace(self, source: RefundSource, state: str) -> RefundResult:
        """The marketplace refused or cancelled the order: settle the source without OR28."""
        self._bindings.put(
            self.system(source.marketplace),
            ENTITY,
            self.internal_id(source),
            SETTLED + state,
            self._now(),
        )
        self._exceptions.resolve(self._fingerprint(source), self._now())
        skus = ", ".join(f"{q} x {sku}" for sku, q in sorted(source.skus.items()))
        self._exceptions.record(
            ExceptionReport(
                type=ExceptionType.REFUND_NOT_NEEDED,
                owner=OwnerTeam.FINANCE,
                severity=Severity.INFO,
                entity_type=ENTITY,
                entity_id=source.key,
                marketplace=source.marketplace,
                message=(
                    f"The refund {source.key} ({skus}) of {source.marketplace} order "
                    f"{source.order_id} was not sent to Mirakl: the order is {state} there, "
                    "so the customer was never charged for it on the marketplace (or, for a "
                    "debited order cancelled by the operator, the operator refunds it). "
                    "Nothing to do; for the reconciliation only (resolve it when noted)."
                ),
                details={"order_id": source.order_id, "state": state, "skus": source.skus},
            ),
            self._now(),
        )
        log.info("refund.not_on_marketplace", source=source.key, order_id=source.order_id)
        return self._not_on_marketplace_result(source, state)

    @staticmethod
    def _not_on_marketplace_result(source: RefundSource, state: str) -> RefundResult:
        return RefundResult(
            RefundStatus.NOT_ON_MARKETPLACE,
            source.key,
            detail=f"order is {state} on the marketplace: nothing to refund there",
        )

    def _fingerprint(self, source: RefundSource) -> str:
        return "|".join((ExceptionType.REFUND_FAILED, source.marketplace, ENTITY, source.key))

    def _finance(
        self, source: RefundSource, message: str, details: dict[str, Any] | None = None
    ) -> RefundResult:
        self._exceptions.record(
            ExceptionReport(
                type=ExceptionType.REFUND_FAILED,
                owner=OwnerTeam.FINANCE,
                severity=Severity.ERROR,
                entity_type=ENTITY,
                entity_id=source.key,
                marketplace=source.marketplace,
                message=message,
                details={**(details or {}), "order_id": source.order_id, "retry": RETRY_REFUNDS},
            ),
            self._now(),
        )
        return RefundResult(RefundStatus.EXCEPTION, source.key, detail=message)

    async def refund_states(
        self, marketplace: str, order_id: str, ids: tuple[str, ...]
    ) -> dict[str, str]:
        """``refund_state`` of each refund id, read from OR11.

        A read of the one order the refund was sent for, every ``FlowContext.follow_seconds`` until
        Mirakl says REFUNDED: counted as OR11's synchronous usage, like the read before
        the refund. On the once-a-minute budget it would take the pulls' slots: a pull
        every minute is the whole of that budget."""
        order = await self._apis(marketplace).order(order_id) or {}
        states: dict[str, str] = {}
        for line in order.get("order_lines") or []:
            for r in line.get("refunds") or []:
                if str(r.get("id")) in ids:
                    states[str(r["id"])] = str(r.get("refund_state") or r.get("state") or "")
        return states


def _remedy(message: str) -> str:
    """What finance does about a refund Mirakl rejected, by Mirakl's words. The payable
    balance is the one cause with its own remedy (the hub cannot fix it); otherwise the
    message itself says what is wrong (amounts, reason, the order's lines)."""
    if "balance" in message.lower():
        return "Top up the shop's payable balance with the marketplace"
    return (
        "Fix what Mirakl's message names (the refund reason, the amounts, or the order "
        "in the back office)"
    )
