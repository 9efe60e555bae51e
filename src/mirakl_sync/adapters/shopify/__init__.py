"""Shopify: the Admin GraphQL client, its documents and webhook verification.

The hub talks to Shopify only through ``ShopifyClient`` (``client.py``), which sends the
named GraphQL documents of ``documents.py`` (every document the hub sends lives there, so
a contract test can validate each one against the vendored Admin schema, kept with the
emulator in ``mirakl_sync.sandbox.shopify``). ``webhooks.py`` verifies and parses webhook
deliveries. The one in-memory Shopify of the tests and ``mirakl-sync sandbox`` is
``mirakl_sync.sandbox.shopify``.
"""

from __future__ import annotations
