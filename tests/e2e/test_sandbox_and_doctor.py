"""``mirakl-sync sandbox`` over real HTTP, and ``mirakl-sync doctor`` against it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sandbox_process import EXECUTABLE, running_sandbox, write_sandbox_config


@pytest.fixture
def sandbox_config(tmp_path: Path) -> Path:
    # Real Call Frequency limits in the emulator, so the 429 rule is what users meet.
    return write_sandbox_config(tmp_path, call_frequency_scale=1.0, call_budget_scale=0.1)


@pytest.fixture
def sandbox(sandbox_config: Path) -> Iterator[str]:
    with running_sandbox(sandbox_config) as base:
        yield base


def test_sandbox_serves_mirakl_with_its_auth_paging_and_call_limits(sandbox: str) -> None:
    orders = f"{sandbox}/mirakl/debenhams/api/orders"
    assert httpx.get(orders).status_code == 401
    assert (
        httpx.get(orders, headers={"Authorization": "Bearer sandbox-debenhams-key"}).status_code
        == 401
    )
    assert httpx.get(orders, headers={"Authorization": "sandbox-sportshub-key"}).status_code == 401

    key = {"Authorization": "sandbox-debenhams-key"}
    offers = httpx.get(f"{sandbox}/mirakl/debenhams/api/offers", params={"max": 100}, headers=key)
    assert offers.status_code == 200
    body = offers.json()
    assert len(body["offers"]) == 100 and body["total_count"] > 100
    second = httpx.get(
        f"{sandbox}/mirakl/debenhams/api/offers", params={"max": 100, "offset": 100}, headers=key
    ).json()
    assert {o["shop_sku"] for o in second["offers"]}.isdisjoint(
        o["shop_sku"] for o in body["offers"]
    )

    # OR11 allows one call a minute: the second is refused with a Retry-After.
    assert httpx.get(orders, headers=key).status_code == 200
    limited = httpx.get(orders, headers=key)
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 60

    graphql = f"{sandbox}/admin/api/2026-10/graphql.json"
    shop = httpx.post(
        graphql,
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": "sandbox-shopify-token"},
    )
    assert shop.status_code == 200 and shop.json()["data"]["shop"]["name"]
    items = httpx.get(
        f"{sandbox}/supercycle/api/v1/items",
        params={"limit": 5},
        headers={"Authorization": "Bearer sandbox-supercycle-key"},
    )
    assert items.status_code == 200 and len(items.json()["data"]) == 5


def test_doctor_reports_every_system_reachable_then_unreachable(
    sandbox_config: Path, sandbox: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MIRAKL_SYNC_CONFIG"}
    subprocess.run(
        [str(EXECUTABLE), "db", "upgrade", "--config", str(sandbox_config)], env=env, check=True
    )
    ok = subprocess.run(
        [str(EXECUTABLE), "doctor", "--config", str(sandbox_config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "All systems reachable." in ok.stdout
    for system in (
        "shopify",
        "supercycle",
        "mirakl:debenhams",
        "mirakl:sportshub",
        "mirakl:maisonhome",
    ):
        assert system in ok.stdout


def test_doctor_says_which_system_is_unreachable(sandbox_config: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MIRAKL_SYNC_CONFIG"}
    subprocess.run(
        [str(EXECUTABLE), "db", "upgrade", "--config", str(sandbox_config)], env=env, check=True
    )
    down = subprocess.run(
        [str(EXECUTABLE), "doctor", "--config", str(sandbox_config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert down.returncode == 1
    assert "not reachable" in down.stdout
    assert "check(s) failed" in down.stdout
    assert "database" in down.stdout and "ok" in down.stdout


def test_doctor_fails_a_wrong_key_on_every_run_of_the_day_and_names_the_call(
    sandbox_config: Path, sandbox: str
) -> None:
    # Issue 9, failure 5: a second run the same day said "All systems reachable" with a
    # wrong key, because its only key check (A01) is once a day.
    env = {k: v for k, v in os.environ.items() if k != "MIRAKL_SYNC_CONFIG"}
    subprocess.run(
        [str(EXECUTABLE), "db", "upgrade", "--config", str(sandbox_config)], env=env, check=True
    )
    good = subprocess.run(
        [str(EXECUTABLE), "doctor", "--config", str(sandbox_config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert good.returncode == 0, good.stdout + good.stderr  # spends today's A01 slots
    text = sandbox_config.read_text()
    assert 'api_key = "sandbox-debenhams-key"' in text
    sandbox_config.write_text(
        text.replace('api_key = "sandbox-debenhams-key"', 'api_key = "rotated-wrong-key"')
    )
    for _ in range(2):
        run = subprocess.run(
            [str(EXECUTABLE), "doctor", "--config", str(sandbox_config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 1, run.stdout + run.stderr
        assert "1 check(s) failed." in run.stdout
        assert "PC01" in run.stdout and "key was rejected" in run.stdout
