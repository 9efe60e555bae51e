"""Adapters: one package per external system (client, mapping, errors, emulator), plus the store.

Adapters translate: HTTP and SQL on one side, the hub's ports and error tree
(``mirakl_sync.errors``) on the other.
"""
