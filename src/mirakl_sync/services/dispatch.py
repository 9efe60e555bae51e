"""Dispatch: a fulfilment in the shop becomes a shipment on the marketplace.

Where the marketplace has multi-shipment, one ST01 call per 1000 shipments creates the
shipments with their tracking and ships them (``shipped: true``), partial shipments
included. Elsewhere (ST11/ST01 answer 404) OR23 sets the tracking and OR24 confirms the
shipment of the whole order, so a partial fulfilment is held until the shop order is
fulfilled in full.

Every write is preceded by a fresh read of the order (and of its shipments), so a step
run twice, or a run resumed after a crash between OR23 and OR24, sends only what is
missing: OR23 is skipped when the order already carries our tracking number, OR24 when
the order is already SHIPPED, ST01 when a shipment already names our fulfilment in its
``package_reference``. An order still in WAITING_DEBIT(_PAYMENT) is left to wait; the
workflow tries again later.

**Waiting is never a refusal** (issue 10, item 4): a write refused because the order is
not accepted or not debited yet ("Current status is WAITING_DEBIT_PAYMENT" on OR23, OR24 or
a ST01 line; the texts are read by ``domain.marketplace_order.not_yet``) is WAITING, even
when the order has moved on by the time it could be re-read (the warehouse shipped before
the acceptance or the debit landed): never ``carrier_rejected`` / ``ship_refused``. In a
polling pass a waiting fulfilment is kept as an INFO ``shipment_waiting`` record
(``services.waiting``) that the next pass tries again, so it is not lost when the shop
feed's cursor moves on; it clears once shipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import structlog

from mirakl_sync.config import Settings
from mirakl_sync.domain.carriers import CarrierDecision, CarrierMap, CarrierOutcome, decide
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.marketplace_order import OrderState, not_yet
from mirakl_sync.domain.shipments import (
    SHIPPED_STATES,
    WAITING_STATES,
    MarketLine,
    OrderRef,
    ShipmentLine,
    fully_covered,
    lines_to_ship,
)
from mirakl_sync.errors import ExternalSystemError, NotFoundError, PermanentError
from mirakl_sync.services.pass_failures import PassFailures, PassRecord
from mirakl_sync.services.ports import (
    Clock,
    ExceptionLog,
    MarketplaceDispatchApi,
    MarketplaceOrderIndex,
    ShopDispatchApi,
)
from mirakl_sync.services.reference_cache import ReferenceCache
from mirakl_sync.services.waiting import SHIPMENT, WaitingWork

log = structlog.get_logger(__name__)

RETRY_SHIPMENTS = "mirakl-sync sync shipments --once"


class DispatchStatus(StrEnum):
    SHIPPED = "shipped"
    ALREADY_SHIPPED = "already_shipped"
    #: OR23 done, OR24 still to do.
    TRACKING_SENT = "tracking_sent"
    #: The order waits for the customer's debit (WAITING_DEBIT*): try again later.
    WAITING = "waiting"
    #: Partial fulfilment on a marketplace without multi-shipment: wait for the rest.
    HELD_PARTIAL = "held_partial"
    #: An exception was recorded for a team to act on.
    EXCEPTION = "exception"
    #: Not a marketplace order, or nothing left to ship.
    NOTHING_TO_DO = "nothing_to_do"


@dataclass(frozen=True)
class Fulfilment:
    """A shop fulfilment (or a fulfilled Supercycle cycle) to report to the marketplace."""

    #: Stable id of the source, e.g. ``shopify-fulfillment:123`` (workflow key).
    source_id: str
    shopify_order_id: str
    #: SKU -> quantity fulfilled by this fulfilment.
    skus: dict[str, int]
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True)
class DispatchResult:
    status: DispatchStatus
    source_id: str
    marketplace: str | None = None
    order_id: str | None = None
    detail: str = ""
    #: WAITING: the order state Mirakl waits on (for the waiting record).
    state: str = ""


@dataclass
class _Plan:
    fulfilment: Fulfilment
    ref: OrderRef
    api: MarketplaceDispatchApi
    order: dict[str, Any]
    decision: CarrierDecision | None
    lines: list[MarketLine] = field(default_factory=list)


def market_lines(order: dict[str, Any]) -> list[MarketLine]:
    return [
        MarketLine(
            order_line_id=str(line["order_line_id"]),
            offer_sku=str(line.get("offer_sku") or ""),
            quantity=int(line.get("quantity") or 0),
            state=str(line.get("order_line_state") or ""),
        )
        for line in order.get("order_lines") or []
    ]


def carrier_map(settings: Settings, marketplace: str) -> CarrierMap:
    return CarrierMap(
        global_map=settings.carriers,
        aliases=settings.carrier_aliases,
        overrides=settings.marketplace(marketplace).carriers,
    )


class DispatchService:
    def __init__(
        self,
        settings: Settings,
        apis: Callable[[str], MarketplaceDispatchApi],
        index: MarketplaceOrderIndex,
        exceptions: ExceptionLog,
        references: ReferenceCache,
        clock: Clock,
        shop: ShopDispatchApi | None = None,
    ) -> None:
        self._settings = settings
        self._apis = apis
        self._index = index
        self._exceptions = exceptions
        self._references = references
        self._clock = clock
        self._shop = shop
        self._failures = PassFailures(exceptions, clock)
        self._waiting = WaitingWork(SHIPMENT, exceptions, clock)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _wait(self, fulfilment: Fulfilment, ref: OrderRef, state: str) -> DispatchResult:
        return DispatchResult(
            DispatchStatus.WAITING,
            fulfilment.source_id,
            ref.marketplace,
            ref.order_id,
            f"order is {state}",
            state,
        )

    # ------------------------------------------------------------------ planning

    async def _plan(self, fulfilment: Fulfilment) -> _Plan | DispatchResult:
        ref = self._index.by_shopify_order(fulfilment.shopify_order_id)
        if ref is None:
            return DispatchResult(
                DispatchStatus.NOTHING_TO_DO, fulfilment.source_id, detail="not a marketplace order"
            )
        api = self._apis(ref.marketplace)
        # The stored OR11 payload gives the line ids; its state may be stale, so Mirakl's
        # own answer to the write decides (OR11 is read only when a write is refused:
        # its budget is one call a minute).
        order = self._index.payload(ref.marketplace, ref.order_id) or await api.order(ref.order_id)
        if order is None:
            return self._result(DispatchStatus.NOTHING_TO_DO, fulfilment, ref, "unknown to Mirakl")
        state = str(order.get("order_state"))
        if state in (OrderState.CANCELED, OrderState.REFUSED):
            return self._result(DispatchStatus.NOTHING_TO_DO, fulfilment, ref, f"order is {state}")
        decision = await self._carrier(fulfilment, ref, api)
        if decision is not None and not decision.sendable:
            return self._carrier_exception(fulfilment, ref, decision)
        return _Plan(fulfilment, ref, api, order, decision, market_lines(order))

    async def _carrier(
        self, fulfilment: Fulfilment, ref: OrderRef, api: MarketplaceDispatchApi
    ) -> CarrierDecision | None:
        if not fulfilment.carrier and not fulfilment.tracking_number:
            return None  # shipped without tracking: OR24 / ST01 without a tracking block
        market = self._settings.marketplace(ref.marketplace)
        registered = await self._references.carriers(api)
        return decide(
            fulfilment.carrier or "",
            carrier_map(self._settings, ref.marketplace),
            registered,
            allow_unregistered=market.allow_unregistered_carriers,
        )

    def _result(
        self, status: DispatchStatus, fulfilment: Fulfilment, ref: OrderRef, detail: str = ""
    ) -> DispatchResult:
        return DispatchResult(status, fulfilment.source_id, ref.marketplace, ref.order_id, detail)

    # ------------------------------------------------------------------ exceptions

    def _report(
        self,
        type_: ExceptionType,
        fulfilment: Fulfilment,
        ref: OrderRef,
        message: str,
        details: dict[str, Any],
    ) -> DispatchResult:
        self._exceptions.record(
            ExceptionReport(
                type=type_,
                owner=OwnerTeam.OPS,
                severity=Severity.ERROR,
                entity_type="order",
                entity_id=ref.order_id,
                marketplace=ref.marketplace,
                message=message,
                details={
                    **details,
                    "fulfilment": fulfilment.source_id,
                    "shopify_order_id": fulfilment.shopify_order_id,
                    "retry": RETRY_SHIPMENTS,
                },
            ),
            self._now(),
        )
        return self._result(DispatchStatus.EXCEPTION, fulfilment, ref, message)

    def _carrier_exception(
        self, fulfilment: Fulfilment, ref: OrderRef, decision: CarrierDecision
    ) -> DispatchResult:
        name = decision.name or "(no carrier name)"
        if decision.outcome == CarrierOutcome.UNKNOWN_CODE:
            message = (
                f"Carrier {name!r} maps to code {decision.code!r}, which {ref.marketplace} does "
                "not list in SH21: fix [carriers] (or this marketplace's carriers), then run "
                f"`{RETRY_SHIPMENTS}`"
            )
        else:
            message = (
                f"Carrier {name!r} maps to no {ref.marketplace} carrier code and the "
                "marketplace takes no unregistered carriers: add it to [carriers] (or to "
                f"[carrier_aliases]), then run `{RETRY_SHIPMENTS}`"
            )
        return self._report(
            ExceptionType.CARRIER_UNMAPPED,
            fulfilment,
            ref,
            message,
            {"carrier": decision.name, "code": decision.code, "outcome": decision.outcome.value},
        )

    def resolve_exceptions(self, ref: OrderRef) -> None:
        for type_ in (
            ExceptionType.CARRIER_UNMAPPED,
            ExceptionType.CARRIER_REJECTED,
            ExceptionType.SHIP_REFUSED,
        ):
            fingerprint = "|".join((type_, ref.marketplace, "order", ref.order_id))
            self._exceptions.resolve(fingerprint, self._now())

    # ------------------------------------------------------------------ OR23 + OR24

    def _tracking_args(self, plan: _Plan) -> dict[str, str | None]:
        decision, f = plan.decision, plan.fulfilment
        assert decision is not None
        registered = decision.outcome == CarrierOutcome.REGISTERED
        return {
            "carrier_code": decision.code if registered else None,
            "carrier_name": None if registered else decision.name,
            "carrier_url": None if registered else f.tracking_url,
            "tracking_number": f.tracking_number,
        }

    async def tracking_phase(self, fulfilment: Fulfilment) -> DispatchResult:
        """Plan, then either ship through ST01 or send OR23 (TRACKING_SENT)."""
        plan = await self._plan(fulfilment)
        if isinstance(plan, DispatchResult):
            return plan
        multi = self._references.multi_shipment(plan.ref.marketplace)
        if multi is not False:
            results = await self._ship_with_st01([plan])
            if results is not None:
                return results[0]
        return await self._send_tracking(plan)

    async def _whole_order_fulfilled(self, plan: _Plan, shipping: list[ShipmentLine]) -> bool:
        if fully_covered(plan.lines, shipping):
            return True
        if self._shop is None:
            return False
        total: dict[str, int] = {}
        for f in await self._shop.fulfillments(plan.fulfilment.shopify_order_id):
            for line in f.get("lines") or []:
                sku = str(line.get("sku") or "")
                total[sku] = total.get(sku, 0) + int(line.get("quantity") or 0)
        return fully_covered(plan.lines, lines_to_ship(total, plan.lines, {}))

    async def _send_tracking(self, plan: _Plan) -> DispatchResult:
        f, ref = plan.fulfilment, plan.ref
        shipping = lines_to_ship(f.skus, plan.lines, {})
        if not await self._whole_order_fulfilled(plan, shipping):
            return self._result(
                DispatchStatus.HELD_PARTIAL,
                f,
                ref,
                "partly fulfilled; without multi-shipment OR24 ships the whole order, so it "
                "waits for the rest of the shop order",
            )
        if plan.decision is None:
            return self._result(DispatchStatus.TRACKING_SENT, f, ref, "no tracking")
        if f.tracking_number and plan.order.get("shipping_tracking") == f.tracking_number:
            return self._result(DispatchStatus.TRACKING_SENT, f, ref, "tracking already set")
        try:
            await plan.api.update_tracking(ref.order_id, **self._tracking_args(plan))
        except PermanentError as exc:
            state = not_yet(str(exc))
            if state is not None:
                return self._wait(f, ref, state)
            if "Current status" in str(exc):
                settled = await self._settled(plan)
                if settled is not None:
                    return settled
            return self._report(
                ExceptionType.CARRIER_REJECTED,
                f,
                ref,
                f"{ref.marketplace} rejected the tracking of order {ref.order_id} "
                f"(carrier {f.carrier!r}, number {f.tracking_number!r}): {exc}. Fix the "
                f"carrier map or the tracking number in Shopify, then run `{RETRY_SHIPMENTS}`",
                {"carrier": f.carrier, "tracking_number": f.tracking_number, "mirakl": str(exc)},
            )
        return self._result(DispatchStatus.TRACKING_SENT, f, ref)

    async def ship_phase(
        self, fulfilment: Fulfilment, marketplace: str, order_id: str
    ) -> DispatchResult:
        """OR24 after OR23, re-reading the order first (a resumed run may find it shipped)."""
        ref = self._index.by_order_id(marketplace, order_id) or OrderRef(
            marketplace, order_id, fulfilment.shopify_order_id, "", ""
        )
        api = self._apis(marketplace)
        try:
            await api.ship_order(order_id)
        except PermanentError as exc:
            waiting = not_yet(str(exc))
            if waiting is not None:
                # Mirakl said why; the order may have moved on since: try again later.
                return self._wait(fulfilment, ref, waiting)
            again = await api.order(order_id)
            state = str((again or {}).get("order_state"))
            if state in SHIPPED_STATES:
                return self._result(DispatchStatus.ALREADY_SHIPPED, fulfilment, ref, state)
            if state in WAITING_STATES:
                return self._wait(fulfilment, ref, state)
            return self._report(
                ExceptionType.SHIP_REFUSED,
                fulfilment,
                ref,
                f"{marketplace} refused to confirm the shipment of {order_id} (order is "
                f"{state}): {exc}",
                {"state": state, "mirakl": str(exc)},
            )
        self.resolve_exceptions(ref)
        return self._result(DispatchStatus.SHIPPED, fulfilment, ref)

    # ------------------------------------------------------------------ ST01

    def _st01_item(self, plan: _Plan, shipping: list[ShipmentLine]) -> dict[str, Any]:
        item: dict[str, Any] = {
            "order_id": plan.ref.order_id,
            "shipment_lines": [
                {
                    "order_line_id": s.order_line_id,
                    "quantity": s.quantity,
                    "package_reference": plan.fulfilment.source_id,
                }
                for s in shipping
            ],
            "shipped": True,
        }
        if plan.decision is not None:
            args = self._tracking_args(plan)
            tracking = {
                "carrier_code": args["carrier_code"],
                "carrier_name": args["carrier_name"],
                "tracking_number": args["tracking_number"],
                "tracking_url": args["carrier_url"],
            }
            item["tracking"] = {k: v for k, v in tracking.items() if v}
        return item

    async def _ship_with_st01(self, plans: Sequence[_Plan]) -> list[DispatchResult] | None:
        """Ship ``plans`` (one marketplace) through ST11/ST01/ST24; None if multi-shipment
        is off there (404), so the caller falls back to OR23 + OR24."""
        if not plans:
            return []
        api, market = plans[0].api, plans[0].ref.marketplace
        try:
            existing = await api.shipments([p.ref.order_id for p in plans])
        except NotFoundError:
            self._references.learn_multi_shipment(market, False)
            return None
        self._references.learn_multi_shipment(market, True)
        shipped: dict[str, dict[str, int]] = {}
        ours: dict[str, list[dict[str, Any]]] = {}
        for s in existing:
            if s.get("status") == "CANCELED":
                continue
            per_line = shipped.setdefault(str(s["order_id"]), {})
            for line in s.get("shipment_lines") or []:
                lid = str(line.get("order_line_id"))
                per_line[lid] = per_line.get(lid, 0) + int(line.get("quantity") or 0)
                ref = line.get("package_reference")
                if ref:
                    ours.setdefault(str(ref), []).append(s)
        results: dict[str, DispatchResult] = {}
        to_create: list[tuple[_Plan, dict[str, Any]]] = []
        to_ship: dict[str, _Plan] = {}
        for plan in plans:
            f = plan.fulfilment
            mine = ours.get(f.source_id)
            if mine:
                pending = [s for s in mine if s.get("status") == "SHIPPING"]
                for s in pending:
                    to_ship[str(s["id"])] = plan
                if not pending:
                    results[f.source_id] = self._result(
                        DispatchStatus.ALREADY_SHIPPED, f, plan.ref, "shipment exists"
                    )
                continue
            shipping = lines_to_ship(f.skus, plan.lines, shipped.get(plan.ref.order_id, {}))
            if not shipping:
                results[f.source_id] = self._result(
                    DispatchStatus.NOTHING_TO_DO, f, plan.ref, "no line left to ship"
                )
                continue
            to_create.append((plan, self._st01_item(plan, shipping)))
        if to_create:
            success, errors = await api.create_shipments([item for _, item in to_create])
            by_order: dict[str, list[dict[str, Any]]] = {}
            for s in success:
                by_order.setdefault(str(s.get("order_id")), []).append(s)
            failed = {str(e.get("order_id")): str(e.get("message") or "") for e in errors}
            for plan, _ in to_create:
                f, ref = plan.fulfilment, plan.ref
                if ref.order_id in failed and ref.order_id not in by_order:
                    results[f.source_id] = await self._st01_error(plan, failed[ref.order_id])
                    continue
                for s in by_order.get(ref.order_id, []):
                    if s.get("status") == "SHIPPING":
                        to_ship[str(s["id"])] = plan
                if f.source_id not in {p.fulfilment.source_id for p in to_ship.values()}:
                    self.resolve_exceptions(ref)
                    results[f.source_id] = self._result(DispatchStatus.SHIPPED, f, ref)
        if to_ship:
            errors = await api.ship_shipments(list(to_ship))
            failed_ids = {str(e.get("id")): str(e.get("message") or "") for e in errors}
            for sid, plan in to_ship.items():
                f = plan.fulfilment
                waiting = not_yet(failed_ids.get(sid, ""))
                if waiting is not None:
                    results[f.source_id] = self._wait(f, plan.ref, waiting)
                elif sid in failed_ids and "SHIPPED" not in failed_ids[sid]:
                    results[f.source_id] = self._report(
                        ExceptionType.SHIP_REFUSED,
                        f,
                        plan.ref,
                        f"{market} refused ST24 for shipment {sid}: {failed_ids[sid]}",
                        {"shipment": sid, "mirakl": failed_ids[sid]},
                    )
                else:
                    self.resolve_exceptions(plan.ref)
                    results[f.source_id] = self._result(DispatchStatus.SHIPPED, f, plan.ref)
        return [results[p.fulfilment.source_id] for p in plans]

    async def _settled(self, plan: _Plan) -> DispatchResult | None:
        """After Mirakl refused a write for the order's state: read it and classify."""
        f, ref = plan.fulfilment, plan.ref
        again = await plan.api.order(ref.order_id)
        state = str((again or {}).get("order_state"))
        if state in WAITING_STATES:
            return self._wait(f, ref, state)
        if state in SHIPPED_STATES:
            return self._result(DispatchStatus.ALREADY_SHIPPED, f, ref, state)
        if state in (OrderState.CANCELED, OrderState.REFUSED):
            return self._result(DispatchStatus.NOTHING_TO_DO, f, ref, f"order is {state}")
        return None

    async def _st01_error(self, plan: _Plan, message: str) -> DispatchResult:
        f, ref = plan.fulfilment, plan.ref
        state = not_yet(message)
        if state is not None:
            return self._wait(f, ref, state)
        if "Current status" in message:
            settled = await self._settled(plan)
            if settled is not None:
                return settled
        kind = (
            ExceptionType.CARRIER_REJECTED
            if "arrier" in message or "tracking" in message
            else ExceptionType.SHIP_REFUSED
        )
        return self._report(
            kind,
            f,
            ref,
            f"{ref.marketplace} refused the shipment of {ref.order_id} (carrier {f.carrier!r}, "
            f"number {f.tracking_number!r}): {message}. Fix it, then run `{RETRY_SHIPMENTS}`",
            {"carrier": f.carrier, "tracking_number": f.tracking_number, "mirakl": message},
        )

    # ------------------------------------------------------------------ in one go

    async def dispatch(self, fulfilment: Fulfilment) -> DispatchResult:
        """Tracking then shipment, in one call (the polling cycle and the benchmark)."""
        return (await self.dispatch_many([fulfilment]))[0]

    async def dispatch_many(self, fulfilments: Sequence[Fulfilment]) -> list[DispatchResult]:
        """Every fulfilment; ST01 shipments of one marketplace go together (1000 a call).

        One fulfilment failing (Mirakl or Shopify unavailable, a call budget without a slot
        within the bound, an unexpected refusal) does not stop the others: it becomes an
        open ``shipment_not_sent`` exception for ops (status EXCEPTION here), tried again by
        later passes (``due_retries``) and resolved once it goes through.
        """
        planned = await asyncio.gather(
            *(self._plan(f) for f in fulfilments), return_exceptions=True
        )
        results: dict[str, DispatchResult] = {}
        not_sent: set[str] = set()
        by_market: dict[str, list[_Plan]] = {}
        for f, item in zip(fulfilments, planned, strict=True):
            if isinstance(item, ExternalSystemError):
                results[f.source_id] = self._not_sent(f, item)
                not_sent.add(f.source_id)
            elif isinstance(item, BaseException):
                raise item
            elif isinstance(item, DispatchResult):
                results[item.source_id] = item
            else:
                by_market.setdefault(item.ref.marketplace, []).append(item)
        for market, plans in by_market.items():
            for result, failed in await self._ship_market(market, plans):
                results[result.source_id] = result
                if failed:
                    not_sent.add(result.source_id)
        failing = (
            self._failures.open_entities(ExceptionType.SHIPMENT_NOT_SENT, OwnerTeam.OPS)
            if fulfilments
            else set()
        )
        waiting = self._waiting.waiting_entities() if fulfilments else set()
        for f in fulfilments:
            result = results[f.source_id]
            if f.source_id in failing and f.source_id not in not_sent:
                # Gone through, or now waiting on something else: the failure is over.
                self._failures.succeeded(self._pass_record(f, self._ref_of(f)))
            if result.status == DispatchStatus.WAITING:
                # Kept for the next passes (INFO: nobody alarmed; escalated past the deadline).
                self._waiting.wait(self._pass_record(f, self._ref_of(f)), result.state or "?")
            elif f.source_id in waiting and f.source_id not in not_sent:
                self._waiting.settled(self._pass_record(f, self._ref_of(f)))
        return [results[f.source_id] for f in fulfilments]

    async def _ship_market(
        self, market: str, plans: list[_Plan]
    ) -> list[tuple[DispatchResult, bool]]:
        """(result, whether it failed) for each plan of one marketplace."""
        if self._references.multi_shipment(market) is not False:
            try:
                st01 = await self._ship_with_st01(plans)
            except ExternalSystemError as exc:
                if len(plans) == 1:
                    return [(self._not_sent(plans[0].fulfilment, exc, plans[0].ref), True)]
                # One order must not hold the others: each alone. ST11 is read again
                # first, so what the failed batch did create is not created twice.
                log.warning("dispatch.batch_failed", marketplace=market, error=str(exc))
                out: list[tuple[DispatchResult, bool]] = []
                for plan in plans:
                    out.extend(await self._ship_market(market, [plan]))
                return out
            if st01 is not None:
                return [(r, False) for r in st01]
        out = []
        for plan in plans:
            try:
                first = await self._send_tracking(plan)
                if first.status == DispatchStatus.TRACKING_SENT:
                    first = await self.ship_phase(plan.fulfilment, market, plan.ref.order_id)
            except ExternalSystemError as exc:
                out.append((self._not_sent(plan.fulfilment, exc, plan.ref), True))
                continue
            out.append((first, False))
        return out

    # ------------------------------------------------------------------ failed in a pass

    def _ref_of(self, fulfilment: Fulfilment) -> OrderRef | None:
        return self._index.by_shopify_order(fulfilment.shopify_order_id)

    def _pass_record(self, fulfilment: Fulfilment, ref: OrderRef | None) -> PassRecord:
        order = f"order {ref.order_id}" if ref else f"shop order {fulfilment.shopify_order_id}"
        return PassRecord(
            type=ExceptionType.SHIPMENT_NOT_SENT,
            owner=OwnerTeam.OPS,
            doing=(
                f"the shipment of {order} (fulfilment {fulfilment.source_id}, carrier "
                f"{fulfilment.carrier!r}, number {fulfilment.tracking_number!r})"
            ),
            retry=RETRY_SHIPMENTS,
            entity_type="fulfilment",
            entity_id=fulfilment.source_id,
            marketplace=ref.marketplace if ref else None,
            order_id=ref.order_id if ref else None,
            record=asdict(fulfilment),
        )

    def _not_sent(
        self, fulfilment: Fulfilment, exc: ExternalSystemError, ref: OrderRef | None = None
    ) -> DispatchResult:
        ref = ref or self._ref_of(fulfilment)
        message = self._failures.failed(self._pass_record(fulfilment, ref), exc)
        return DispatchResult(
            DispatchStatus.EXCEPTION,
            fulfilment.source_id,
            ref.marketplace if ref else None,
            ref.order_id if ref else None,
            message,
        )

    def hand_over(self, fulfilment: Fulfilment, state: str) -> None:
        """A workflow stops waiting: the passes keep trying this fulfilment from here."""
        self._waiting.wait(self._pass_record(fulfilment, self._ref_of(fulfilment)), state)

    def due_retries(self) -> list[Fulfilment]:
        """Fulfilments that failed, or waited for the order's state, in an earlier pass
        and are due to be tried again (each once)."""
        records = (
            self._failures.due(ExceptionType.SHIPMENT_NOT_SENT, OwnerTeam.OPS) + self._waiting.due()
        )
        unique = {Fulfilment(**r).source_id: Fulfilment(**r) for r in records}
        return list(unique.values())
