"""Benchmark: does one embedded hub keep up with its order flow under faults? (issue 10)

The operator's bad day, order flow only: the sandbox (``mirakl-sync sandbox``: 3
marketplaces, Shopify, Supercycle) places ``--orders-per-hour`` customer orders while
``--error-rate`` of every request the hub makes answers 500 and ``--timeout-rate`` hangs
``--timeout-seconds`` before it is served; ONE ``mirakl-sync run`` (SQLite, every flow on
its schedule, as an operator runs it) decides the orders. No kills: the soak
(``benchmarks/soak.py``) adds those; this measures capacity.

Measured over ``--minutes`` after a warm-up, then a drain of at most ``--drain-minutes``
while the traffic goes on (the hub stays under the same load until the last measured
order is decided):

- ``orders_placed``/``decided``/``still_waiting``: orders created in the window, and of
  them, those the hub accepted or refused, and those it had not decided at the end;
- ``latency_p50_s``/``p99``/``max``: ``acceptance_decision_date - created_date`` as the
  emulated Mirakl records them (decided orders only), against ``acceptance_window_s``
  (the sandbox auto-refuses an order nobody decided in that time: ``expired``);
- ``decided_per_hour``: decisions the hub made per hour over the window and drain;
- ``backlog``: ``[seconds since the window opened, orders WAITING_ACCEPTANCE]`` every
  ``--sample-seconds`` (all orders, whenever created): a backlog that grows is a hub that
  does not keep up.

The hub keeps its real call budgets (OR11 once a minute per marketplace, the Shopify
plan's query budget); the emulated Mirakl's own 429s are lifted (``call_frequency_scale
= 0``) so this script's reads never take the hub's slots. Reads made by this script go
through the same faults, so they are retried. Usage::

    python benchmarks/orders_under_faults.py [--minutes 10] [--json]
    python benchmarks/orders_under_faults.py --quick   # 3 minutes, to try it
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from orders_latency import EXECUTABLE, Processes, _iso, _parse, _percentile, _port

from mirakl_sync.sandbox.server import MARKETPLACES, SHOP_DOMAIN, SHOPIFY_TOKEN, SUPERCYCLE_KEY


def _write_config(directory: Path, args: argparse.Namespace, sandbox_port: int) -> Path:
    base = f"http://127.0.0.1:{sandbox_port}"
    window_hours = args.window_seconds / 3600
    markets = "".join(
        f'\n[[marketplaces]]\ncode = "{m.code}"\nbase_url = "{base}/mirakl/{m.code}"\n'
        f'api_key = "{m.api_key}"\nshop_id = {m.shop_id}\n'
        f"partial_acceptance = {str(m.partial_acceptance).lower()}\n"
        f"acceptance_window_hours = {window_hours!r}\n"
        for m in MARKETPLACES
    )
    path = directory / "mirakl-sync.toml"
    path.write_text(
        f'database_url = "sqlite:///{directory / "hub.db"}"\n'
        f'[shopify]\nshop = "{SHOP_DOMAIN}"\naccess_token = "{SHOPIFY_TOKEN}"\n'
        f'base_url = "{base}"\n'
        f'[supercycle]\nbase_url = "{base}/supercycle/api/v1"\napi_key = "{SUPERCYCLE_KEY}"\n'
        f"[web]\nport = {_port()}\n"
        + (
            f"[engine]\nworker_concurrency = {args.worker_concurrency}\n"
            if args.worker_concurrency
            else ""
        )
        + '[logging]\nlevel = "WARNING"\n'
        f"[sandbox]\nport = {sandbox_port}\n"
        f"orders_per_hour = {args.orders_per_hour:g}\n"
        f"error_rate = {args.error_rate}\ntimeout_rate = {args.timeout_rate}\n"
        f"timeout_seconds = {args.timeout_seconds}\n"
        f"acceptance_window_seconds = {args.window_seconds:g}\n"
        "call_frequency_scale = 0\n" + markets,
        encoding="utf-8",
    )
    return path


def _get(http: httpx.Client, url: str, **kwargs: Any) -> dict[str, Any]:
    """GET through the sandbox's faults: a 500 or a hang (5 s) is retried."""
    for _ in range(30):
        try:
            response = http.get(url, timeout=5.0, **kwargs)
        except httpx.TransportError:
            continue
        if response.status_code < 500:
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body
    raise RuntimeError(f"{url}: no answer through the faults after 30 tries")


def _waiting_now(http: httpx.Client, base: str) -> int:
    total = 0
    for market in MARKETPLACES:
        body = _get(
            http,
            f"{base}/mirakl/{market.code}/api/orders",
            params={"max": 1, "order_state_codes": "WAITING_ACCEPTANCE"},
            headers={"Authorization": market.api_key},
        )
        total += int(body["total_count"])
    return total


