"""The dispatch workflows under the engine (SQLite): a real crash between OR23 and OR24,
the runtime driving a fulfilment and a Shopify refund, and ``sync shipments|refunds
--once`` through the CLI, all against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from dispatch_env import CallCounter, Env, run, served, to_toml, with_kit

from mirakl_sync.workflows.dispatch import (
    CRASH_AFTER_TRACKING_ENV,
    fulfilment_from_shopify,
    split_shop_refund,
    start_dispatch,
    start_refund,
)
from mirakl_sync.workflows.runtime import start_runtime

pytestmark = pytest.mark.timeout(90)

EXECUTABLE = Path(sys.executable).with_name("mirakl-sync")

# A worker process running ``dispatch_fulfilment`` under its own engine, so it can die
# for real (os._exit) between OR23 and OR24 and be restarted with the same executor id.
WORKER = """
import json
import sys

from mirakl_sync.bootstrap import bootstrap
from mirakl_sync.config import settings_from_mapping
from mirakl_sync.workflows import dispatch
from mirakl_sync.workflows.engine import Engine, engine_config_from_settings, start_workflow
from mirakl_sync.workflows.flow_context import FlowContext, set_flow_context

CONFIG, FULFILMENT, MODE = sys.argv[1:4]
settings = settings_from_mapping(json.loads(open(CONFIG).read()), env={})
set_flow_context(FlowContext(settings, bootstrap(settings)))
fulfilment = json.loads(FULFILMENT)
workflow_id = "dispatch:" + fulfilment["source_id"]
with Engine(engine_config_from_settings(settings, executor_id="solo")) as engine:
    if MODE == "recover":
        # Launch already resumed this executor's PENDING workflow: wait for it.
        result = engine.retrieve(workflow_id).result()
    else:
        result = start_workflow(
            dispatch.dispatch_fulfilment, fulfilment, workflow_id=workflow_id
        ).result()
    steps = [s.name for s in engine.list_steps(workflow_id)]
    print(json.dumps({"result": result, "steps": steps}))
