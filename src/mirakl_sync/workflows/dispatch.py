"""Dispatch, cancellation and refund workflows, keyed by their source.

* ``mirakl_sync.dispatch_fulfilment`` (id ``dispatch:<fulfilment source>``): tracking
  (or ST01), then OR24, each a durable step; an order waiting for its debit is retried
  after a durable sleep. A crash between OR23 and OR24 resumes with OR24 only.
* ``mirakl_sync.refund_source`` (id ``refund:<source key>``): OR28 once (see
  ``services.refunds``), then follows ``refund_state`` through OR11 until REFUNDED.
* ``mirakl_sync.cancel_order`` (id ``cancel:<marketplace>:<order>``).
* Schedules ``shipments-poll`` / ``refunds-poll`` run the polling safety nets, and
  ``run_shipments_once`` / ``run_refunds_once`` one such pass for ``sync
  shipments|refunds --once``: see ``workflows.safety_net`` (re-exported here).

``handle_shopify_webhook(topic, payload, headers)`` is the web receiver's callback: it
dedupes by ``X-Shopify-Event-Id`` and starts the right workflow.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from typing import Any, TypeVar

import structlog

from mirakl_sync.adapters.store.dispatch import SqlMarketplaceOrderIndex
from mirakl_sync.bootstrap import DispatchServices, Hub
from mirakl_sync.config import Settings
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.recent_keys import RecentKeys
from mirakl_sync.services.cancellations import CancelStatus
from mirakl_sync.services.dispatch_types import (
    DispatchStatus,
    Fulfilment,
)
from mirakl_sync.services.refunds import (
    REFUNDED,
    SHIP_FIRST_DETAIL,
    RefundSource,
    RefundStatus,
)
from mirakl_sync.services.shop_feed import (
    fulfilment_from_shopify,
    split_shop_refund,
)
from mirakl_sync.workflows.engine import (
    Engine,
    durable_sleep,
    start_workflow,
    step,
    workflow,
)
from mirakl_sync.workflows.flow_context import current_flow_context, flow_context

log = structlog.get_logger(__name__)
T = TypeVar("T")

QUEUE = "dispatch"
#: How often a refund held for its order's shipment looks again.
SHIP_FIRST_POLL_SECONDS = 5.0
#: How many tries while an order waits for its debit (``FlowContext.wait_seconds`` apart).
WAIT_TRIES = 24 * 60
#: How many refund_state reads (``FlowContext.follow_seconds`` apart).
FOLLOW_TRIES = 12 * 24
#: Test hook: when this environment variable is set, the process dies (``os._exit``)
#: right after OR23 is checkpointed and before OR24, so the crash test kills a real
#: worker at the one point that matters. Never set it in production.
CRASH_AFTER_TRACKING_ENV = "MIRAKL_SYNC_TEST_CRASH_AFTER_OR23"


def _run(body: Callable[[DispatchServices], Coroutine[Any, Any, T]]) -> T:
    return flow_context().run_dispatch(body)


# --------------------------------------------------------------------------- dispatch


@step(name="mirakl_sync.dispatch.tracking", retries=5, interval_seconds=5.0)
def tracking_step(fulfilment: dict[str, Any]) -> dict[str, Any]:
    f = Fulfilment(**fulfilment)
    return asdict(_run(lambda kit: kit.dispatch.tracking_phase(f)))


@step(name="mirakl_sync.dispatch.ship", retries=5, interval_seconds=5.0)
def ship_step(fulfilment: dict[str, Any], marketplace: str, order_id: str) -> dict[str, Any]:
    f = Fulfilment(**fulfilment)
    return asdict(_run(lambda kit: kit.dispatch.ship_phase(f, marketplace, order_id)))


@step(name="mirakl_sync.dispatch.hand_over", retries=5, interval_seconds=5.0)
def dispatch_hand_over_step(fulfilment: dict[str, Any], state: str) -> None:
    async def body(kit: DispatchServices) -> None:
        kit.dispatch.hand_over(Fulfilment(**fulfilment), state)

    _run(body)


@workflow(name="mirakl_sync.dispatch_fulfilment")
def dispatch_fulfilment(fulfilment: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for _ in range(WAIT_TRIES):
        result = tracking_step(fulfilment)
        if result["status"] == DispatchStatus.TRACKING_SENT:
            if os.environ.get(CRASH_AFTER_TRACKING_ENV):
                os._exit(86)
            for _ in range(WAIT_TRIES):
                result = ship_step(fulfilment, result["marketplace"], result["order_id"])
                if result["status"] != DispatchStatus.WAITING:
                    return result
                durable_sleep(flow_context().wait_seconds)
            break
        if result["status"] != DispatchStatus.WAITING:
            return result
        durable_sleep(flow_context().wait_seconds)
    if result.get("status") == DispatchStatus.WAITING:
        # Waited WAIT_TRIES tries: the passes keep it from here (issue 10: it used to end
        # here, lost), and tell ops if it is still blocked past the deadline.
        dispatch_hand_over_step(fulfilment, str(result.get("state") or ""))
    return result


def start_dispatch(f: Fulfilment) -> str:
    workflow_id = f"dispatch:{f.source_id}"
    start_workflow(dispatch_fulfilment, asdict(f), workflow_id=workflow_id)
    return workflow_id


# --------------------------------------------------------------------------- refunds


@step(name="mirakl_sync.refund.send", retries=5, interval_seconds=10.0)
def refund_step(source: dict[str, Any]) -> dict[str, Any]:
    s = RefundSource(**source)
    r = _run(lambda kit: kit.refunds.refund(s))
    return {"status": r.status.value, "refund_ids": list(r.refund_ids), "detail": r.detail}


@step(name="mirakl_sync.refund.states", retries=3, interval_seconds=10.0)
def refund_states_step(marketplace: str, order_id: str, ids: list[str]) -> dict[str, str]:
    return _run(lambda kit: kit.refunds.refund_states(marketplace, order_id, tuple(ids)))


@step(name="mirakl_sync.refund.hand_over", retries=5, interval_seconds=10.0)
def refund_hand_over_step(source: dict[str, Any], state: str) -> None:
    async def body(kit: DispatchServices) -> None:
        kit.refunds.hand_over(RefundSource(**source), state)

    _run(body)


@workflow(name="mirakl_sync.refund_source")
def refund_source(source: dict[str, Any]) -> dict[str, Any]:
    result = refund_step(source)
    # Not accepted or not debited yet (issue 10): sleep durably and try again; the step
    # reads the stored state first, so a wait spends no Mirakl call.
    for _ in range(WAIT_TRIES):
        if result["status"] != RefundStatus.WAITING:
            break
        # Held for its lines' shipment (``[refunds] ship_first_seconds``): that comes in
        # seconds.
        shipping = result.get("detail") == SHIP_FIRST_DETAIL
        wait = flow_context().wait_seconds
        durable_sleep(min(SHIP_FIRST_POLL_SECONDS, wait) if shipping else wait)
        result = refund_step(source)
    if result["status"] == RefundStatus.WAITING:
        refund_hand_over_step(source, str(result["detail"]))  # the passes go on with it
        return result
    if result["status"] not in (RefundStatus.SENT, RefundStatus.ALREADY_SENT):
        return result
    states: dict[str, str] = {}
    for _ in range(FOLLOW_TRIES):
        states = refund_states_step(source["marketplace"], source["order_id"], result["refund_ids"])
        if states and all(v == REFUNDED for v in states.values()):
            break
        durable_sleep(flow_context().follow_seconds)
    return {**result, "refund_states": states}


def start_refund(source: RefundSource) -> str:
    workflow_id = f"refund:{source.key}"
    start_workflow(refund_source, asdict(source), workflow_id=workflow_id)
    return workflow_id


# --------------------------------------------------------------------------- cancellations


@step(name="mirakl_sync.cancel.send", retries=5, interval_seconds=10.0)
def cancel_step(marketplace: str, order_id: str, skus: dict[str, int] | None) -> dict[str, Any]:
    async def body(kit: DispatchServices) -> Any:
        if skus:
            return await kit.cancellations.cancel_skus(marketplace, order_id, skus)
        return await kit.cancellations.cancel_order(marketplace, order_id)

    return asdict(_run(body))


@step(name="mirakl_sync.cancel.hand_over", retries=5, interval_seconds=10.0)
def cancel_hand_over_step(
    marketplace: str, order_id: str, skus: dict[str, int] | None, state: str
) -> None:
    async def body(kit: DispatchServices) -> None:
        kit.cancellations.hand_over(marketplace, order_id, skus or None, state)

    _run(body)


@workflow(name="mirakl_sync.cancel_order")
def cancel_order(marketplace: str, order_id: str, skus: dict[str, int] | None) -> dict[str, Any]:
    result = cancel_step(marketplace, order_id, skus)
    # Not accepted yet (issue 10: it used to be dropped as "already"): sleep, try again.
    for _ in range(WAIT_TRIES):
        if result["status"] != CancelStatus.WAITING:
            break
        durable_sleep(flow_context().wait_seconds)
        result = cancel_step(marketplace, order_id, skus)
    if result["status"] == CancelStatus.WAITING:
        cancel_hand_over_step(marketplace, order_id, skus, str(result["detail"]))
    return result


# --------------------------------------------------------------------------- polling

# The safety-net passes live in ``workflows.safety_net`` (which uses the kit above):
# importing it here registers their workflows in every engine process before launch, and
# keeps their names importable from this module.
from mirakl_sync.workflows import safety_net  # noqa: E402
from mirakl_sync.workflows.pass_sources import (  # noqa: E402
    collect_cycle_fulfilments,
    refund_supercycle_returns,
)
from mirakl_sync.workflows.safety_net import (  # noqa: E402
    refunds_poll,
    run_refunds_cycle,
    run_shipments_cycle,
    shipments_poll,
)

# Listed for the type checker (names re-exported from another module must be); nothing
# star-imports this module.
__all__ = [
    "collect_cycle_fulfilments",
    "refund_supercycle_returns",
    "refunds_poll",
    "run_refunds_cycle",
    "run_shipments_cycle",
    "shipments_poll",
]


# --------------------------------------------------------------------------- webhooks

#: Shopify event ids delivered lately (a delivery repeated within the hour is dropped here;
#: one that gets through still runs nothing twice: the workflow id is the source id).
_SEEN_EVENTS = RecentKeys(max_keys=10_000, ttl_seconds=3600.0)


def handle_shopify_webhook(
    topic: str, payload: dict[str, Any], headers: dict[str, str]
) -> str | None:
    """Start the workflow for a Shopify webhook; returns its workflow id (None: ignored).

    Duplicates (same ``X-Shopify-Event-Id``) are dropped here, and the workflow id is the
    source id, so a duplicate that gets through still runs nothing twice.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    event_id = lowered.get("x-shopify-event-id")
    if event_id and _SEEN_EVENTS.seen(event_id, time.time()):
        return None
    context = current_flow_context()
    if context is None:
        return None
    index = SqlMarketplaceOrderIndex(context.hub.store.engine)
    order_id = str(payload.get("order_id") or payload.get("id") or "")
    if topic == "fulfillments/create":
        return start_dispatch(fulfilment_from_shopify(order_id, payload))
    ref = index.by_shopify_order(order_id)
    if ref is None:
        return None
    if topic == "refunds/create":
        source, cancelled = split_shop_refund(ref.marketplace, ref.order_id, payload)
        if cancelled:
            start_workflow(
                cancel_order,
                ref.marketplace,
                ref.order_id,
                cancelled,
                workflow_id=f"cancel:{ref.marketplace}:{ref.order_id}:{payload.get('id')}",
            )
        return start_refund(source) if source else None
    if topic == "orders/cancelled":
        workflow_id = f"cancel:{ref.marketplace}:{ref.order_id}"
        start_workflow(cancel_order, ref.marketplace, ref.order_id, None, workflow_id=workflow_id)
        return workflow_id
    return None


# --------------------------------------------------------------------------- registration


def register(engine: Engine, settings: Settings) -> None:
    """The dispatch queue, and the polling safety nets' schedules (``[safety_net]``)."""
    engine.register_queue(QUEUE, worker_concurrency=settings.engine.worker_concurrency)
    safety_net.register(engine, settings.safety_net)


def doctor_unmapped_carriers(hub: Hub) -> list[str]:
    """Carrier names seen in open ``carrier_unmapped`` exceptions (for ``doctor``)."""
    names = {
        str(record.details.get("carrier"))
        for record in hub.store.exception_log.list(limit=1000)
        if record.type == ExceptionType.CARRIER_UNMAPPED
        and record.details.get("carrier") is not None
    }
    return sorted(names)
