"""Services: the hub's use cases, written against ports (``ports.py``) only.

A service never knows whether it talks to the real Mirakl or the sandbox, to SQLite
or PostgreSQL, or whether it runs inside a durable workflow.
"""
