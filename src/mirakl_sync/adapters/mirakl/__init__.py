"""Mirakl seller API: client, models, errors, call budgets and the emulator."""
