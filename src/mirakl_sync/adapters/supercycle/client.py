"""``SupercycleClient``: the async client of Supercycle's Admin API v1.

Usage::

    async with SupercycleClient("https://app.supercycle.com/api/v1", key) as supercycle:
        async for item in supercycle.iter_items(visibility="available"):
            ...
        await supercycle.mark_item_sold(item.id)

The class is assembled here from parts, one module per concept: ``client_transport.py``
(the HTTP policy every call goes through: call budgets, retries, error translation),
``client_params.py`` (query and body building), ``client_items.py``,
``client_rentals.py``, ``client_returns.py`` and ``client_availability.py`` (the
operations by API area).

Not covered: a conditions endpoint (the reference's navigation lists "Conditions" but we
could not find its page; conditions arrive embedded in items and return lines), products
import and method options, timeline comments and custom field definitions.
"""

from __future__ import annotations

from mirakl_sync.adapters.supercycle.client_availability import AvailabilityOperations
from mirakl_sync.adapters.supercycle.client_items import ItemOperations
from mirakl_sync.adapters.supercycle.client_rentals import RentalOperations
from mirakl_sync.adapters.supercycle.client_returns import ReturnOrderOperations


class SupercycleClient(
    ItemOperations,
    RentalOperations,
    ReturnOrderOperations,
    AvailabilityOperations,
):
    """Async client of one Supercycle shop (one API key).

    - ``base_url``: up to and including ``/api/v1``.
    - ``transport``: an ``httpx.AsyncBaseTransport`` (``ASGITransport`` in tests).
    - ``call_budget``: shared budget store (``SqlCallBudget`` across processes); an
      in-memory one by default. ``budget`` / ``timelines_budget`` override the limits.
    - ``max_retries``: extra attempts after a 429, a 5xx or a network error.
    - ``max_retry_after``: a 429 asking to wait longer than this is raised at once as
      ``RateLimitedError`` so the caller's scheduler, not this coroutine, does the waiting.
    - ``clock`` / ``sleep``: injectable for tests.
    """
