#!/usr/bin/env python3
"""Set-up and checks for mirakl-sync, with nothing but Python 3.11+ installed.

    python3 dev.py demo    install into .venv, then start sandbox, hub and status page
    python3 dev.py test    install into .venv, then lint, type-check and run every test tier
                           (extra arguments go to pytest, which then runs those alone)
    python3 dev.py install install (or refresh) .venv only

The virtual environment is rebuilt only when pyproject.toml or requirements.lock change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "requirements.lock"):
        path = ROOT / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _run(*command: str | Path) -> None:
    result = subprocess.run([str(part) for part in command], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


def install() -> None:
    # dev.py is the first thing a newcomer runs, possibly with an older Python.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"mirakl-sync needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("Installing mirakl-sync and its pinned dependencies into .venv ...", flush=True)
    if not (BIN / "python").exists():
        venv.create(VENV, with_pip=True)
    pip = [BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    constraints = ["-c", "requirements.lock"] if (ROOT / "requirements.lock").exists() else []
    _run(*pip, *constraints, "-e", ".[dev]")
    STAMP.write_text(_fingerprint())


def test() -> None:
    install()
    steps: list[tuple[str, list[str | Path]]] = [
        ("ruff check", [BIN / "ruff", "check", "src", "tests", "benchmarks", "dev.py"]),
        (
            "ruff format",
            [BIN / "ruff", "format", "--check", "src", "tests", "benchmarks", "dev.py"],
        ),
        ("mypy --strict", [BIN / "mypy"]),
        ("import rules", [BIN / "lint-imports"]),
    ]
    if sys.argv[2:]:
        steps.append(("tests", [BIN / "pytest", *sys.argv[2:]]))
    else:
        # Most tests wait on subprocesses and sockets, not the CPU: one worker per CPU
        # (pytest-xdist) halves the wall time. The soak runs after them, alone, so its
        # figures are not skewed by other tests sharing the machine.
        steps += [
            ("tests", [BIN / "pytest", "-n", "auto", "--ignore", "tests/soak"]),
            ("soak (quick)", [BIN / "pytest", "tests/soak"]),
        ]
    for title, command in steps:
        print(f"==> {title}", flush=True)
        _run(*command)
    print("All checks passed.")


def demo() -> None:
    install()
    os.execv(str(BIN / "mirakl-sync"), [str(BIN / "mirakl-sync"), "demo", *sys.argv[2:]])


COMMANDS = {"install": install, "test": test, "demo": demo}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]]()
