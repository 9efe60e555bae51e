"""The Supercycle emulator: one in-memory shop serving Supercycle's Admin API v1.

Used in-process by the tests (``httpx.ASGITransport(app=emulator.asgi_app())``) and over
HTTP by the sandbox, which mounts the app at ``/supercycle``. Modules: ``state`` (the
shop's state, composed of ``store`` and Supercycle's rules by area: ``catalogue_rules``,
``availability_rules``, ``rental_rules``, ``return_rules``), ``records`` (the records),
``serialize`` (API JSON), ``limits`` (per-key rate limits), ``app`` (routes, auth, paging,
filters) and ``core`` (the facade, seeding, test hooks).
"""

from __future__ import annotations

from mirakl_sync.sandbox.supercycle.core import SupercycleEmulator

__all__ = ["SupercycleEmulator"]
