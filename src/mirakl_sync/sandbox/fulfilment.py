"""The sandbox's warehouse and customer service: what happens to orders after the hub.

For every Shopify order the hub created from a marketplace order (``sourceIdentifier``
set), some time after the actor first sees it, the actor draws one fate:

* most are fulfilled with tracking, mostly under carrier names the demo config maps
  ("Royal Mail", "DPD"), some under an alias ("Royal Mail 24"), a few under a name no
  map knows (so the demo shows the unmapped-carrier exception);
* a few are cancelled (-> OR29 / OR30 and stock back to the pool);
* a few are fulfilled, then refunded (-> OR28); when the order sold a Supercycle item
  (its line SKU is the item's serial), the item's resale cycle is created and fulfilled
  and a Supercycle return is opened instead, which the hub refunds on its trigger;
* with ``early_share``, that share of orders is acted on the moment the actor first sees
  its shop order (cancelled, refunded without a parcel, or fulfilled, in equal shares):
  the hub creates the shop order before it accepts on Mirakl, so these usually act before
  the acceptance landed, as a quick warehouse or customer service does. Which ones did is
  in ``before_acceptance`` (the Mirakl order was still waiting acceptance then).

The draws come from a seeded ``random.Random``, so a seed gives the same fates in the
same order. ``start_fulfilment_actor`` runs it in a daemon thread, like the traffic
generator (``sandbox.server.start_traffic``).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from mirakl_sync.config import SandboxSettings
from mirakl_sync.sandbox.existing_shop import ExistingShop
from mirakl_sync.sandbox.mirakl import MiraklEmulator
from mirakl_sync.sandbox.shopify import ShopifyEmulator
from mirakl_sync.sandbox.supercycle import SupercycleEmulator


class Systems(Protocol):
    """The emulated systems the warehouse acts on (``server.Sandbox`` is one): the server
    starts the actor, and the actor never imports the server back."""

    mirakl: MiraklEmulator
    shopify: ShopifyEmulator
    supercycle: SupercycleEmulator
    settings: SandboxSettings
    seeded: ExistingShop | None


#: Carrier names as a warehouse types them, with their weights.
CARRIER_NAMES: tuple[tuple[str, int], ...] = (
    ("Royal Mail", 40),
    ("DPD", 30),
    ("Royal Mail 24", 20),
    ("Pigeon Post Ltd", 10),
)


@dataclass(frozen=True)
class ActorSettings:
    #: Seconds between the actor first seeing an order and acting on it.
    delay_seconds: float = 30.0
    #: Shares of the fates; what is left after these is fulfilled.
    cancel_share: float = 0.05
    refund_share: float = 0.08
    #: Share of orders acted on at once (cancel, refund or fulfil), before the delay.
    early_share: float = 0.0
    seed: int = 0


@dataclass
class FulfilmentActor:
    sandbox: Systems
    settings: ActorSettings = field(default_factory=ActorSettings)
    clock: Callable[[], float] = time.time
    #: Shopify order id -> when first seen (acted-on orders are removed from ``waiting``).
    waiting: dict[int, float] = field(default_factory=dict)
    done: set[int] = field(default_factory=set)
    #: (Shopify order GID, fate) in the order acted on.
    log: list[tuple[str, str]] = field(default_factory=list)
    #: Shopify order GIDs acted on while their Mirakl order was still waiting acceptance.
    before_acceptance: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.settings.seed)
        # A generator of its own, so early_share leaves the other fates' draws as they were.
        self.early_rng = random.Random(f"{self.settings.seed}-early")

    def step(self) -> list[tuple[str, str]]:
        """One pass: act on every order old enough; returns what was done."""
        now = self.clock()
        acted: list[tuple[str, str]] = []
        orders = self.sandbox.shopify.data.orders
        for order_id in sorted(orders):
            order = orders[order_id]
            if order_id in self.done or not order.source_identifier:
                continue
            early = order_id not in self.waiting and self._draw_early()
            first = self.waiting.setdefault(order_id, now)
            if not early and now - first < self.settings.delay_seconds:
                continue
            del self.waiting[order_id]
            self.done.add(order_id)
            gid = f"gid://shopify/Order/{order_id}"
            if order.cancelled_at:
                continue
            skus = [li.sku or "" for li in order.line_items]
            try:
                if early:
                    waiting = self._waiting_acceptance(order.source_identifier)
                    fate = self._act_early(gid)
                    if waiting:
                        self.before_acceptance.append(gid)
                else:
                    fate = self._act(gid, skus)
            except (KeyError, ValueError) as exc:  # the order changed under us: leave it
                fate = f"skipped: {exc}"
            acted.append((gid, fate))
        self.log.extend(acted)
        return acted

    def _draw_early(self) -> bool:
        return self.settings.early_share > 0 and self.early_rng.random() < self.settings.early_share

    def _waiting_acceptance(self, source_identifier: str) -> bool:
        """Whether the Mirakl order the shop order stands for still waits acceptance."""
        from mirakl_sync.domain.marketplace_order import OrderState

        mirakl = self.sandbox.mirakl

        def state() -> bool:
            for market in mirakl.marketplaces:
                order = mirakl.market(market.code).orders.get(source_identifier)
                if order is not None:
                    return order.state == OrderState.WAITING_ACCEPTANCE
            return False

        return mirakl.read(state)

    def _act_early(self, gid: str) -> str:
        shopify = self.sandbox.shopify
        kind = self.early_rng.choice(("cancelled", "refunded", "fulfilled"))
        if kind == "cancelled":
            shopify.cancel_order(gid)
            return "cancelled (early)"
        if kind == "refunded":
            # Nothing shipped yet: the goods go back on the shelf.
            shopify.refund_order(gid, restock_type="CANCEL")
            return "refunded (early)"
        carrier = self.early_rng.choice(("Royal Mail", "DPD"))
        number = f"{carrier[:2].upper()}{self.early_rng.randrange(10**8, 10**9)}GB"
        shopify.fulfil_order(gid, carrier, number)
        return f"fulfilled ({carrier}) (early)"

    def _act(self, gid: str, skus: list[str]) -> str:
        shopify = self.sandbox.shopify
        draw = self.rng.random()
        if draw < self.settings.cancel_share:
            shopify.cancel_order(gid)
            return "cancelled"
        carrier = self.rng.choices(
            [name for name, _ in CARRIER_NAMES], [w for _, w in CARRIER_NAMES]
        )[0]
        number = f"{carrier[:2].upper()}{self.rng.randrange(10**8, 10**9)}GB"
        shopify.fulfil_order(gid, carrier, number)
        if draw < self.settings.cancel_share + self.settings.refund_share:
            if self._supercycle_return(gid, skus):
                return f"fulfilled ({carrier}), Supercycle return"
            shopify.refund_order(gid)
            return f"fulfilled ({carrier}), refunded"
        return f"fulfilled ({carrier})"

    def _supercycle_return(self, gid: str, skus: list[str]) -> bool:
        """A resale cycle for the sold item, fulfilled, then returned; False if the order
        sold no Supercycle item (or the item cannot carry a cycle)."""
        from mirakl_sync.adapters.supercycle.models import MethodType

        supercycle = self.sandbox.supercycle
        state = supercycle.state
        by_serial = {item.serial: item.id for item in state.items.values()}
        item_id = next((by_serial[s] for s in skus if s in by_serial), None)
        if item_id is None or not state.is_bookable(item_id, state.today(), None):
            return False
        legacy = int(gid.rsplit("/", 1)[-1])
        cycle = supercycle.create_rental(
            item_id, method_type=MethodType.RESALE, shopify_order_id=legacy
        )
        supercycle.fulfil_rental(cycle.id)
        supercycle.create_return([cycle.id])
        return True


def start_fulfilment_actor(
    sandbox: Systems,
    stop: threading.Event,
    *,
    interval_seconds: float = 5.0,
    settings: ActorSettings | None = None,
    actor: FulfilmentActor | None = None,
) -> threading.Thread:
    """Run a :class:`FulfilmentActor` (``actor``, or one with ``settings``) every
    ``interval_seconds`` until ``stop`` is set."""
    if actor is None:
        actor = FulfilmentActor(sandbox, settings or ActorSettings(seed=sandbox.settings.seed))
    if sandbox.seeded is not None:
        # The seed's orders are history, with the fates the seed gave them.
        actor.done.update(sandbox.seeded.shopify_order_ids())

    def loop() -> None:
        while not stop.wait(interval_seconds):
            actor.step()

    thread = threading.Thread(target=loop, name="sandbox-fulfilment", daemon=True)
    thread.start()
    return thread
