"""The soak tier: ``benchmarks/soak.py --quick`` as a subprocess, failing on a non-zero exit.

The quick soak runs the sandbox with faults on every system (500s, hangs, lost replies),
the warehouse acting on orders (some before the hub accepted them), and ``mirakl-sync run``
SIGKILLed and restarted at random moments, then drains and checks the emulators' truth:
no duplicate, no loss, no double effect, no oversell, no item left sold, no order the hub
let expire (see ``benchmarks/soak_truth.py``). Its JSON is printed on failure, anomalies
first, each with its order id.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"
#: The quick soak takes 3-4 minutes; past this it is hung, not slow.
BOUND_SECONDS = 420


@pytest.mark.timeout(BOUND_SECONDS + 60)
def test_the_quick_soak_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, str(SOAK), "--quick", "--out", str(out)],
        cwd=SOAK.parent,
        capture_output=True,
        text=True,
        timeout=BOUND_SECONDS,
    )
    if result.returncode != 0:
        if out.exists():
            report = json.loads(out.read_text())
            summary = {
                "failures": report.get("failures"),
                "anomalies": report.get("anomalies"),
            }
            print(json.dumps(summary, indent=2))
            print(out.read_text())
        else:
            print(result.stdout[-5000:])
        print(result.stderr[-5000:])
    assert result.returncode == 0, "the quick soak found failures (its JSON is printed above)"
