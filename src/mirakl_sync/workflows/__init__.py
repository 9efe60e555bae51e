"""Workflows: the durable engine (DBOS Transact) and the flows that run on it.

This package is the only place that knows the engine: the ``engine`` package alone imports
``dbos``; everything else sees plain functions and the ``Engine`` facade.
"""
