"""The soak's truth: what the emulators hold after a run, counted and checked.

Read in-process from the sandbox the soak serves (``benchmarks/soak.py``), never through
the hub: the Mirakl emulator knows each order's state, its OR21 decisions (its request
log), shipments, refunds and cancellations; the Shopify emulator its orders, fulfilments,
refunds and cancellations; Supercycle its items' visibility. The hub's own database is
read only for what no emulator can know: when the hub first saw an order (to tell an
order the hub let expire from one it never saw) and the exceptions it recorded.

Each check names the order it is about. The failures (``FAILING``) are the ones issue 10
says must never happen: a duplicate, a loss (a fulfilment, cancellation or refund made in
Shopify missing on Mirakl), a double effect, an oversell, an item left sold, an order the
hub let expire.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from mirakl_sync.adapters.supercycle.models import Visibility
from mirakl_sync.domain.marketplace_order import LineState, OrderState
from mirakl_sync.sandbox.server import MARKETPLACES, Sandbox

#: Mirakl order states in which the order is no longer a sale (nothing to ship or refund).
NOT_LIVE = {OrderState.REFUSED, OrderState.CANCELED}
SHIPPED = {OrderState.SHIPPED, OrderState.RECEIVED, OrderState.CLOSED}
DEAD_LINES = {LineState.REFUSED, LineState.CANCELED}
#: Anomaly kinds that fail the soak (exit code 1).
FAILING = (
    "duplicate_shop_order",
    "double_acceptance",
    "double_shipment",
    "double_refund",
    "shipment_lost",
    "cancellation_lost",
    "refund_lost",
    "item_sold_twice",
    "item_left_sold",
    "expired_by_hub",
    "paid_not_followed",
    "cancel_not_followed",
)
#: Mirakl states of an order whose customer was debited (the hub marks its shop order paid).
PAID = {OrderState.SHIPPING, OrderState.SHIPPED, OrderState.RECEIVED, OrderState.CLOSED}
#: Shopify financial statuses of an order nobody marked paid (nor refunded).
UNPAID = {"PENDING", "AUTHORIZED", "PARTIALLY_PAID"}


@dataclass
class Anomaly:
    kind: str
    order: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "order": self.order, "detail": self.detail}


@dataclass
class MiraklOrder:
    market: str
    order_id: str
    state: OrderState
    created: float
    accepted: bool
    shipments: int
    #: Per line: (offer SKU, line state, refunds, cancelled quantity).
    lines: list[tuple[str, LineState, int, int]] = field(default_factory=list)

    @property
    def cancelled(self) -> bool:
        return self.state == OrderState.CANCELED or (
            bool(self.lines) and all(c > 0 or s == LineState.CANCELED for _, s, _, c in self.lines)
        )

    @property
    def live(self) -> bool:
        return self.state not in NOT_LIVE and not self.cancelled


def mirakl_orders(sandbox: Sandbox) -> dict[str, MiraklOrder]:
    """Every order of every emulated marketplace (read under the emulator's lock)."""

    def view() -> dict[str, MiraklOrder]:
        out: dict[str, MiraklOrder] = {}
        for market in MARKETPLACES:
            state = sandbox.mirakl.market(market.code)
            shipments: Counter[str] = Counter(s.order_id for s in state.shipments.values())
            for order in state.orders.values():
                out[order.order_id] = MiraklOrder(
                    market=market.code,
                    order_id=order.order_id,
                    state=order.state,
                    created=order.created,
                    accepted=order.accepted_at is not None,
                    shipments=shipments[order.order_id],
                    lines=[
                        (
                            ln.offer_sku,
                            ln.state,
                            len(ln.refunds),
                            sum(c.quantity for c in ln.cancelations),
                        )
                        for ln in order.lines
                    ],
                )
        return out

    return sandbox.mirakl.read(view)


def decisions_per_order(sandbox: Sandbox) -> Counter[str]:
    """Successful OR21 calls per order, as they reached the emulator (lost replies too)."""
    return Counter(
        r.path.get("order_id", "")
        for r in list(sandbox.mirakl.request_log)
        if r.op_id == "OR21" and 200 <= r.status < 300
    )


def waiting_acceptance(sandbox: Sandbox) -> int:
    def view() -> int:
        return sum(
            1
            for market in MARKETPLACES
            for o in sandbox.mirakl.market(market.code).orders.values()
            if o.state == OrderState.WAITING_ACCEPTANCE
        )

    return sandbox.mirakl.read(view)


def fingerprint(sandbox: Sandbox) -> tuple[Any, ...]:
    """A summary that changes whenever anything the soak counts changes (drain's 'settled')."""
    orders = mirakl_orders(sandbox)
    shop = list(sandbox.shopify.data.orders.values())
    return (
        tuple(sorted(Counter(o.state.value for o in orders.values()).items())),
        sum(o.shipments for o in orders.values()),
        sum(r for o in orders.values() for _, _, r, _ in o.lines),
        sum(c for o in orders.values() for _, _, _, c in o.lines),
        len(shop),
        sum(len(o.fulfillment_ids) for o in shop),
        sum(len(o.refund_ids) for o in shop),
        sum(1 for o in shop if o.cancelled_at),
        sum(1 for i in sandbox.supercycle.state.items.values() if i.visibility == Visibility.SOLD),
    )


def tally(
    sandbox: Sandbox,
    *,
    before_acceptance: list[str],
    supercycle_returns: set[str],
    hub_first_seen: dict[str, float],
    hub_exceptions: dict[str, list[str]],
    hub_refusals: dict[str, list[str]],
    window_seconds: float,
    seen_margin_seconds: float,
) -> tuple[dict[str, Any], list[Anomaly]]:
    """The counts the soak prints, and every anomaly with its order id.

    ``supercycle_returns``: Mirakl order ids whose item the warehouse returned through
    Supercycle (the hub refunds those on its trigger, which the soak does not reach, so
    they are counted, never called lost). ``hub_first_seen``: order id -> epoch seconds the
    hub first stored it. ``hub_exceptions``: order id -> the exception types the hub
    recorded about it. ``hub_refusals``: order id -> why the hub refused its lines (its
    stored decisions: ``no_stock``, ``sold_elsewhere``, ``cancelled_in_shop``...).
    """
    anomalies: list[Anomaly] = []
    orders = mirakl_orders(sandbox)
    decisions = decisions_per_order(sandbox)
    data = sandbox.shopify.data
    shop_by_source: dict[str, list[Any]] = defaultdict(list)
    for shop_order in list(data.orders.values()):
        if shop_order.source_identifier in orders:
            shop_by_source[shop_order.source_identifier].append(shop_order)
    early = {gid.rsplit("/", 1)[-1] for gid in before_acceptance}

    counts: Counter[str] = Counter()
    refused_reasons: Counter[str] = Counter()
    for oid, order in orders.items():
        counts["placed"] += 1
        decided = decisions[oid]
        if decided > 1:
            anomalies.append(Anomaly("double_acceptance", oid, f"{decided} OR21 accepted"))
        if order.accepted:
            counts["accepted"] += 1
        elif order.state == OrderState.REFUSED and decided:
            counts["refused_by_hub"] += 1
            # The hub's own reasons first (a refusal for no stock, or of an order the
            # warehouse cancelled before the acceptance, is on purpose: no exception is due).
            reasons = hub_refusals.get(oid) or hub_exceptions.get(oid) or ["no reason recorded"]
            for reason in reasons:
                refused_reasons[reason] += 1
        elif order.state == OrderState.REFUSED:
            counts["auto_refused_by_marketplace"] += 1
            seen = hub_first_seen.get(oid)
            deadline = order.created + window_seconds
            if seen is not None and seen <= deadline - seen_margin_seconds:
                anomalies.append(
                    Anomaly(
                        "expired_by_hub",
                        oid,
                        f"seen {seen - order.created:.0f} s after creation, "
                        f"window {window_seconds:.0f} s",
                    )
                )
            elif seen is None:
                anomalies.append(Anomaly("expired_unseen", oid, "never stored by the hub"))
        elif order.state == OrderState.WAITING_ACCEPTANCE:
            counts["still_waiting"] += 1

        shops = shop_by_source.get(oid, [])
        if len(shops) > 1:
            ids = ", ".join(str(s.id) for s in shops)
            anomalies.append(Anomaly("duplicate_shop_order", oid, f"Shopify orders {ids}"))
        live_shops = [s for s in shops if not s.cancelled_at] or shops
        fulfilments = sum(len(s.fulfillment_ids) for s in live_shops)
        shop_refunds = sum(len(s.refund_ids) for s in shops)
        shop_cancelled = bool(shops) and all(s.cancelled_at for s in shops)
        before = any(str(s.id) in early for s in shops)
        if before:
            counts["acted_on_before_acceptance"] += 1

        # Fulfilled in Shopify -> shipped on Mirakl.
        if fulfilments and not shop_cancelled:
            counts["fulfilled_in_shopify"] += 1
            if order.state in SHIPPED or order.shipments:
                counts["shipped_on_mirakl"] += 1
            elif order.live and "carrier_unmapped" in hub_exceptions.get(oid, []):
                # The warehouse typed a carrier no map knows: the hub holds the parcel and
                # tells the operator (by design, not a loss).
                counts["shipment_held_carrier_unmapped"] += 1
            elif order.live and order.accepted:
                anomalies.append(
                    Anomaly("shipment_lost", oid, f"fulfilled in Shopify, {order.state.value}")
                )
            elif order.state == OrderState.WAITING_ACCEPTANCE:
                counts["fulfilled_waiting_acceptance"] += 1
            else:
                anomalies.append(
                    Anomaly(
                        "fulfilled_order_not_live",
                        oid,
                        f"fulfilled in Shopify, {order.state.value} on Mirakl",
                    )
                )
        if order.shipments > max(fulfilments, 1):
            anomalies.append(
                Anomaly(
                    "double_shipment",
                    oid,
                    f"{order.shipments} shipments for {fulfilments} fulfilment(s)",
                )
            )

        # Cancelled in Shopify -> cancelled (or refused) on Mirakl.
        if shop_cancelled:
            counts["cancelled_in_shopify"] += 1
            if not order.live:
                counts["cancelled_or_refused_on_mirakl"] += 1
            elif order.state == OrderState.WAITING_ACCEPTANCE:
                counts["cancelled_waiting_acceptance"] += 1
            else:
                anomalies.append(
                    Anomaly(
                        "cancellation_lost",
                        oid,
                        f"cancelled in Shopify{' before acceptance' if before else ''}, "
                        f"{order.state.value} on Mirakl",
                    )
                )

        # The marketplace's changes followed in Shopify: a debited order's shop order is
        # marked paid, a cancelled or refused one's is cancelled (the follow-ups).
        if order.state in PAID and live_shops and not shop_cancelled:
            counts["paid_on_mirakl"] += 1
            if all(s.financial_status in UNPAID for s in live_shops):
                anomalies.append(
                    Anomaly("paid_not_followed", oid, f"{order.state.value}, shop order unpaid")
                )
        if order.state in NOT_LIVE and shops:
            counts["not_live_on_mirakl_with_a_shop_order"] += 1
            if not shop_cancelled and not shop_refunds:
                anomalies.append(
                    Anomaly(
                        "cancel_not_followed",
                        oid,
                        f"{order.state.value} on Mirakl, shop order still open",
                    )
                )

        # Refunded in Shopify -> refunded on Mirakl (when the customer paid).
        mirakl_refunds = [r for _, _, r, _ in order.lines]
        if shop_refunds and not shop_cancelled:
            counts["refunded_in_shopify"] += 1
            if any(mirakl_refunds):
                counts["refunded_on_mirakl"] += 1
            elif order.accepted and order.live:
                anomalies.append(
                    Anomaly(
                        "refund_lost",
                        oid,
                        f"refunded in Shopify{' before acceptance' if before else ''}, "
                        f"no OR28 on Mirakl ({order.state.value})",
                    )
                )
            elif not order.live:
                counts["refunded_order_not_live_on_mirakl"] += 1
            else:
                counts["refunded_waiting_acceptance"] += 1
        if oid in supercycle_returns:
            counts["supercycle_returns"] += 1
            if any(mirakl_refunds):
                counts["supercycle_returns_refunded_on_mirakl"] += 1
        allowed = shop_refunds + (1 if oid in supercycle_returns else 0)
        if any(r > allowed for r in mirakl_refunds):
            anomalies.append(
                Anomaly(
                    "double_refund",
                    oid,
                    f"{max(mirakl_refunds)} OR28 refunds on one line for {allowed} refund(s)",
                )
            )

    items = _unique_items(sandbox, orders, anomalies)
    acceptances = Counter(decisions[oid] for oid in orders)
    shop_orders_per_order = Counter(len(shop_by_source.get(oid, [])) for oid in orders)
    figures: dict[str, Any] = {
        "orders": {
            key: counts[key]
            for key in (
                "placed",
                "accepted",
                "refused_by_hub",
                "auto_refused_by_marketplace",
                "still_waiting",
                "acted_on_before_acceptance",
            )
        },
        "refused_by_hub_reasons": dict(refused_reasons.most_common()),
        "shopify_orders_per_marketplace_order": {
            str(k): v for k, v in sorted(shop_orders_per_order.items())
        },
        "acceptances_per_order": {str(k): v for k, v in sorted(acceptances.items())},
        "refunds_per_source": {
            "shopify": counts["refunded_in_shopify"],
            "shopify_refunded_on_mirakl": counts["refunded_on_mirakl"],
            "supercycle_return": counts["supercycle_returns"],
            "supercycle_return_refunded_on_mirakl": counts["supercycle_returns_refunded_on_mirakl"],
        },
        "fulfilled_in_shopify_vs_shipped_on_mirakl": [
            counts["fulfilled_in_shopify"],
            counts["shipped_on_mirakl"],
        ],
        "cancelled_in_shopify_vs_cancelled_on_mirakl": [
            counts["cancelled_in_shopify"],
            counts["cancelled_or_refused_on_mirakl"],
        ],
        "refunded_in_shopify_vs_refunded_on_mirakl": [
            counts["refunded_in_shopify"],
            counts["refunded_on_mirakl"],
        ],
        "paid_on_mirakl": counts["paid_on_mirakl"],
        "not_live_on_mirakl_with_a_shop_order": counts["not_live_on_mirakl_with_a_shop_order"],
        "shipments_held_for_an_unmapped_carrier": counts["shipment_held_carrier_unmapped"],
        "not_yet_decided_after_drain": {
            "fulfilled": counts["fulfilled_waiting_acceptance"],
            "cancelled": counts["cancelled_waiting_acceptance"],
            "refunded": counts["refunded_waiting_acceptance"],
        },
        "refunded_in_shopify_order_not_live_on_mirakl": counts["refunded_order_not_live_on_mirakl"],
        "unique_items": items,
    }
    return figures, anomalies


def _unique_items(
    sandbox: Sandbox, orders: dict[str, MiraklOrder], anomalies: list[Anomaly]
) -> dict[str, int]:
    """Supercycle items (offer SKU = serial) sold twice, or left sold with no live sale."""
    items = {i.serial: i for i in sandbox.supercycle.state.items.values() if i.serial}
    holders: dict[str, list[str]] = defaultdict(list)
    every: dict[str, list[str]] = defaultdict(list)
    for oid, order in orders.items():
        for sku, line_state, _, cancelled in order.lines:
            if sku not in items:
                continue
            every[sku].append(oid)
            if order.state == OrderState.WAITING_ACCEPTANCE:
                holders[sku].append(oid)  # still being decided: the hub may hold it
            elif order.accepted and line_state not in DEAD_LINES and not cancelled:
                holders[sku].append(oid)
    sold_twice = left_sold = 0
    for serial, holding in holders.items():
        decided = [o for o in holding if orders[o].state != OrderState.WAITING_ACCEPTANCE]
        if len(decided) > 1:
            sold_twice += 1
            for oid in decided:
                anomalies.append(Anomaly("item_sold_twice", oid, f"item {serial}"))
    for serial, oids in every.items():
        if items[serial].visibility == Visibility.SOLD and not holders.get(serial):
            left_sold += 1
            # Every order of the item, oldest first: the one that left it sold is seldom the
            # last (that one is refused for want of the item).
            story = "; ".join(
                f"{o} {orders[o].state.value}{' accepted' if orders[o].accepted else ''}"
                f" {'/'.join(str(ls.value) for sku, ls, _, _ in orders[o].lines if sku == serial)}"
                for o in oids
            )
            anomalies.append(
                Anomaly(
                    "item_left_sold",
                    oids[-1],
                    f"item {serial} sold, no live sale holds it; its orders: {story}",
                )
            )
    return {
        "ordered": len(every),
        "sold_twice": sold_twice,
        "left_sold_after_cancellation": left_sold,
    }
