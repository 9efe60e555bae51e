"""``mirakl-sync doctor``: configuration, database and every system, checked and explained."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from alembic.script import ScriptDirectory
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from mirakl_sync.adapters.store.migrations import alembic_config, current_revision
from mirakl_sync.bootstrap import Hub, bootstrap
from mirakl_sync.config import MarketplaceSettings, Settings
from mirakl_sync.errors import CallBudgetExhaustedError, ExternalSystemError
from mirakl_sync.services.doctor import Check, CheckFailed, CheckResult, explain, run_checks

#: Interactive: fail fast rather than retry for minutes.
_CLIENT_OPTIONS: dict[str, Any] = {"timeout": 10.0, "max_retries": 0}
#: ... and never wait for a Mirakl budget slot (a once-a-day one could be hours away).
_MIRAKL_OPTIONS: dict[str, Any] = {**_CLIENT_OPTIONS, "max_budget_wait": 0.0}

#: The key is checked with PC01 (GET /api/platform/configuration) on every run: the spec
#: gives it a security requirement (Shop-API-Key, ROLE_SHOP_ADMIN) and no Call Frequency
#: block, so it needs the key and has no budget to spend. V01 has no security requirement
#: (it answers anyone), and A01 is once a day: a second run the same day could not check
#: the key with it (issue 9). A01 still names the shop when its daily slot is free.
KEY_CHECK = "key (PC01)"


def collect_checks(hub: Hub) -> list[Check]:
    settings = hub.settings
    checks = [
        Check("database", "tables", lambda: _database(hub)),
        Check("shopify", "shop", lambda: _shopify(hub)),
    ]
    if settings.supercycle is not None:
        checks.append(Check("supercycle", "items", lambda: _supercycle(hub)))
    for market in settings.marketplaces:
        checks.append(Check(f"mirakl:{market.code}", "version (V01)", _mirakl_version(hub, market)))
        checks.append(Check(f"mirakl:{market.code}", KEY_CHECK, _mirakl_key(hub, market)))
    return checks


async def _database(hub: Hub) -> str:
    url = hub.settings.database_url
    with hub.store.engine.connect() as connection:
        connection.execute(text("select 1"))
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    current = current_revision(url)
    if current != head:
        raise RuntimeError(
            f"schema at revision {current or 'none'}, code expects {head}: "
            "run `mirakl-sync db upgrade`"
        )
    kind = "PostgreSQL" if hub.settings.is_postgres else "SQLite"
    return f"{kind} reachable, schema at revision {current}"


async def _shopify(hub: Hub) -> str:
    async with hub.shopify(max_retries=0) as client:
        shop = await client.shop_info()
    return f"{shop.name} ({shop.myshopify_domain}), currency {shop.currency_code}"


async def _supercycle(hub: Hub) -> str:
    client = hub.supercycle(**_CLIENT_OPTIONS)
    assert client is not None
    async with client:
        async for item in client.iter_items(page_size=1):
            return f"items readable (first serial {item.serial})"
    return "reachable; no items yet"


def _mirakl_version(hub: Hub, market: MarketplaceSettings) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        async with hub.mirakl(market, **_MIRAKL_OPTIONS) as client:
            await client.version()
        return f"Mirakl is up at {market.base_url}"

    return check


def _mirakl_key(hub: Hub, market: MarketplaceSettings) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        async with hub.mirakl(market, **_MIRAKL_OPTIONS) as client:
            try:
                await client.platform_configuration()
            except ExternalSystemError as exc:
                raise CheckFailed(
                    f"PC01 (GET /api/platform/configuration): {explain(exc)}"
                ) from exc
            detail = "key accepted by PC01 (GET /api/platform/configuration, no call limit)"
            try:
                account = await client.account()
            except CallBudgetExhaustedError:
                return detail + "; A01 (shop name) is once a day and was used today"
            except ExternalSystemError as exc:
                raise CheckFailed(f"A01 (GET /api/account): {explain(exc)}") from exc
        return f"{detail}; shop {account.shop_name or '?'} (id {account.shop_id}) by A01"

    return check


def print_doctor_report(settings: Settings) -> bool:
    from mirakl_sync.workflows.dispatch import doctor_unmapped_carriers

    hub = bootstrap(settings)
    try:
        results = asyncio.run(run_checks(collect_checks(hub)))
        database_ok = any(r.system == "database" and r.ok for r in results)
        unmapped = doctor_unmapped_carriers(hub) if database_ok else []
    finally:
        hub.close()
    print_results(settings, results)
    if unmapped:
        # Not a failure of doctor: the hub runs; these dispatch notices wait on the map.
        print(
            "Carrier names seen but not in [carriers] (their dispatch notices wait): "
            + ", ".join(unmapped)
        )
    return all(result.ok for result in results)


def print_results(settings: Settings, results: list[CheckResult]) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=240)
    console.print(
        f"config: ok ({len(settings.marketplaces)} marketplace(s), "
        f"Supercycle {'on' if settings.supercycle else 'off'})"
    )
    table = Table()
    for heading in ("system", "check", "result", "detail"):
        table.add_column(heading, overflow="fold")
    style = {"ok": "green", "failed": "bold red", "skipped": "yellow"}
    for result in results:
        table.add_row(
            result.system,
            result.check,
            f"[{style[result.outcome]}]{result.outcome}[/]",
            result.detail,
        )
    console.print(table)
    failed = sum(1 for r in results if r.outcome == "failed")
    console.print("All systems reachable." if not failed else f"{failed} check(s) failed.")