"""


def _worker(
    script: Path, config: Path, fulfilment: dict[str, Any], mode: str, *, crash: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_AFTER_TRACKING_ENV}
    if crash:
        env[CRASH_AFTER_TRACKING_ENV] = "1"
    return subprocess.run(
        [sys.executable, str(script), str(config), json.dumps(fulfilment), mode],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "PYTHONUNBUFFERED": "1"},
        check=False,
    )


def _last_json(out: str) -> dict[str, Any]:
    return dict(json.loads(out.strip().splitlines()[-1]))


def _shop_fulfilment(env: Env, shop: str) -> dict[str, Any]:
    async def body(kit: Any) -> Any:
        return (await kit.shop.fulfillments(shop))[-1]

    return asdict(fulfilment_from_shopify(shop, run(with_kit(env, body))))


def test_a_worker_killed_between_or23_and_or24_resumes_with_or24_only(tmp_path: Path) -> None:
    env = Env(tmp_path)
    counter = CallCounter(env.sandbox.app)
    sku = env.offer_skus("sportshub")[0]  # sportshub: no multi-shipment, so OR23 + OR24
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)]))
    env.sandbox.shopify.fulfil_order(shop, "Royal Mail", "RM100200300GB")
    fulfilment = _shop_fulfilment(env, shop)
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    config = tmp_path / "hub.json"
    tracking, ship = f"/orders/{order_id}/tracking", f"/orders/{order_id}/ship"
    with served(counter) as base:
        config.write_text(json.dumps(env.raw_for(base)), encoding="utf-8")
        env.forget_call_budgets()

        crashed = _worker(script, config, fulfilment, "start", crash=True)
        assert crashed.returncode == 86, crashed.stderr
        order = env.mirakl_order("sportshub", order_id)
        assert (order.state.value, order.tracking_number) == ("SHIPPING", "RM100200300GB")
        assert (counter.count("PUT", tracking), counter.count("PUT", ship)) == (1, 0)

        recovered = _worker(script, config, fulfilment, "recover")
        assert recovered.returncode == 0, recovered.stderr
        outcome = _last_json(recovered.stdout)
        assert outcome["result"]["status"] == "shipped", outcome
        assert env.mirakl_order("sportshub", order_id).state.value == "SHIPPED"
        # OR23 is not sent again: the checkpoint of the tracking step is reused.
        assert (counter.count("PUT", tracking), counter.count("PUT", ship)) == (1, 1)
        assert outcome["steps"].count("mirakl_sync.dispatch.tracking") == 1
        assert outcome["steps"].count("mirakl_sync.dispatch.ship") == 1

        # Started again (a duplicate webhook): the stored result, no call at all.
        again = _worker(script, config, fulfilment, "start")
        assert again.returncode == 0, again.stderr
        assert _last_json(again.stdout)["result"]["status"] == "shipped"
        assert (counter.count("PUT", tracking), counter.count("PUT", ship)) == (1, 1)
    env.close()


def test_the_runtime_dispatches_a_fulfilment_and_follows_a_refund_to_refunded(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    a, b = env.offer_skus("debenhams")[:2]
    order_id, shop = run(env.accepted_order("debenhams", [(a, 1), (b, 1)]))
    env.sandbox.shopify.fulfil_order(shop, "DPD UK", "15509999")
    fulfilment = _shop_fulfilment(env, shop)
    # The passes at start are off: this test follows the webhook's workflow, and a refunds
    # pass racing it would send the same OR28 first (once, as it should), leaving the
    # workflow nothing to refund.
    settings = env.settings.model_copy(
        update={
            "engine": env.settings.engine.model_copy(update={"executor_id": "rt-1"}),
            "safety_net": env.settings.safety_net.model_copy(update={"pass_at_start": False}),
        }
    )
    with env.workflows(follow_seconds=0.2):
        runtime = start_runtime(
            settings,
            flow_modules=("mirakl_sync.workflows.dispatch",),
            context=env.flow_context(settings, follow_seconds=0.2),
        )
        try:
            workflow_id = start_dispatch(fulfilment_from_shopify(shop, _raw(fulfilment)))
            result = runtime.engine.retrieve(workflow_id).result()
            assert result["status"] == "shipped", result
            assert env.mirakl_order("debenhams", order_id).state.value == "SHIPPED"
            [shipment] = env.sandbox.mirakl.market("debenhams").shipments.values()
            assert shipment.tracking["carrier_code"] == "DPD"

            # The customer returns one item; the shop refunds it.
            refund_gid = env.sandbox.shopify.refund_order(shop, {a: 1})

            async def refunds(kit: Any) -> Any:
                return await kit.shop.refunds(shop)

            [shop_refund] = run(with_kit(env, refunds))
            assert str(shop_refund["id"]).rsplit("/", 1)[-1] == refund_gid.rsplit("/", 1)[-1]
            source, cancelled = split_shop_refund("debenhams", order_id, shop_refund)
            assert source is not None and cancelled == {} and source.skus == {a: 1}
            handle = runtime.engine.retrieve(start_refund(source))
            deadline = time.monotonic() + 30
            while not _refunds(env, order_id) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(_refunds(env, order_id)) == 1
            env.now[0] += 120  # the operator pays the refund: refund_state REFUNDED
            followed = handle.result()
            assert followed["status"] == "sent"
            assert set(followed["refund_states"].values()) == {"REFUNDED"}
            # The same refund again (webhook duplicate): the same workflow, nothing sent.
            assert runtime.engine.retrieve(start_refund(source)).result() == followed
            assert len(_refunds(env, order_id)) == 1
        finally:
            runtime.stop()
    env.close()


def _raw(fulfilment: dict[str, Any]) -> dict[str, Any]:
    """Back from a ``Fulfilment`` dict to the shape ``fulfilment_from_shopify`` reads."""
    return {
        "id": fulfilment["source_id"].rsplit(":", 1)[-1],
        "lines": [{"sku": k, "quantity": v} for k, v in fulfilment["skus"].items()],
        "tracking": [
            {
                "company": fulfilment["carrier"],
                "number": fulfilment["tracking_number"],
                "url": fulfilment["tracking_url"],
            }
        ],
    }


def _refunds(env: Env, order_id: str) -> list[Any]:
    return [r for ln in env.mirakl_order("debenhams", order_id).lines for r in ln.refunds]


def test_sync_shipments_and_refunds_once_through_the_cli(tmp_path: Path) -> None:
    env = Env(tmp_path)
    a, b = env.offer_skus("sportshub")[:2]
    shipped, shop_shipped = run(env.accepted_order("sportshub", [(a, 1)]))
    unmapped, shop_unmapped = run(env.accepted_order("sportshub", [(b, 1)]))
    env.sandbox.shopify.fulfil_order(shop_shipped, "Royal Mail 24", "RM1")
    env.sandbox.shopify.fulfil_order(shop_unmapped, "Pigeon Post", "PP1")
    config = tmp_path / "mirakl-sync.toml"
    cli_env = {k: v for k, v in os.environ.items() if k != "MIRAKL_SYNC_CONFIG"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(EXECUTABLE), *args, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            env=cli_env,
            check=False,
        )

    with served(env.sandbox.app) as base:
        config.write_text(to_toml(env.raw_for(base)), encoding="utf-8")
        env.forget_call_budgets()
        out = cli("sync", "shipments", "--once")
        assert out.returncode == 0, out.stdout + out.stderr
        summary = out.stdout.strip().splitlines()[-1]
        assert summary == "shipments: 2 checked (1 exception, 1 shipped)", out.stdout
        assert env.mirakl_order("sportshub", shipped).state.value == "SHIPPED"
        assert env.mirakl_order("sportshub", unmapped).state.value == "SHIPPING"
        [record] = env.hub.store.exception_log.list()
        assert record.type == "carrier_unmapped" and record.details["carrier"] == "Pigeon Post"

        env.sandbox.shopify.refund_order(shop_shipped, {a: 1})
        env.forget_call_budgets()
        out = cli("sync", "refunds", "--once")
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.strip().splitlines()[-1] == "refund sources: 1 checked (1 sent)"
        refunds = [r for ln in env.mirakl_order("sportshub", shipped).lines for r in ln.refunds]
        assert len(refunds) == 1
        again = cli("sync", "refunds", "--once")
        # Run again, it re-reads both orders and finds nothing new since they were handled.
        assert again.stdout.strip().splitlines()[-1] == (
            "refund sources: 0 checked; 2 shop orders read again with nothing new since the "
            "last pass"
        )
    env.close()
