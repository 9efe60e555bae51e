"""Crash test: the worker killed between each pair of import steps, then restarted with
the same executor id, leaves exactly one Shopify order, one OR21 acceptance and one
Supercycle sale per marketplace order."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from orders_sandbox import resale_serials, stocked_sku

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.config import SandboxSettings, load_settings
from mirakl_sync.sandbox.server import MARKETPLACES, SHOPIFY_TOKEN, SUPERCYCLE_KEY, build_sandbox

pytestmark = pytest.mark.slow


class CountingApp:
    """Counts successful writes by (method, last path segment) on their way through."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.writes: Counter[tuple[str, str]] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("PUT", "POST"):
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if status and status[0] < 300:
            self.writes[(scope["method"], scope["path"].rsplit("/", 1)[-1])] += 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served() -> Iterator[tuple[Any, CountingApp, str]]:
    sandbox = build_sandbox(SandboxSettings(orders_per_hour=0, call_frequency_scale=0))
    app = CountingApp(sandbox.app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield sandbox, app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def write_config(tmp_path: Path, base: str) -> Path:
    markets = "".join(
        f'\n[[marketplaces]]\ncode = "{m.code}"\nbase_url = "{base}/mirakl/{m.code}"\n'
        f'api_key = "{m.api_key}"\nshop_id = {m.shop_id}\ncall_budget_scale = 0\n'
        for m in MARKETPLACES
    )
    path = tmp_path / "mirakl-sync.toml"
    path.write_text(
        f'database_url = "sqlite:///{tmp_path / "hub.db"}"\n'
        f'[shopify]\nshop = "fjellrev.myshopify.com"\naccess_token = "{SHOPIFY_TOKEN}"\n'
        f'base_url = "{base}"\n'
        f'[supercycle]\nbase_url = "{base}/supercycle/api/v1"\napi_key = "{SUPERCYCLE_KEY}"\n'
        f'[engine]\nexecutor_id = "crash-worker"\n[logging]\nlevel = "WARNING"\n' + markets
    )
    return path


def once(config: Path, crash_after: int | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MIRAKL_SYNC_CRASH_AFTER_STEP"}
    if crash_after is not None:
        env["MIRAKL_SYNC_CRASH_AFTER_STEP"] = str(crash_after)
    code = (
        "import sys; from pathlib import Path;"
        "from mirakl_sync.config import load_settings;"
        "from mirakl_sync.entrypoints.orders_once import run_orders_once;"
        "run_orders_once(load_settings(Path(sys.argv[1])))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("crash_after", [1, 2, 3, 4, 5])
def test_a_crash_after_each_step_still_gives_exactly_once_effects(
    tmp_path: Path, served: tuple[Any, CountingApp, str], crash_after: int
) -> None:
    sandbox, app, base = served
    config = write_config(tmp_path, base)
    upgrade_database(load_settings(config).database_url)
    serial = resale_serials(sandbox.catalogue)[0]
    new_stock = sandbox.mirakl.place_order("debenhams", [(stocked_sku(sandbox.catalogue), 1)])
    unique = sandbox.mirakl.place_order("sportshub", [(serial, 1)])

    crashed = once(config, crash_after)
    assert crashed.returncode == 17, crashed.stderr[-2000:]
    restarted = once(config, None)
    assert restarted.returncode == 0, restarted.stderr[-2000:]

    for market, order_id in (("debenhams", new_stock), ("sportshub", unique)):
        # Accepted (the emulator debits it a few seconds later).
        state = sandbox.mirakl.market(market).orders[order_id].state.value
        assert state in ("WAITING_DEBIT_PAYMENT", "SHIPPING")
        made = [o for o in sandbox.shopify.data.orders.values() if o.source_identifier == order_id]
        assert len(made) == 1
    assert app.writes[("PUT", "accept")] == 2  # one OR21 per marketplace order
    item = next(i for i in sandbox.supercycle.state.items.values() if i.serial == serial)
    assert item.visibility == "sold"
    assert app.writes[("PUT", str(item.id))] == 1  # one Supercycle sale
