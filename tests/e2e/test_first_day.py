"""The first day on a shop that already sells (issue 9): the ``existing-shop`` sandbox
seed, a cold hub database, every ``sync <flow> --once`` twice in a row, then ``run``.

The sandbox runs as a process of its own with the demo's time compression (a tenth of
Mirakl's Call Frequency periods, on both sides), its generated customers and its
warehouse (which ships and refunds in batches: several parcels and refunds in the same
second). The hub is the real CLI. What each seeded record should become is written in
``mirakl_sync.sandbox.existing_shop``; the effects are read from ``/sandbox/state``,
which spends none of the hub's API budgets.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_process import EXECUTABLE, running_sandbox, write_sandbox_config

from mirakl_sync.entrypoints.demo import TIME_COMPRESSION
from mirakl_sync.sandbox.seed import build_catalogue, without_barcodes
from mirakl_sync.sandbox.server import MARKETPLACES

pytestmark = pytest.mark.slow

#: Seconds a `--once` run (or doctor) may take before it counts as hung.
ONCE_BOUND = 180
#: How long `run` runs on the seed.
RUN_SECONDS = 75
PRODUCTS = 40
FLOWS = ("orders", "stock", "prices", "offers", "shipments", "refunds")
SHOP_ID_TO_MARKET = {str(m.shop_id): m.code for m in MARKETPLACES}


def first_day_config(directory: Path, database_url: str) -> Path:
    config = write_sandbox_config(
        directory,
        orders_per_hour=360,
        call_frequency_scale=TIME_COMPRESSION,
        call_budget_scale=TIME_COMPRESSION,
    )
    # An hour of acceptance window, on both sides: a slow first run must not let the
    # seed's waiting orders be auto-refused (that would hide what the run did).
    text = config.read_text()
    lines = []
    for line in text.splitlines():
        if line.startswith("database_url ="):
            line = f'database_url = "{database_url}"'
        elif line.startswith("acceptance_window_seconds ="):
            line = "acceptance_window_seconds = 3600"
        elif line.startswith("acceptance_window_hours ="):
            line = "acceptance_window_hours = 1.0"
        lines.append(line)
        if line == "[sandbox]":
            lines += ['seed_name = "existing-shop"', f"products = {PRODUCTS}"]
            if "acceptance_window_seconds =" not in text:
                lines.append("acceptance_window_seconds = 3600")
    config.write_text("\n".join(lines) + "\n")
    return config


class Hub:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.env = {k: v for k, v in os.environ.items() if k != "MIRAKL_SYNC_CONFIG"}
        self.problems: list[str] = []

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(EXECUTABLE), *args, "--config", str(self.config)]
        try:
            return subprocess.run(
                command, env=self.env, capture_output=True, text=True, timeout=ONCE_BOUND
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
            return subprocess.CompletedProcess(command, -9, "", f"TIMEOUT. {out[-2000:]}")

    def step(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a command; a non-zero exit or a hang is noted (the test goes on, so one
        report lists every flow that fails)."""
        result = self.cli(*args)
        if result.returncode != 0:
            tail = " | ".join(result.stderr.strip().splitlines()[-3:])
            what = "hung" if result.returncode == -9 else f"exited {result.returncode}"
            self.problems.append(f"`{' '.join(args)}` {what}: {tail[:600]}")
        return result

    def exceptions(self) -> list[dict[str, Any]]:
        result = self.cli("exceptions", "list", "--status", "open", "--json", "--limit", "1000")
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def state(base: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{base}/sandbox/state", timeout=30).json()
    return body


def market_of(order_id: str) -> str:
    return SHOP_ID_TO_MARKET[order_id[:4]]


def mentions(exceptions: list[dict[str, Any]], *needles: str) -> list[dict[str, Any]]:
    return [e for e in exceptions if any(n in json.dumps(e, default=str) for n in needles)]


def check_seeded_records(
    base: str, seed: dict[str, Any], exceptions: list[dict[str, Any]]
) -> list[str]:
    """What the first day must have done to each seeded record; returns what it did not."""
    failures: list[str] = []
    now = state(base)
    mirakl, shop_orders = now["mirakl"], now["shopify"]["orders"]
    catalogue = without_barcodes(build_catalogue(products=PRODUCTS, seed=42))
    variants = {v.sku: v for _, v in catalogue.variants()}
    sold_out = {sku for sku, v in variants.items() if not sum(v.inventory.values())}

    # Stock and prices: every existing offer, barcode or not. An offer the generated
    # customers bought on meanwhile may already show what it should (a sold item's 0).
    seeded_ids = {o["order_id"] for o in seed["orders"]}
    bought = {
        (code, line["sku"])
        for code, market in mirakl.items()
        for oid, order in market["orders"].items()
        if oid not in seeded_ids
        for line in order["lines"]
    }
    for offer in seed["offers"]:
        code, sku = offer["marketplace"], offer["shop_sku"]
        sent = mirakl[code]["imports"]["STO01"].get(sku)
        label = f"{code} offer {sku} ({'no ' if not offer['has_barcode'] else ''}barcode)"
        if not sent and (code, sku) not in bought:
            failures.append(f"stock: {label} got no STO01 quantity")
        elif (sku in sold_out or sku in seed["sold_items"]) and sent[-1] != "0":
            failures.append(f"stock: {label} is sold out but was sent {sent[-1]}")
        if offer["kind"] == "variant":
            price = mirakl[code]["offers"][sku]["price"]
            if abs(price - float(variants[sku].price)) > 0.005:
                failures.append(f"prices: {label} still at {price}, shop {variants[sku].price}")
    # Offers: unlisted variants are created, or say why not.
    for entry in seed["unlisted"]:
        sku = entry["sku"]
        for market in MARKETPLACES:
            listed = sku in mirakl[market.code]["offers"]
            if entry["has_barcode"] and not listed:
                failures.append(f"offers: {sku} (barcode) not created on {market.code}")
        if not entry["has_barcode"] and not mentions(exceptions, sku):
            failures.append(f"offers: {sku} has no barcode, no offer and no exception")

    by_source = Counter(o["source_identifier"] for o in shop_orders.values())
    for order in seed["orders"]:
        code, oid, purpose = order["marketplace"], order["order_id"], order["purpose"]
        now_order = mirakl[code]["orders"][oid]
        where = f"{purpose} order {code} {oid}"
        if by_source[oid] > 1:
            failures.append(f"orders: {where} has {by_source[oid]} shop orders")
        if purpose == "waiting":
            if now_order["state"] in ("WAITING_ACCEPTANCE", "REFUSED"):
                failures.append(f"orders: {where} is {now_order['state']} (not accepted)")
            if by_source[oid] != 1:
                failures.append(f"orders: {where} has {by_source[oid]} shop orders, not 1")
        elif purpose in ("ship", "ship_unlinked"):
            shipped = now_order["state"] in ("SHIPPED", "RECEIVED", "CLOSED")
            excused = purpose == "ship_unlinked" and mentions(exceptions, oid)
            if not shipped and not excused:
                failures.append(f"shipments: {where} is still {now_order['state']}")
            if shipped and not now_order["tracking_number"]:
                failures.append(f"shipments: {where} shipped without its tracking")
            if mirakl[code]["shipments"].get(oid, 0) > 1:
                failures.append(f"shipments: {where} shipped {mirakl[code]['shipments'][oid]}x")
        elif purpose == "unfulfilled":
            if now_order["state"] != "SHIPPING":
                failures.append(f"shipments: {where} is {now_order['state']}, never fulfilled")
        else:
            for line in now_order["lines"]:
                expected = 1 if line["sku"] in order["refunded_skus"] else 0
                if purpose == "refund_closed":
                    expected = min(expected, len(line["refunds"]))
                if len(line["refunds"]) != expected:
                    failures.append(
                        f"refunds: {where} line {line['sku']} has {len(line['refunds'])} "
                        f"refunds on Mirakl, expected {expected}"
                    )
            if purpose == "refund_closed" and not any(
                line["refunds"] for line in now_order["lines"]
            ):
                finance = [e for e in mentions(exceptions, oid) if e.get("owner") == "finance"]
                if not finance:
                    failures.append(f"refunds: {where} was refused silently (no exception)")
    for gid in seed["web_orders"]:
        legacy = gid.rsplit("/", 1)[-1]
        if shop_orders[legacy]["cancelled"]:
            failures.append(f"web order {gid} was cancelled by the hub")
        if mentions(exceptions, gid, f'"{legacy}"'):
            failures.append(f"web order {gid} became an exception: the hub did not leave it alone")
    return failures


def check_nothing_twice(base: str) -> list[str]:
    """Across every order: no line refunded more often than its shop order was, no
    shop order created twice, no order shipped in more shipments than fulfilments."""
    failures = []
    now = state(base)
    shop = {o["source_identifier"]: o for o in now["shopify"]["orders"].values()}
    counts = Counter(o["source_identifier"] for o in now["shopify"]["orders"].values())
    for code, market in now["mirakl"].items():
        for oid, order in market["orders"].items():
            if counts[oid] > 1:
                failures.append(f"{code} {oid}: {counts[oid]} shop orders")
            refunds = sum(len(line["refunds"]) for line in order["lines"])
            allowed = sum(1 for line in order["lines"])
            if refunds > allowed:
                failures.append(f"{code} {oid}: {refunds} refunds over {allowed} lines")
            fulfilments = shop[oid]["fulfillments"] if oid in shop else 0
            if market["shipments"].get(oid, 0) > max(fulfilments, 1):
                failures.append(f"{code} {oid}: {market['shipments'][oid]} shipments")
    return failures


def check_run(
    base: str, stopped_at: float, exceptions: list[dict[str, Any]], settle: float = 25.0
) -> tuple[list[str], int]:
    """After `run`: what the warehouse fulfilled or refunded (at least ``settle`` s before
    the stop) reached the marketplace, or is an open exception (e.g. a carrier name no map
    knows). Returns the failures and the largest number of fulfilments and refunds made
    in one second."""
    failures = []
    now = state(base)
    per_second: Counter[str] = Counter()
    for shop_order in now["shopify"]["orders"].values():
        oid = shop_order["source_identifier"]
        if not oid or shop_order["source_name"] != "mirakl-sync":
            continue
        for moment in shop_order["fulfilled_at"] + shop_order["refunded_at"]:
            per_second[moment] += 1
        order = now["mirakl"][market_of(oid)]["orders"][oid]
        if mentions(exceptions, oid):
            continue

        def old_enough(moments: list[str]) -> bool:
            return any(datetime.fromisoformat(m).timestamp() < stopped_at - settle for m in moments)

        if old_enough(shop_order["fulfilled_at"]) and order["state"] in ("SHIPPING",):
            lines = [(ln.get("state"), ln.get("quantity")) for ln in order["lines"]]
            failures.append(
                f"run: {oid} fulfilled in Shopify, still SHIPPING on Mirakl "
                f"(lines {lines}; fulfilled at {shop_order['fulfilled_at']})"
            )
        if old_enough(shop_order["refunded_at"]):
            moved = sum(len(ln["refunds"]) + len(ln["cancelations"]) for ln in order["lines"])
            if not moved and order["state"] not in ("CANCELED",):
                failures.append(f"run: {oid} refunded in Shopify, nothing sent to Mirakl")
    return failures, max(per_second.values(), default=0)


def first_day(tmp_path: Path, database_url: str) -> None:
    hub = Hub(first_day_config(tmp_path, database_url))
    failures: list[str] = []
    assert hub.cli("db", "upgrade").returncode == 0
    with running_sandbox(hub.config) as base:
        seed = httpx.get(f"{base}/sandbox/seed").json()
        assert seed["seed"] == "existing-shop"
        hub.step("doctor")
        for flow in FLOWS:
            for _ in range(2):
                hub.step("sync", flow, "--once")
        exceptions = hub.exceptions()
        failures += check_seeded_records(base, seed, exceptions)
        failures += check_nothing_twice(base)

        run_log = hub.config.with_name("run.log")
        with run_log.open("w") as output:
            process = subprocess.Popen(
                [str(EXECUTABLE), "run", "--config", str(hub.config)],
                env=hub.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            try:
                time.sleep(RUN_SECONDS)
                if process.poll() is not None:
                    hub.problems.append(f"`run` exited {process.returncode} early")
            finally:
                stopped_at = time.time()
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    hub.problems.append("`run` did not stop on Ctrl+C within 30 s")
                    process.kill()
                    process.wait()
        ran, busiest = check_run(base, stopped_at, hub.exceptions())
        assert busiest >= 2, "the warehouse never shipped or refunded two in one second"
        failures += ran
        failures += [f"after run: {f}" for f in check_nothing_twice(base)]
    report = hub.problems + failures
    assert not report, "first day on an existing shop:\n" + "\n".join(report)


@pytest.mark.timeout(1800)
def test_first_day_on_an_existing_shop(tmp_path: Path, database_url: str) -> None:
    first_day(tmp_path, database_url)