def _orders_since(http: httpx.Client, base: str, start: float) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    for market in MARKETPLACES:
        offset = 0
        while True:
            body = _get(
                http,
                f"{base}/mirakl/{market.code}/api/orders",
                params={"max": 100, "offset": offset, "start_date": _iso(start)},
                headers={"Authorization": market.api_key},
            )
            page = body["orders"]
            orders.extend({**o, "_market": market.code} for o in page)
            if len(page) < 100:
                break
            offset += 100
    return orders


def run(args: argparse.Namespace) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="orders-faults-"))
    port = _port()
    config = _write_config(directory, args, port)
    procs = Processes(directory)
    base = f"http://127.0.0.1:{port}"
    try:
        procs.start("upgrade", [str(EXECUTABLE), "db", "upgrade", "--config", str(config)])
        procs.running["upgrade"].wait(timeout=120)
        procs.running.pop("upgrade")
        procs.start("sandbox", [str(EXECUTABLE), "sandbox", "--config", str(config)])
        procs.start("hub", [str(EXECUTABLE), "run", "--config", str(config)])
        with httpx.Client() as http:
            deadline = time.monotonic() + 90
            while True:
                try:
                    http.get(f"http://127.0.0.1:{_web_port(config)}/", timeout=2)
                    break
                except httpx.TransportError:
                    if procs.running["hub"].poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"hub did not start:\n{procs.log('hub')}") from None
                    time.sleep(0.3)
            start = time.time() + args.warmup_seconds
            end = start + args.minutes * 60
            backlog: list[list[float]] = []
            drain_end = end + args.drain_minutes * 60
            next_sample = start
            while True:
                now = time.time()
                if now >= next_sample:
                    backlog.append([round(now - start), _waiting_now(http, base)])
                    next_sample += args.sample_seconds
                if now >= end:
                    created = [
                        o
                        for o in _orders_since(http, base, start - 1)
                        if start <= _parse(o["created_date"]) <= end
                    ]
                    undecided = [o for o in created if not o.get("acceptance_decision_date")]
                    if not undecided or now >= drain_end:
                        break
                time.sleep(min(5.0, max(0.0, next_sample - time.time())))
            finished = time.time()
            orders = _orders_since(http, base, start - 1)
    finally:
        procs.stop_all()
    window = [o for o in orders if start <= _parse(o["created_date"]) <= end]
    decided = [o for o in window if o.get("acceptance_decision_date")]
    latencies = [_parse(o["acceptance_decision_date"]) - _parse(o["created_date"]) for o in decided]
    # The emulated Mirakl dates an auto-refusal at created + window exactly.
    expired = sum(1 for latency in latencies if latency >= args.window_seconds - 0.5)
    decisions_in_run = [
        o
        for o in orders
        if o.get("acceptance_decision_date")
        and start <= _parse(o["acceptance_decision_date"]) <= finished
    ]
    return {
        "orders_per_hour": args.orders_per_hour,
        "error_rate": args.error_rate,
        "timeout_rate": args.timeout_rate,
        "timeout_seconds": args.timeout_seconds,
        "acceptance_window_s": args.window_seconds,
        "measured_seconds": args.minutes * 60,
        "drain_seconds": round(finished - end, 1),
        "orders_placed": len(window),
        "decided": len(decided),
        "decided_by_hub": len(decided) - expired,
        "expired": expired,
        "still_waiting": len(window) - len(decided),
        "decided_per_hour": round(len(decisions_in_run) / max(1.0, finished - start) * 3600),
        "latency_p50_s": _percentile(latencies, 0.50),
        "latency_p99_s": _percentile(latencies, 0.99),
        "latency_max_s": round(max(latencies), 1) if latencies else None,
        "backlog": backlog,
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "logs": str(directory),
    }


def _web_port(config: Path) -> int:
    in_web = False
    for line in config.read_text().splitlines():
        if line.startswith("["):
            in_web = line.strip() == "[web]"
        elif in_web and line.startswith("port ="):
            return int(line.split("=")[1])
    raise RuntimeError("no [web] port")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--drain-minutes", type=float, default=5.0)
    parser.add_argument("--warmup-seconds", type=float, default=30.0)
    parser.add_argument("--sample-seconds", type=float, default=30.0)
    parser.add_argument("--orders-per-hour", type=float, default=2000.0)
    parser.add_argument("--error-rate", type=float, default=0.15)
    parser.add_argument("--timeout-rate", type=float, default=0.05)
    parser.add_argument("--timeout-seconds", type=float, default=30.0)
    parser.add_argument("--window-seconds", type=float, default=900.0)
    parser.add_argument(
        "--worker-concurrency", type=int, default=0, help="engine.worker_concurrency (0: default)"
    )
    parser.add_argument("--quick", action="store_true", help="3 minutes, 2 minutes of drain")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.drain_minutes = 3.0, 2.0
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
