"""Mirakl seller API: client, models, errors and call budgets (its emulator is in
``mirakl_sync.sandbox.mirakl``)."""
