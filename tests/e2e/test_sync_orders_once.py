"""``mirakl-sync sync orders --once`` as a user runs it: a sandbox process, the CLI, twice."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
from sandbox_process import EXECUTABLE, running_sandbox, write_sandbox_config

from mirakl_sync.sandbox.server import MARKETPLACES, SHOPIFY_TOKEN


def orders_by_state(base: str) -> dict[str, list[str]]:
    """Marketplace order states over OR11 (the sandbox's limits are lifted here)."""
    states: dict[str, list[str]] = {}
    for market in MARKETPLACES:
        body = httpx.get(
            f"{base}/mirakl/{market.code}/api/orders",
            params={"max": 100},
            headers={"Authorization": market.api_key},
        ).json()
        for order in body["orders"]:
            states.setdefault(order["order_state"], []).append(order["order_id"])
    return states


def shop_order_sources(base: str) -> list[str]:
    body = httpx.post(
        f"{base}/admin/api/2026-10/graphql.json",
        json={
            "query": '{ orders(first: 250, query: "source_name:mirakl-sync") '
            "{ nodes { sourceIdentifier } } }"
        },
        headers={"X-Shopify-Access-Token": SHOPIFY_TOKEN},
    ).json()
    return [node["sourceIdentifier"] for node in body["data"]["orders"]["nodes"]]


def test_sync_orders_once_decides_every_waiting_order_and_a_rerun_changes_nothing(
    tmp_path: Path,
) -> None:
    config = write_sandbox_config(
        tmp_path, orders_per_hour=3600, call_frequency_scale=0, call_budget_scale=0
    )
    env = {k: v for k, v in os.environ.items() if k != "MIRAKL_SYNC_CONFIG"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(EXECUTABLE), *args, "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert cli("db", "upgrade").returncode == 0
    with running_sandbox(config) as base:
        deadline = time.monotonic() + 30
        while len(orders_by_state(base).get("WAITING_ACCEPTANCE", [])) < 3:
            assert time.monotonic() < deadline, "the sandbox placed no orders"
            time.sleep(0.5)
        waiting_before = set(orders_by_state(base)["WAITING_ACCEPTANCE"])

        first = cli("sync", "orders", "--once")
        assert first.returncode == 0, first.stderr
        lines = first.stdout.strip().splitlines()
        assert [line.split(":")[0] for line in lines] == [m.code for m in MARKETPLACES]

        still_waiting = set(orders_by_state(base).get("WAITING_ACCEPTANCE", []))
        assert waiting_before.isdisjoint(still_waiting), "an order seen by the cycle is undecided"
        sources = shop_order_sources(base)
        assert len(sources) == len(set(sources))
        accepted = waiting_before - set(orders_by_state(base).get("REFUSED", []))
        assert accepted <= set(sources)

        second = cli("sync", "orders", "--once")
        assert second.returncode == 0, second.stderr
        again = shop_order_sources(base)
        assert len(again) == len(set(again)), "a rerun created a second shop order"
        assert set(sources) <= set(again)
