"""Domain: the pure rules of keeping a shop and its marketplaces in step.

No I/O, no framework imports: state machines, allocation rules, call budgets and the
exception model are plain functions and value objects, tested with tables.
"""
