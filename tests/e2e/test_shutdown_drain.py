"""SIGTERM drains (issue 10, item 7): real ``mirakl-sync run`` processes.

An order import is held in flight (the emulated Shopify answers its ``orderCreate`` a few
seconds late) when the hub (``run`` on SQLite, or a ``worker`` on PostgreSQL) gets
SIGTERM. It must stop taking work, let that step finish and be checkpointed, exit 0
within its drain bound, and never touch the engine's database after the engine is gone
(before: "System database accessed before DBOS was launched" as the step finished, and a
worker ignored SIGTERM for over 15 s). The next start finishes the order: one shop
order, one acceptance.

Bounds are subprocess timeouts, never timed assertions.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from sandbox_process import EXECUTABLE, free_port

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.tables import executors
from mirakl_sync.config import SandboxSettings, load_settings
from mirakl_sync.sandbox.server import (
    MARKETPLACES,
    SHOPIFY_TOKEN,
    SUPERCYCLE_KEY,
    Sandbox,
    build_sandbox,
)
from mirakl_sync.workflows.engine import EngineClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

#: How late the emulated Shopify answers the held orderCreate.
HOLD_SECONDS = 4.0
#: The hub's drain bound (engine.shutdown_grace_seconds): other flows' steps may be in
#: flight too when the signal comes, on a machine shared with other test runs.
GRACE_SECONDS = 30.0
#: The drain bound plus the margin the hub adds (web server, last heartbeat) and time to
#: exit: a process still running after this has not stopped within its bound.
EXIT_BOUND = GRACE_SECONDS + 5.0 + 10.0


class HoldingApp:
    """The sandbox, with the first Shopify ``orderCreate`` held ``HOLD_SECONDS``, and the
    successful writes counted by (method, last path segment or GraphQL mutation)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.entered = threading.Event()
        self.writes: Counter[tuple[str, str]] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("PUT", "POST"):
            await self.app(scope, receive, send)
            return
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if not message.get("more_body"):
                break
        body = b"".join(m.get("body", b"") for m in messages)
        key = scope["path"].rsplit("/", 1)[-1]
        if b"orderCreate" in body:
            key = "orderCreate"
            if not self.entered.is_set():
                self.entered.set()
                await asyncio.sleep(HOLD_SECONDS)
        replay = list(messages)

        async def replayed() -> Any:
            return replay.pop(0) if replay else await receive()

        status: list[int] = []

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, replayed, watch)
        if status and status[0] < 300:
            self.writes[(scope["method"], key)] += 1


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, HoldingApp, str]]:
    sandbox = build_sandbox(SandboxSettings(orders_per_hour=0, call_frequency_scale=0))
    app = HoldingApp(sandbox.app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield sandbox, app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def write_config(tmp_path: Path, base: str, database_url: str) -> Path:
    markets = "".join(
        f'\n[[marketplaces]]\ncode = "{m.code}"\nbase_url = "{base}/mirakl/{m.code}"\n'
        f'api_key = "{m.api_key}"\nshop_id = {m.shop_id}\ncall_budget_scale = 0\n'
        for m in MARKETPLACES
    )
    path = tmp_path / "mirakl-sync.toml"
    path.write_text(
        f'database_url = "{database_url}"\n'
        f'[shopify]\nshop = "fjellrev.myshopify.com"\naccess_token = "{SHOPIFY_TOKEN}"\n'
        f'base_url = "{base}"\n'
        f'[supercycle]\nbase_url = "{base}/supercycle/api/v1"\napi_key = "{SUPERCYCLE_KEY}"\n'
        f"[web]\nport = {free_port()}\n"
        f"[engine]\nshutdown_grace_seconds = {GRACE_SECONDS}\n"
        f'[logging]\nlevel = "INFO"\n' + markets
    )
    return path


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "MIRAKL_SYNC_CONFIG"}


