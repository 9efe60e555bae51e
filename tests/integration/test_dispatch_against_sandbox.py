"""Dispatch against the in-process sandbox: ST01 and OR23+OR24, carriers, waiting debits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dispatch_env import Env, run, with_kit

from mirakl_sync.domain.exceptions import ExceptionStatus
from mirakl_sync.services.dispatch_types import DispatchStatus
from mirakl_sync.workflows.dispatch import doctor_unmapped_carriers, fulfilment_from_shopify


def fulfil(env: Env, shop_gid: str, company: str, number: str) -> Any:
    env.sandbox.shopify.fulfil_order(shop_gid, company, number)

    async def body(kit: Any) -> Any:
        fs = await kit.shop.fulfillments(shop_gid)
        return await kit.dispatch.dispatch(fulfilment_from_shopify(shop_gid, fs[-1]))

    return run(with_kit(env, body))


def test_multi_shipment_marketplace_ships_through_st01_with_the_aliased_carrier(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("debenhams")[0]
    order_id, shop = run(env.accepted_order("debenhams", [(sku, 1)]))
    result = fulfil(env, shop, "royal-mail 24", "RM123456789GB")
    assert result.status == DispatchStatus.SHIPPED, result
    order = env.mirakl_order("debenhams", order_id)
    assert order.state.value == "SHIPPED"
    shipments = list(env.sandbox.mirakl.market("debenhams").shipments.values())
    assert len(shipments) == 1 and shipments[0].tracking["carrier_code"] == "RM"
    # Running it again (a retried step, the polling safety net) creates nothing more.
    again = fulfil_again(env, shop)
    assert again.status in (DispatchStatus.ALREADY_SHIPPED, DispatchStatus.NOTHING_TO_DO)
    assert len(env.sandbox.mirakl.market("debenhams").shipments) == 1
    env.close()


def fulfil_again(env: Env, shop: str) -> Any:
    async def body(kit: Any) -> Any:
        fs = await kit.shop.fulfillments(shop)
        return await kit.dispatch.dispatch(fulfilment_from_shopify(shop, fs[-1]))

    return run(with_kit(env, body))


def test_without_multi_shipment_or23_then_or24_and_a_rerun_ships_nothing_twice(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("sportshub")[0]
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 2)]))
    result = fulfil(env, shop, "DPD UK", "15501234")
    assert result.status == DispatchStatus.SHIPPED, result
    order = env.mirakl_order("sportshub", order_id)
    assert (order.state.value, order.carrier_code, order.tracking_number) == (
        "SHIPPED",
        "DPD",
        "15501234",
    )
    assert fulfil_again(env, shop).status == DispatchStatus.ALREADY_SHIPPED
    env.close()


def test_an_order_waiting_for_its_debit_waits_then_ships(tmp_path: Path) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("sportshub")[1]
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)], debit=False))
    first = fulfil(env, shop, "Royal Mail", "RM1")
    assert first.status == DispatchStatus.WAITING, first
    assert env.mirakl_order("sportshub", order_id).state.value == "WAITING_DEBIT_PAYMENT" or (
        env.mirakl_order("sportshub", order_id).state.value == "WAITING_DEBIT"
    )
    env.now[0] += 10
    assert fulfil_again(env, shop).status == DispatchStatus.SHIPPED
    env.close()


def test_or24_refused_outside_shipping_is_classified_not_retried_blindly(tmp_path: Path) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("sportshub")[2]
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)], debit=False))

    async def ship(kit: Any) -> Any:
        fs = fulfilment_from_shopify(shop, {"id": 1, "lines": [{"sku": sku, "quantity": 1}]})
        return await kit.dispatch.ship_phase(fs, "sportshub", order_id)

    # WAITING_DEBIT: Mirakl answers 400 "Current status is ..."; the hub waits.
    assert run(with_kit(env, ship)).status == DispatchStatus.WAITING
    # Cancelled in the meantime: OR24 can never pass; ops get an exception.
    env.now[0] += 10
    env.sandbox.shopify.cancel_order(shop)
    run(with_kit(env, lambda kit: kit.cancellations.cancel_order("sportshub", order_id)))
    result = run(with_kit(env, ship))
    assert result.status == DispatchStatus.EXCEPTION
    [record] = [r for r in env.hub.store.exception_log.list() if r.type == "ship_refused"]
    assert "CANCELED" in record.message
    env.close()


def test_an_unmapped_carrier_opens_an_exception_then_ships_once_the_map_is_fixed(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("sportshub")[3]
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)]))
    result = fulfil(env, shop, "Yodel Direct", "JD0001")
    assert result.status == DispatchStatus.EXCEPTION
    [record] = env.hub.store.exception_log.list()
    assert record.type == "carrier_unmapped" and record.owner.value == "ops"
    assert "Yodel Direct" in record.message and "sync shipments --once" in record.message
    assert doctor_unmapped_carriers(env.hub) == ["Yodel Direct"]
    assert env.mirakl_order("sportshub", order_id).state.value == "SHIPPING"
    # Ops add the carrier to the map; the retry ships the same order and closes the exception.
    env.reconfigure(carriers={"Yodel Direct": "EVRI"})
    assert fulfil_again(env, shop).status == DispatchStatus.SHIPPED
    assert env.mirakl_order("sportshub", order_id).carrier_code == "EVRI"
    assert env.hub.store.exception_log.list() == []
    env.close()


def test_an_unregistered_carrier_is_sent_by_name_where_the_marketplace_allows_it(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path, market_overrides={"sportshub": {"allow_unregistered_carriers": True}})
    sku = env.offer_skus("sportshub")[4]
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)]))
    assert fulfil(env, shop, "Yodel Direct", "JD0002").status == DispatchStatus.SHIPPED
    order = env.mirakl_order("sportshub", order_id)
    assert (order.carrier_code, order.carrier_name) == (None, "Yodel Direct")
    env.close()


def test_a_carrier_mirakl_rejects_becomes_an_exception_with_mirakls_message(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path, market_overrides={"sportshub": {"allow_unregistered_carriers": True}})
    # The operator turned unregistered carriers off without the hub's config knowing.
    env.sandbox.mirakl.market("sportshub").config.allow_unregistered_carriers = False
    sku = env.offer_skus("sportshub")[5]
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)]))
    assert fulfil(env, shop, "Yodel Direct", "JD0003").status == DispatchStatus.EXCEPTION
    [record] = env.hub.store.exception_log.list()
    assert record.type == "carrier_rejected"
    assert "does not allow unregistered carriers" in record.message
    assert record.status == ExceptionStatus.OPEN
    assert env.mirakl_order("sportshub", order_id).state.value == "SHIPPING"
    env.close()


def test_a_mapped_code_missing_from_sh21_is_caught_before_calling(tmp_path: Path) -> None:
    env = Env(tmp_path, top={"carriers": {"Parcelforce": "PF48"}})
    sku = env.offer_skus("debenhams")[1]
    _, shop = run(env.accepted_order("debenhams", [(sku, 1)]))
    assert fulfil(env, shop, "Parcelforce", "PF1").status == DispatchStatus.EXCEPTION
    [record] = env.hub.store.exception_log.list()
    assert "PF48" in record.message and record.details["outcome"] == "unknown_code"
    env.close()
