"""``doctor`` against the sandbox in-process: every system answers, and a bad key is named."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.bootstrap import Transports, bootstrap
from mirakl_sync.config import SandboxSettings, Settings
from mirakl_sync.entrypoints.doctor import collect_checks
from mirakl_sync.sandbox.hub_settings import sandbox_hub_settings, sqlite_url
from mirakl_sync.sandbox.server import (
    MARKETPLACES,
    Sandbox,
    build_sandbox,
)
from mirakl_sync.services.doctor import CheckResult, run_checks


def sandbox_settings(tmp_path: Path, *, debenhams_key: str | None = None) -> Settings:
    return sandbox_hub_settings(
        sqlite_url(tmp_path),
        per_market={"debenhams": {"api_key": debenhams_key}} if debenhams_key else None,
    )


def doctor(settings: Settings, sandbox: Sandbox) -> list[CheckResult]:
    upgrade_database(settings.database_url)
    transport = httpx.ASGITransport(app=sandbox.app)
    hub = bootstrap(
        settings,
        transports=Transports(
            shopify=transport,
            supercycle=transport,
            mirakl={m.code: transport for m in MARKETPLACES},
        ),
    )
    try:
        return asyncio.run(run_checks(collect_checks(hub)))
    finally:
        hub.close()


def test_every_sandbox_system_is_reported_reachable(tmp_path: Path) -> None:
    sandbox = build_sandbox(SandboxSettings(orders_per_hour=0))
    results = doctor(sandbox_settings(tmp_path), sandbox)
    outcomes = {(r.system, r.check): r.outcome for r in results}
    assert outcomes == {
        ("database", "tables"): "ok",
        ("shopify", "shop"): "ok",
        ("supercycle", "items"): "ok",
        **{(f"mirakl:{m.code}", "version (V01)"): "ok" for m in MARKETPLACES},
        **{(f"mirakl:{m.code}", "key (PC01)"): "ok" for m in MARKETPLACES},
    }, [r for r in results if r.outcome != "ok"]


def test_a_rejected_key_fails_only_that_marketplace_and_says_what_to_do(tmp_path: Path) -> None:
    sandbox = build_sandbox(SandboxSettings(orders_per_hour=0))
    results = doctor(sandbox_settings(tmp_path, debenhams_key="wrong-key"), sandbox)
    failed = [r for r in results if r.outcome == "failed"]
    assert [(r.system, r.check) for r in failed] == [("mirakl:debenhams", "key (PC01)")]
    assert "key was rejected" in failed[0].detail and "api key" in failed[0].detail
    assert "PC01 (GET /api/platform/configuration)" in failed[0].detail


def test_a_wrong_key_fails_on_every_run_of_the_same_day(tmp_path: Path) -> None:
    # Issue 9, failure 5: the second run the same day skipped the key check (A01 is once a
    # day) and said "All systems reachable" with a wrong key.
    sandbox = build_sandbox(SandboxSettings(orders_per_hour=0))
    good = sandbox_settings(tmp_path)
    doctor(good, sandbox)  # today's A01 slot is spent by a first, good run
    wrong = sandbox_settings(tmp_path, debenhams_key="rotated-wrong-key")
    for _ in range(2):
        results = doctor(wrong, sandbox)
        failed = [r for r in results if r.outcome == "failed"]
        assert [r.system for r in failed] == ["mirakl:debenhams"], results
        assert "PC01" in failed[0].check + failed[0].detail
        assert "key was rejected" in failed[0].detail


def test_a_second_doctor_the_same_day_still_checks_the_key(tmp_path: Path) -> None:
    sandbox = build_sandbox(SandboxSettings(orders_per_hour=0))
    settings = sandbox_settings(tmp_path)
    first = {(r.system, r.check): r for r in doctor(settings, sandbox)}
    assert "by A01" in first[("mirakl:debenhams", "key (PC01)")].detail
    again = {(r.system, r.check): r for r in doctor(settings, sandbox)}
    key = again[("mirakl:debenhams", "key (PC01)")]
    assert key.outcome == "ok" and "key accepted by PC01" in key.detail
    assert "A01 (shop name) is once a day and was used today" in key.detail
    assert again[("mirakl:debenhams", "version (V01)")].outcome == "ok"
