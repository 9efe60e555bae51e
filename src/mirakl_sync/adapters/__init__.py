"""Adapters: one package per external system (client, mapping, errors), plus the store.

The emulated systems the tests and the demo talk to are not here: they are the sandbox
(``mirakl_sync.sandbox``), which adapters never import.

Adapters translate: HTTP and SQL on one side, the hub's ports and error tree
(``mirakl_sync.errors``) on the other.
"""
