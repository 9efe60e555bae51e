"""mirakl-sync: keeps a Shopify store (with Supercycle items) and Mirakl marketplaces in step.

Layers, inner to outer: ``domain`` (pure rules), ``services`` (use cases over ports),
``adapters`` (one package per external system, each with its emulator), ``workflows``
(the durable engine), ``entrypoints`` (CLI and web). ``bootstrap`` is the one
composition root; nothing is built at import time.
"""

from __future__ import annotations

__version__ = "0.1.0"
