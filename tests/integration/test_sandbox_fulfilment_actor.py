"""The sandbox's fulfilment actor: seeded fates for the hub's shop orders, and the hub
dispatching what it fulfilled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dispatch_env import Env, run

from mirakl_sync.sandbox.fulfilment import ActorSettings, FulfilmentActor
from mirakl_sync.services.dispatch_types import DispatchStatus
from mirakl_sync.workflows.dispatch import run_shipments_cycle

SETTINGS = ActorSettings(delay_seconds=0, cancel_share=0.25, refund_share=0.35, seed=7)


def _orders(env: Env) -> list[str]:
    skus = env.offer_skus("sportshub")
    shops = [run(env.accepted_order("sportshub", [(sku, 1)]))[1] for sku in skus[:6]]
    shops += [env.resale_sale("sportshub", i)[1] for i in range(3)]
    return shops


def _fates(tmp_path: Path) -> tuple[Env, list[tuple[str, str]]]:
    tmp_path.mkdir()
    env = Env(tmp_path)
    _orders(env)
    actor = FulfilmentActor(env.sandbox, SETTINGS, clock=lambda: env.now[0])
    fates = actor.step()
    assert actor.step() == []  # each order gets one fate
    return env, fates


def test_the_actor_gives_every_hub_order_one_seeded_fate(tmp_path: Path) -> None:
    env, fates = _fates(tmp_path / "a")
    other, again = _fates(tmp_path / "b")
    assert [f for _, f in fates] == [f for _, f in again]  # same seed, same fates
    assert len(fates) == 9
    kinds = {f.split(" ")[0] for _, f in fates}
    assert kinds == {"cancelled", "fulfilled"}, fates
    orders = env.sandbox.shopify.data.orders
    for gid, fate in fates:
        order = orders[int(gid.rsplit("/", 1)[-1])]
        assert bool(order.cancelled_at) == (fate == "cancelled")
    assert any("refunded" in f or "Supercycle return" in f for _, f in fates), fates
    other.close()
    env.close()


def test_orders_the_hub_did_not_create_are_left_alone(tmp_path: Path) -> None:
    env = Env(tmp_path)
    actor = FulfilmentActor(env.sandbox, SETTINGS, clock=lambda: env.now[0])
    assert actor.step() == []  # the seed catalogue's own orders carry no sourceIdentifier
    env.close()


def test_the_hub_ships_what_the_actor_fulfilled(tmp_path: Path) -> None:
    env = Env(tmp_path, top={"carriers": {"Royal Mail": "RM", "DPD": "DPD"}})
    _orders(env)
    fates = FulfilmentActor(env.sandbox, SETTINGS, clock=lambda: env.now[0]).step()
    with env.workflows():
        results = run_shipments_cycle(env.settings)
    # A resale item's order is fulfilled twice (Shopify, then its Supercycle cycle): the
    # first ships, the second finds it shipped. Keep each order's best outcome.
    by_order: dict[str, Any] = {}
    for r in results:
        if by_order.get(r.order_id or "") != DispatchStatus.SHIPPED:
            by_order[r.order_id or ""] = r.status
    fulfilled = [f for _, f in fates if f.startswith("fulfilled")]
    mapped = [f for f in fulfilled if "Pigeon Post" not in f]
    shipped = [s for s in by_order.values() if s == DispatchStatus.SHIPPED]
    assert len(shipped) == len(mapped), (fates, results)
    unmapped = [s for s in by_order.values() if s == DispatchStatus.EXCEPTION]
    assert len(unmapped) == len(fulfilled) - len(mapped)
    env.close()


async def _waiting_order(env: Env, sku: str) -> tuple[str, str]:
    """A marketplace order still WAITING_ACCEPTANCE whose shop order already exists (the
    hub created it and has not accepted yet); returns (Mirakl order id, Shopify GID)."""
    order_id = env.sandbox.mirakl.place_order("sportshub", [(sku, 1)])
    async with env.hub.shopify() as shop:
        created = await shop.order_create(
            {
                "sourceIdentifier": order_id,
                "currency": "GBP",
                "lineItems": [
                    {
                        "sku": sku,
                        "title": sku,
                        "quantity": 1,
                        "priceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "GBP"}},
                    }
                ],
            }
        )
    return order_id, str(created.id)


def test_early_fates_act_before_the_hub_accepted_and_say_so(tmp_path: Path) -> None:
    env = Env(tmp_path)
    skus = env.offer_skus("sportshub")
    waiting = [run(_waiting_order(env, sku)) for sku in skus[:6]]
    # A long delay: only the early fates act on this first pass.
    early = ActorSettings(delay_seconds=3600, early_share=1.0, seed=3)
    actor = FulfilmentActor(env.sandbox, early, clock=lambda: env.now[0])
    fates = actor.step()
    assert len(fates) == 6, fates
    assert {f.split(" ")[0] for _, f in fates} <= {"cancelled", "refunded", "fulfilled"}
    assert all(f.endswith("(early)") for _, f in fates), fates
    assert sorted(actor.before_acceptance) == sorted(gid for _, gid in waiting)
    orders = env.sandbox.shopify.data.orders
    for gid, fate in fates:
        order = orders[int(gid.rsplit("/", 1)[-1])]
        assert bool(order.cancelled_at) == fate.startswith("cancelled")
        assert bool(order.refund_ids) == fate.startswith("refunded")
        assert bool(order.fulfillment_ids) == fate.startswith("fulfilled")
    # Without early_share the same orders wait for the delay, as before.
    late = FulfilmentActor(env.sandbox, ActorSettings(delay_seconds=3600, seed=3))
    assert late.step() == []
    env.close()
