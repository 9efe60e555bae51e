"""Shopify: the Admin GraphQL client, its documents, webhook verification, and the emulator.

The hub talks to Shopify only through ``ShopifyClient`` (``client.py``), which sends the
named GraphQL documents of ``documents.py`` (every document the hub sends lives there, so
a contract test can validate each one against the vendored Admin schema in ``schema/``).
``webhooks.py`` verifies and parses webhook deliveries; ``emulator/`` is the one in-memory
Shopify used by the tests and by ``mirakl-sync sandbox``.
"""

from __future__ import annotations
