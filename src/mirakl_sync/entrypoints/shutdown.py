"""Ctrl+C and SIGTERM end a long-running command promptly, whatever its threads wait on.

``mirakl-sync run``, ``worker`` and ``demo`` host threads the hub does not own: the
engine's step executor (a step can be asleep on a far budget slot or a hung socket),
uvicorn's, the sandbox's. Python waits for every non-daemon thread before a process
exits, so one such thread kept the demo alive after Ctrl+C, and a second Ctrl+C did
nothing (issue 9, failure 8). Here:

* the first signal starts the clean shutdown: the servers stop, then the engine DRAINS
  (issue 10, item 7: no more dequeuing nor schedule ticks, the steps in flight get
  ``DRAIN_SECONDS`` to finish and be checkpointed, the unfinished workflows go back on
  their queues; see :mod:`mirakl_sync.workflows.runtime`), the heartbeat row says
  ``stopped``; all of it bounded by :data:`GRACE_SECONDS`;
* a second signal, or the end of the grace period, exits at once;
* when the clean shutdown is done the process exits with ``os._exit``, without waiting
  for threads that are still asleep or parked at the drain's gate (the engine is never
  destroyed under them). Exit code: 0 after SIGTERM with a clean drain, 130 after Ctrl+C,
  :data:`HANDED_BACK` when steps were still running at the drain's bound (their workflows
  stay PENDING: the next start resumes them, or another process's watchdog hands them
  on).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

from mirakl_sync.errors import ConfigError, MiraklSyncError
from mirakl_sync.workflows.runtime import (
    DRAIN_SECONDS,
    EXIT_MARGIN_SECONDS,
    exit_after_stop,
    last_drain,
)

#: How long the clean shutdown may take before the process exits anyway: the engine's
#: drain plus the web server's shutdown and the last heartbeat write.
GRACE_SECONDS = DRAIN_SECONDS + EXIT_MARGIN_SECONDS
#: The exit code of a process stopped by a signal (128 + SIGINT, as shells report it).
INTERRUPTED = 130
#: The exit code when steps were still running at the drain's bound and were cut off
#: (EX_TEMPFAIL: their workflows resume at the next start).
HANDED_BACK = 75


def leave(code: int) -> NoReturn:
    """Flush what was written and end the process now, whatever threads still run."""
    try:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


class _Signals:
    def __init__(self, grace_seconds: float) -> None:
        self._grace = grace_seconds
        self._received = 0
        self._lock = threading.Lock()
        self.first_signal: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        with self._lock:
            self._received += 1
            first = self._received == 1
        if not first:
            print("mirakl-sync: stopping now", file=sys.stderr, flush=True)
            leave(INTERRUPTED)
        self.first_signal = signum
        exit_after_stop()  # the engine drains rather than being destroyed under its steps
        print(
            f"mirakl-sync: stopping: letting the steps in flight finish (press Ctrl+C "
            f"again to stop at once; at most {self._grace:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        timer = threading.Timer(self._grace, leave, args=(INTERRUPTED,))
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt


def run_until_stopped(
    serve: Callable[[], None], *, grace_seconds: float = GRACE_SECONDS
) -> NoReturn:
    """Run ``serve`` (a blocking server) and exit the process when it returns or a
    signal stops it: 0 after a normal return, 130 after Ctrl+C or SIGTERM.

    Servers that install their own handlers while they run (uvicorn does, and re-raises
    the signal once it has stopped) hand the signal on to these when they are done.
    """
    handler = _Signals(grace_seconds)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler.handle)
        signal.signal(signal.SIGTERM, handler.handle)
    code = 0
    try:
        serve()
    except KeyboardInterrupt:
        code = INTERRUPTED
    except ConfigError as exc:
        print(f"mirakl-sync: {exc}", file=sys.stderr)
        code = 2
    except MiraklSyncError as exc:
        print(f"mirakl-sync: {exc}", file=sys.stderr)
        code = 3
    except Exception:  # an unexpected failure still ends the process, with its traceback
        traceback.print_exc()
        code = 1
    drained = last_drain()
    if drained is not None and not drained.clean:
        code = HANDED_BACK
    elif code == INTERRUPTED and handler.first_signal == signal.SIGTERM:
        code = 0  # asked to stop, and stopped cleanly: what a service manager expects
    leave(code)
