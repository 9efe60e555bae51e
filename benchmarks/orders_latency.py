"""Benchmark: hub overhead from an order visible in OR11 to its OR21 acceptance.

Runs the sandbox over HTTP (uvicorn, in a thread) with its 3 marketplaces and generated
customer traffic, and the hub's real runtime (engine, schedules, queues) in this process
against it, for a while; then reads back from the emulators, for every order placed:
acceptance latency (``acceptance_decision_date - created``), duplicates (Shopify orders
per ``sourceIdentifier`` > 1) and missed orders (never accepted or refused by the hub).

Limits lifted (stated in the output): the emulated Mirakl's Call Frequency 429s
(``call_frequency_scale = 0``) and the hub's own call budgets (``call_budget_scale = 0``),
because OR11's real budget (one call a minute per page) cannot carry 10,000 orders an
hour with a 1-second poll. Usage::

    python benchmarks/orders_latency.py [--quick] [--json] [--seconds N] [--poll S]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import uvicorn

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.config import SandboxSettings, load_settings
from mirakl_sync.entrypoints.logs import configure_logging
from mirakl_sync.sandbox.server import (
    MARKETPLACES,
    SHOPIFY_TOKEN,
    SUPERCYCLE_KEY,
    build_sandbox,
    start_traffic,
)
from mirakl_sync.workflows.runtime import start_runtime


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(directory: Path, base: str, poll: float, database_url: str | None) -> Path:
    markets = "".join(
        f'\n[[marketplaces]]\ncode = "{m.code}"\nbase_url = "{base}/mirakl/{m.code}"\n'
        f'api_key = "{m.api_key}"\nshop_id = {m.shop_id}\ncall_budget_scale = 0\n'
        f"order_poll_seconds = {poll}\norder_overlap_seconds = 30\n"
        for m in MARKETPLACES
    )
    path = directory / "mirakl-sync.toml"
    url = database_url or f"sqlite:///{directory / 'hub.db'}"
    path.write_text(
        f'database_url = "{url}"\n'
        f'[shopify]\nshop = "fjellrev.myshopify.com"\naccess_token = "{SHOPIFY_TOKEN}"\n'
        f'base_url = "{base}"\n'
        f'[supercycle]\nbase_url = "{base}/supercycle/api/v1"\napi_key = "{SUPERCYCLE_KEY}"\n'
        f'[engine]\nexecutor_id = "bench"\nworker_concurrency = 8\n'
        f'[logging]\nlevel = "WARNING"\n' + markets
    )
    return path


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def run(seconds: float, poll: float, orders_per_hour: float) -> dict[str, Any]:
    sandbox = build_sandbox(
        SandboxSettings(
            orders_per_hour=orders_per_hour, call_frequency_scale=0, acceptance_window_seconds=3600
        )
    )
    port = _port()
    server = uvicorn.Server(
        uvicorn.Config(sandbox.app, host="127.0.0.1", port=port, log_level="error")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    directory = Path(tempfile.mkdtemp(prefix="orders-bench-"))
    settings = load_settings(_config(directory, f"http://127.0.0.1:{port}", poll, None))
    configure_logging(settings)  # WARNING and up, on stderr: stdout carries the JSON
    upgrade_database(settings.database_url)
    runtime = start_runtime(settings, role="hub")
    stop = threading.Event()
    started = time.time()
    start_traffic(sandbox, stop)
    time.sleep(seconds)
    stop.set()
    placed_until = time.time()
    # Drain: give the hub two poll intervals plus slack to finish what was placed.
    time.sleep(2 * poll + 5)
    runtime.stop()
    server.should_exit = True
    latencies: list[float] = []
    missed = 0
    placed = 0
    for market in MARKETPLACES:
        for order in sandbox.mirakl.market(market.code).orders.values():
            if order.created < started or order.created > placed_until:
                continue
            placed += 1
            if order.acceptance_decision_date is None:
                missed += 1
            else:
                latencies.append(order.acceptance_decision_date - order.created)
    per_source = Counter(o.source_identifier for o in sandbox.shopify.data.orders.values())
    duplicates = sum(n - 1 for n in per_source.values() if n > 1)
    elapsed = placed_until - started
    return {
        "poll_seconds": poll,
        "orders_per_hour_offered": orders_per_hour,
        "run_seconds": round(elapsed, 1),
        "orders_placed": placed,
        "orders_decided": len(latencies),
        "latency_p50_s": _percentile(latencies, 0.50),
        "latency_p95_s": _percentile(latencies, 0.95),
        "latency_p99_s": _percentile(latencies, 0.99),
        "latency_mean_s": round(statistics.fmean(latencies), 3) if latencies else None,
        "duplicates": duplicates,
        "missed": missed,
        "decided_per_second": round(len(latencies) / elapsed, 2) if elapsed else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--orders-per-hour", type=float, default=10_000.0)
    args = parser.parse_args()
    seconds = args.seconds or (25.0 if args.quick else 180.0)
    result = {
        "benchmark": "orders_latency",
        "quick": args.quick,
        "database": "sqlite",
        "limits_lifted": [
            "emulated Mirakl Call Frequency 429s (call_frequency_scale=0)",
            "hub call budgets (call_budget_scale=0)",
        ],
        **run(seconds, args.poll, args.orders_per_hour),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
