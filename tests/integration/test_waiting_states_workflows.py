"""The durable workflows wait for the order's state (issue 10, item 3), under the engine
(SQLite) against the sandbox: a refund and a cancellation started before the order is
accepted sleep durably and go out once it is; nothing is raised for finance or ops."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from dispatch_env import Env, run
from test_waiting_states import accept, open_exceptions, refunds_on, unaccepted_order

from mirakl_sync.domain.exceptions import Severity
from mirakl_sync.services.refunds import RefundSource
from mirakl_sync.workflows.dispatch import cancel_order, start_refund
from mirakl_sync.workflows.engine import start_workflow
from mirakl_sync.workflows.runtime import start_runtime

pytestmark = pytest.mark.timeout(120)

#: Only keeps a broken workflow from hanging the suite; not a timing.
HANG_GUARD_SECONDS = 60


def _settings(env: Env) -> Any:
    return env.settings.model_copy(
        update={"engine": env.settings.engine.model_copy(update={"executor_id": "wait-1"})}
    )


def _until(check: Any) -> bool:
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_refund_and_cancel_workflows_wait_for_acceptance_then_go_out(tmp_path: Path) -> None:
    env = Env(tmp_path)
    a = env.offer_skus("debenhams")[0]
    b = env.offer_skus("sportshub")[0]
    refunded, _ = run(unaccepted_order(env, "debenhams", [(a, 1)]))
    cancelled, _ = run(unaccepted_order(env, "sportshub", [(b, 1)]))
    source = RefundSource("shopify-refund:2001", "debenhams", refunded, {a: 1}, "shopify_refund")
    with env.workflows(wait_seconds=0.2, follow_seconds=0.2):
        runtime = start_runtime(
            _settings(env),
            flow_modules=("mirakl_sync.workflows.dispatch",),
            context=env.flow_context(_settings(env), wait_seconds=0.2, follow_seconds=0.2),
        )
        try:
            refund = runtime.engine.retrieve(start_refund(source))
            cancel = start_workflow(
                cancel_order, "sportshub", cancelled, None, workflow_id="cancel:sportshub:w1"
            )
            # Both have tried and are sleeping (a few tries at 0.2 s): still PENDING.
            steps = ("mirakl_sync.refund.send", "mirakl_sync.cancel.send")

            def tried_twice() -> bool:
                names = [s.name for s in runtime.engine.list_steps(refund.workflow_id)]
                names += [s.name for s in runtime.engine.list_steps(cancel.workflow_id)]
                return all(names.count(n) >= 2 for n in steps)

            assert _until(tried_twice)
            assert refund.status().status == "PENDING"
            assert cancel.status().status == "PENDING"
            assert refunds_on(env, "debenhams", refunded) == []
            assert not [r for r in open_exceptions(env) if r.severity != Severity.INFO]

            assert run(accept(env, "debenhams", refunded)) == "SHIPPING"
            assert run(accept(env, "sportshub", cancelled)) == "SHIPPING"
            assert _until(lambda: refunds_on(env, "debenhams", refunded))
            env.now[0] += 120  # the operator pays the refund: refund_state REFUNDED
            done = refund.result()
            assert done["status"] == "sent", done
            assert set(done["refund_states"].values()) == {"REFUNDED"}
            assert len(refunds_on(env, "debenhams", refunded)) == 1
            assert cancel.result()["status"] == "cancelled"
            assert env.mirakl_order("sportshub", cancelled).state.value == "CANCELED"
            assert open_exceptions(env) == []
        finally:
            runtime.stop()
    env.close()
