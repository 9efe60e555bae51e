"""Helpers: ``mirakl-sync sandbox`` as a real subprocess, and a hub config pointing at it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from mirakl_sync.entrypoints.demo import TIME_COMPRESSION, demo_config

EXECUTABLE = Path(sys.executable).with_name("mirakl-sync")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_sandbox_config(
    directory: Path,
    *,
    orders_per_hour: float = 0,
    call_frequency_scale: float = 1.0,
    call_budget_scale: float = 1.0,
) -> Path:
    """The demo's config (hub + sandbox) with the limits a test wants."""
    text = demo_config(
        directory, port=free_port(), sandbox_port=free_port(), orders_per_hour=orders_per_hour
    )
    text = text.replace(
        f"call_frequency_scale = {TIME_COMPRESSION}",
        f"call_frequency_scale = {call_frequency_scale}",
    ).replace(f"call_budget_scale = {TIME_COMPRESSION}", f"call_budget_scale = {call_budget_scale}")
    path = directory / "mirakl-sync.toml"
    path.write_text(text)
    return path


def sandbox_port(config: Path) -> int:
    in_sandbox = False
    for line in config.read_text().splitlines():
        if line.startswith("["):
            in_sandbox = line.strip() == "[sandbox]"
        elif in_sandbox and line.startswith("port ="):
            return int(line.split("=")[1])
    raise AssertionError("no [sandbox] port in the config")


@contextmanager
def running_sandbox(config: Path) -> Iterator[str]:
    """Start ``mirakl-sync sandbox`` for ``config``; yield its base URL; stop it after."""
    base = f"http://127.0.0.1:{sandbox_port(config)}"
    log = config.with_name("sandbox.log")
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(EXECUTABLE), "sandbox", "--config", str(config)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(base + "/", timeout=1)
                    break
                except httpx.TransportError as exc:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(f"sandbox did not start: {log.read_text()}") from exc
                    time.sleep(0.2)
            yield base
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