def start_hub(config: Path, log: Path, command: str) -> subprocess.Popen[bytes]:
    output = log.open("ab")
    process = subprocess.Popen(
        [str(EXECUTABLE), command, "--config", str(config)],
        env=_env(),
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    output.close()
    store = create_store_engine(load_settings(config).database_url)
    try:
        deadline = time.monotonic() + 90
        while True:
            with store.connect() as connection:
                alive = connection.execute(
                    sa.select(executors.c.pid).where(executors.c.status == "alive")
                ).all()
            if any(row.pid == process.pid for row in alive):
                return process
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"the hub did not start: {log.read_text()}")
            time.sleep(0.2)
    finally:
        store.dispose()


def stop(process: subprocess.Popen[bytes], log: Path) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=EXIT_BOUND)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(
            f"SIGTERM: still running {EXIT_BOUND:.0f} s later\n{log.read_text()[-4000:]}"
        ) from None


def stocked_sku(sandbox: Sandbox) -> str:
    for product, variant in sandbox.catalogue.variants():
        if product.channel == "new" and sum(variant.inventory.values()) >= 2:
            return variant.sku
    raise LookupError("no stocked variant in the seed")


def _accepted(sandbox: Sandbox, market: str, order_id: str) -> bool:
    state = sandbox.mirakl.market(market).orders[order_id].state.value
    return state in ("WAITING_DEBIT_PAYMENT", "SHIPPING")


@pytest.mark.parametrize("command", ["run", pytest.param("worker", marks=pytest.mark.postgres)])
def test_sigterm_during_an_import_drains_then_the_next_start_finishes_it_once(
    tmp_path: Path,
    served: tuple[Sandbox, HoldingApp, str],
    command: str,
    request: pytest.FixtureRequest,
) -> None:
    sandbox, app, base = served
    database_url = (
        f"sqlite:///{tmp_path / 'hub.db'}"
        if command == "run"
        else str(request.getfixturevalue("postgres_url"))
    )
    config = write_config(tmp_path, base, database_url)
    upgrade = subprocess.run(
        [str(EXECUTABLE), "db", "upgrade", "--config", str(config)],
        env=_env(),
        capture_output=True,
        timeout=120,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    order_id = sandbox.mirakl.place_order("debenhams", [(stocked_sku(sandbox), 1)])

    log = tmp_path / f"{command}.log"
    hub = start_hub(config, log, command)
    try:
        # The import is in its shop-order step, inside Shopify's orderCreate.
        assert app.entered.wait(timeout=120), log.read_text()[-4000:]
    except BaseException:
        hub.kill()
        raise
    code = stop(hub, log)
    first_run = log.read_text()
    assert "accessed before DBOS was launched" not in first_run, first_run[-4000:]
    assert "Traceback" not in first_run, first_run[-4000:]
    with EngineClient.from_settings(load_settings(config)) as engine:
        steps = [s.name for s in engine.list_steps(f"order:debenhams:{order_id}")]
        status = engine.status(f"order:debenhams:{order_id}")
    assert "orders.shop_order" in steps, (steps, first_run[-4000:])
    assert status is not None and not status.is_terminal, status
    assert code == 0, first_run[-4000:]
    # The held step finished and was checkpointed during the drain: its orderCreate
    # landed once, and the order was not accepted by a step that started after SIGTERM.
    assert app.writes[("POST", "orderCreate")] == 1
    assert app.writes[("PUT", "accept")] == 0

    hub = start_hub(config, log, command)
    try:
        deadline = time.monotonic() + 120
        while not _accepted(sandbox, "debenhams", order_id) and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        code = stop(hub, log)
    assert _accepted(sandbox, "debenhams", order_id), log.read_text()[-4000:]
    made = [o for o in sandbox.shopify.data.orders.values() if o.source_identifier == order_id]
    assert len(made) == 1
    assert app.writes[("POST", "orderCreate")] == 1
    assert app.writes[("PUT", "accept")] == 1
    assert code == 0, log.read_text()[-4000:]
    assert "accessed before DBOS was launched" not in log.read_text()
