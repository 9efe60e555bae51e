"""Supercycle against the in-process sandbox: a return refunds the marketplace order on
the configured trigger, once; a cycle fulfilled in Supercycle ships the marketplace order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dispatch_env import Env

from mirakl_sync.adapters.supercycle.models import MethodType
from mirakl_sync.services.dispatch_types import DispatchStatus
from mirakl_sync.workflows.dispatch import run_refunds_cycle, run_shipments_cycle

USED, DAMAGED = 2, 3


def refunds_on(env: Env, market: str, order_id: str) -> list[Any]:
    return [r for ln in env.mirakl_order(market, order_id).lines for r in ln.refunds]


@pytest.mark.parametrize(
    ("trigger", "condition", "refunded_at"),
    [
        ("received", DAMAGED, "received"),
        ("inspection_passed", USED, "received"),
        ("inspection_passed", DAMAGED, "never"),
        ("restocked", USED, "restocked"),
    ],
)
def test_a_supercycle_return_refunds_on_its_trigger_once(
    tmp_path: Path, trigger: str, condition: int, refunded_at: str
) -> None:
    env = Env(tmp_path, top={"refunds": {"supercycle_trigger": trigger}})
    supercycle = env.sandbox.supercycle
    order_id, shop, item_id, _ = env.resale_sale("debenhams", 0)
    legacy = int(shop.rsplit("/", 1)[-1])
    cycle = supercycle.create_rental(
        item_id, method_type=MethodType.RESALE, shopify_order_id=legacy
    )
    supercycle.fulfil_rental(cycle.id)
    with env.workflows():
        [line] = supercycle.create_return([cycle.id]).lines
        run_refunds_cycle(env.settings)
        assert refunds_on(env, "debenhams", order_id) == []  # requested, not received

        supercycle.receive_return_line(line.id, condition)
        statuses = run_refunds_cycle(env.settings)
        expected = 1 if refunded_at == "received" else 0
        assert len(refunds_on(env, "debenhams", order_id)) == expected, statuses

        supercycle.restock_item(item_id)
        run_refunds_cycle(env.settings)
        # Polled again and again (every pass sees the line): still one refund at most.
        statuses = run_refunds_cycle(env.settings)
        refunds = refunds_on(env, "debenhams", order_id)
        assert len(refunds) == (0 if refunded_at == "never" else 1), statuses
        if refunds:
            line_price = env.mirakl_order("debenhams", order_id).lines[0].price
            assert refunds[0].amount == pytest.approx(line_price)
            assert statuses == ["already_sent"]
    env.close()


@pytest.mark.parametrize("market", ["debenhams", "sportshub"])
def test_a_cycle_fulfilled_in_supercycle_ships_the_marketplace_order_once(
    tmp_path: Path, market: str
) -> None:
    env = Env(tmp_path)
    supercycle = env.sandbox.supercycle
    order_id, shop, item_id, _ = env.resale_sale(market, 1)
    legacy = int(shop.rsplit("/", 1)[-1])
    cycle = supercycle.create_rental(
        item_id, method_type=MethodType.RESALE, shopify_order_id=legacy
    )
    # A cycle of a shop order that is not a marketplace order is none of dispatch's business.
    _, _, other_item, _ = env.resale_sale(market, 2)
    other = supercycle.create_rental(other_item, method_type=MethodType.RESALE)
    supercycle.fulfil_rental(other.id)
    with env.workflows():
        assert run_shipments_cycle(env.settings) == []  # nothing fulfilled yet
        supercycle.fulfil_rental(cycle.id)
        [result] = run_shipments_cycle(env.settings)
        assert result.status == DispatchStatus.SHIPPED, result
        assert result.source_id == f"supercycle-cycle:{cycle.id}"
        assert env.mirakl_order(market, order_id).state.value == "SHIPPED"
        # The next pass reads the cycle again (overlap) and ships nothing twice.
        [again] = run_shipments_cycle(env.settings)
        assert again.status in (DispatchStatus.ALREADY_SHIPPED, DispatchStatus.NOTHING_TO_DO)
    shipments = env.sandbox.mirakl.market(market).shipments
    assert len(shipments) == (1 if market == "debenhams" else 0)
    env.close()
