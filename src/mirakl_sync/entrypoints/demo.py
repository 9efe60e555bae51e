"""``mirakl-sync demo``: the sandbox, the hub and its status page, in one command.

The demo writes ``<dir>/mirakl-sync.toml`` (pointing the hub at the sandbox, keys
included: they are the sandbox's public test keys) and keeps its SQLite database
beside it. Each run starts from an empty database: the sandbox lives in memory and
starts afresh, numbering its orders from the same first id, so a previous run's records
would be taken for this run's orders.

Time is compressed tenfold: the emulated Mirakl enforces a tenth of the real Call
Frequency periods and the hub budgets the same, so the page moves.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from mirakl_sync.config import SandboxSettings, load_settings
from mirakl_sync.entrypoints.logs import configure_logging
from mirakl_sync.entrypoints.server import serve_hub
from mirakl_sync.sandbox.server import (
    MARKETPLACES,
    SHOP_DOMAIN,
    SHOPIFY_TOKEN,
    SHOPIFY_WEBHOOK_SECRET,
    SUPERCYCLE_KEY,
    build_sandbox,
    start_traffic,
)

#: Real Mirakl periods x this factor, on both sides (emulator and hub).
TIME_COMPRESSION = 0.1

#: The demo's OR11 pull period: the hub's default (twice Mirakl's once-a-minute maximum,
#: so a pull that fails is tried again within its period) on the compressed clock.
DEMO_ORDER_POLL_SECONDS = 120 * TIME_COMPRESSION


def demo_config(
    directory: Path,
    *,
    port: int,
    sandbox_port: int,
    orders_per_hour: float,
    seed_name: str = "default",
) -> str:
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    # The "accept by" the hub shows and plans for must be the sandbox's own auto-refusal
    # deadline, not the real-world 72 h default (the demo showed 72 h while its sandbox
    # refused after 10 minutes).
    window_seconds = SandboxSettings().acceptance_window_seconds
    markets = "".join(
        "\n[[marketplaces]]\n"
        f'code = "{m.code}"\n'
        f'name = "{m.name}"\n'
        f'base_url = "{sandbox}/mirakl/{m.code}"\n'
        f'api_key = "{m.api_key}"\n'
        f"shop_id = {m.shop_id}\n"
        f"partial_acceptance = {str(m.partial_acceptance).lower()}\n"
        f"call_budget_scale = {TIME_COMPRESSION}\n"
        f"order_poll_seconds = {DEMO_ORDER_POLL_SECONDS:g}\n"
        f"acceptance_window_hours = {window_seconds / 3600!r}\n"
        for m in MARKETPLACES
    )
    return (
        "# Written by `mirakl-sync demo`: the hub pointed at the sandbox.\n"
        f'database_url = "sqlite:///{(directory / "mirakl-sync.db").resolve()}"\n\n'
        "[shopify]\n"
        f'shop = "{SHOP_DOMAIN}"\n'
        f'access_token = "{SHOPIFY_TOKEN}"\n'
        f'base_url = "{sandbox}"\n'
        f'webhook_secret = "{SHOPIFY_WEBHOOK_SECRET}"\n\n'
        "[supercycle]\n"
        f'base_url = "{sandbox}/supercycle/api/v1"\n'
        f'api_key = "{SUPERCYCLE_KEY}"\n'
        # Rental stock stays off the marketplaces; graded pre-owned items are listed.
        'listed_tags = ["resale"]\n\n'
        "[carriers]\n"
        '"Royal Mail" = "RM"\n"DPD" = "DPD"\n"Evri" = "EVRI"\n"DHL Express" = "DHL"\n\n'
        "[carrier_aliases]\n"
        '"Royal Mail 24" = "Royal Mail"\n"Royal Mail Tracked 48" = "Royal Mail"\n\n'
        # The safety-net passes on the demo's compressed clock (30 s, not 5 minutes), so
        # what a webhook missed is seen going out within the demo's minutes.
        "[safety_net]\n"
        f"poll_seconds = {300 * TIME_COMPRESSION:g}\n\n"
        # Likewise a refund's wait for its lines' shipment (30 s, not 5 minutes).
        "[refunds]\n"
        f"ship_first_seconds = {300 * TIME_COMPRESSION:g}\n\n"
        "[web]\n"
        f"port = {port}\n"
        f'public_url = "http://127.0.0.1:{port}"\n\n'
        "[sandbox]\n"
        f"port = {sandbox_port}\n"
        f"orders_per_hour = {orders_per_hour:g}\n"
        f"call_frequency_scale = {TIME_COMPRESSION}\n"
        f"acceptance_window_seconds = {window_seconds:g}\n"
        + (f'seed_name = "{seed_name}"\n' if seed_name != "default" else "")
        + f"{markets}"
    )


def forget_previous_run(directory: Path) -> list[Path]:
    """Delete the previous demo run's databases (SQLite files and their WAL); return them."""
    gone = [
        path
        for stem in ("mirakl-sync", "mirakl-sync-engine")
        for suffix in (".db", ".db-wal", ".db-shm")
        if (path := directory / f"{stem}{suffix}").exists()
    ]
    for path in gone:
        path.unlink()
    return gone


def run_demo(
    directory: Path,
    *,
    port: int,
    sandbox_port: int,
    orders_per_hour: float,
    seed_name: str = "default",
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if forget_previous_run(directory):
        print(f"(the previous demo run's database in {directory} was reset)", flush=True)
    config_path = directory / "mirakl-sync.toml"
    config_path.write_text(
        demo_config(
            directory,
            port=port,
            sandbox_port=sandbox_port,
            orders_per_hour=orders_per_hour,
            seed_name=seed_name,
        )
    )
    settings = load_settings(config_path)
    configure_logging(settings)
    sandbox = build_sandbox(settings.sandbox)
    server = uvicorn.Server(
        uvicorn.Config(sandbox.app, host="127.0.0.1", port=sandbox_port, log_level="warning")
    )
    # Off the main thread uvicorn leaves signal handling alone; the hub in the main
    # thread owns Ctrl+C and stops the sandbox on its way out.
    thread = threading.Thread(target=server.run, name="sandbox", daemon=True)
    thread.start()
    _wait_until_up(f"http://127.0.0.1:{sandbox_port}/")
    stop = threading.Event()
    start_traffic(sandbox, stop)
    print(
        "\nmirakl-sync demo is running (Ctrl+C to stop)\n"
        f"  status page   http://127.0.0.1:{port}\n"
        f"  sandbox       http://127.0.0.1:{sandbox_port}   (3 marketplaces, Shopify, Supercycle)\n"
        f"  config        {config_path}\n"
        f"  try           {_command()} doctor --config {config_path}\n",
        flush=True,
    )
    try:
        serve_hub(settings)
    finally:
        stop.set()
        server.should_exit = True
        thread.join(timeout=10)


def _command() -> str:
    """How to call mirakl-sync again: the bare name when it is on PATH, else its path
    (``dev.py demo`` runs it from .venv/bin without activating the venv)."""
    found = shutil.which("mirakl-sync")
    here = Path(sys.argv[0]).resolve()
    return "mirakl-sync" if found and Path(found).resolve() == here else str(here)


def _wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on {url}") from None
            time.sleep(0.1)
