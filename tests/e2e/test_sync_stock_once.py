"""``sync stock|prices|offers --once`` as a user runs them, against a sandbox process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sandbox_process import EXECUTABLE, running_sandbox, write_sandbox_config

from mirakl_sync.sandbox.server import MARKETPLACES


def test_stock_prices_and_offers_once_report_per_marketplace(tmp_path: Path) -> None:
    config = write_sandbox_config(tmp_path, call_frequency_scale=0.02, call_budget_scale=0.02)
    # A small catalogue: a full read of 300 products takes Shopify's budget ~2 minutes.
    config.write_text(config.read_text().replace("[sandbox]\n", "[sandbox]\nproducts = 20\n"))
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
    with running_sandbox(config):
        for flow in ("offers", "stock", "prices"):
            result = cli("sync", flow, "--once")
            assert result.returncode == 0, result.stderr
            lines = result.stdout.strip().splitlines()
            assert [line.split(":")[0] for line in lines] == [m.code for m in MARKETPLACES]
            assert all(f": {flow}: " in line and "lines sent" in line for line in lines)
        # A fresh process reads the whole source, and says so on stderr (the log).
        assert "full stock read done" in cli("sync", "stock", "--once").stderr

    counts = dict(
        line.split("\t") for line in cli("offers", "status", "debenhams").stdout.splitlines()
    )
    assert set(counts) == {"pending", "sent", "superseded", "error", "skipped"}
    assert int(counts["sent"]) > 0
    sent = cli("offers", "status", "debenhams", "--status", "sent").stdout.splitlines()
    assert sent[0].startswith("sku\tstatus") and len(sent) == int(counts["sent"]) + 1
    assert all(line.split("\t")[1] == "sent" for line in sent[1:])
