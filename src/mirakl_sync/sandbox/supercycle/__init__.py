"""The Supercycle emulator: one in-memory shop serving Supercycle's Admin API v1.

Used in-process by the tests (``httpx.ASGITransport(app=emulator.asgi_app())``) and over
HTTP by the sandbox, which mounts the app at ``/supercycle``. Modules: ``state`` (records
and Supercycle's rules), ``serialize`` (API JSON), ``limits`` (per-key rate limits),
``app`` (routes, auth, paging, filters) and ``core`` (the facade, seeding, test hooks).
"""

from __future__ import annotations

from mirakl_sync.sandbox.supercycle.core import SupercycleEmulator

__all__ = ["SupercycleEmulator"]
