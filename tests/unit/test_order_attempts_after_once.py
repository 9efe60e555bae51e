"""Which earlier attempts of an order hold back a new one (issue 9, failure 6).

A ``sync orders --once`` run works in its own engine namespace, which the hub cannot
resume. When such a run dies with an order import unfinished, the hub must start a new
attempt instead of waiting on it for ever (the marketplace's acceptance deadline runs
on); a live ``--once`` run, or the hub's own unfinished attempt, still holds it back.
"""

from __future__ import annotations

import pytest

from mirakl_sync.workflows.engine import WorkflowInfo
from mirakl_sync.workflows.orders import ONCE_ORDER_QUEUE, ORDER_QUEUE, attempts_in_the_way


def _run(status: str, queue: str, executor: str) -> WorkflowInfo:
    return WorkflowInfo(
        workflow_id="order:debenhams:1",
        name="orders.import",
        status=status,
        executor_id=executor,
        queue_name=queue,
        created_at_ms=0,
        updated_at_ms=0,
    )


@pytest.mark.parametrize(
    ("run", "alive", "once", "held_back"),
    [
        # The hub's own attempt still running: leave it to finish.
        (_run("PENDING", ORDER_QUEUE, "hub-1"), {"hub-1"}, False, True),
        # A --once run died with the import unfinished: the hub starts a new attempt.
        (_run("PENDING", ONCE_ORDER_QUEUE, "host-once"), {"hub-1"}, False, False),
        (_run("ENQUEUED", ONCE_ORDER_QUEUE, "host-once"), set(), False, False),
        # A --once run still alive: its attempt goes on.
        (_run("PENDING", ONCE_ORDER_QUEUE, "host-once"), {"host-once"}, False, True),
        # Inside a --once run nothing is taken over.
        (_run("PENDING", ONCE_ORDER_QUEUE, "host-once"), set(), True, True),
        # A finished attempt never holds anything back.
        (_run("SUCCESS", ORDER_QUEUE, "hub-1"), {"hub-1"}, False, False),
    ],
)
def test_an_attempt_holds_back_a_new_one_unless_a_dead_once_left_it(
    run: WorkflowInfo, alive: set[str], once: bool, held_back: bool
) -> None:
    assert bool(attempts_in_the_way([run], alive=alive, once=once)) is held_back
