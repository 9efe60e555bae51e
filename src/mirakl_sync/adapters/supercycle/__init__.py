"""Supercycle: the Shopify app that owns rental and pre-owned *items* (one per unit).

Once a product is imported into Supercycle, Shopify no longer tracks its stock; each
physical unit is an item with a ``visibility`` (available/unavailable/sold/retired), a
processing ``status`` and a condition, held by *rentals* (cycles) and brought back by
*return orders*. The hub reads items and their blocked dates to decide what may be sold
on marketplaces, and writes back sales (``visibility = sold``) and returns.

- ``client``: ``SupercycleClient``, the async Admin API v1 client.
- ``models``: pydantic models of the API's JSON.
- ``errors``: HTTP failures -> the hub's error tree.

Its emulator, used by the tests and the demo, is ``mirakl_sync.sandbox.supercycle``.
"""

from __future__ import annotations
