"""The sandbox: emulated Mirakl, Shopify and Supercycle, seeded with a believable brand.

Tests run the emulators in-process (through httpx's ASGI transport); ``mirakl-sync
sandbox`` and ``mirakl-sync demo`` serve the very same emulators over HTTP, so an
evaluator needs no credentials.
"""
