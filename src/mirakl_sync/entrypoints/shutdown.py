"""Ctrl+C and SIGTERM end a long-running command promptly, whatever its threads wait on.

``mirakl-sync run``, ``worker`` and ``demo`` host threads the hub does not own: the
engine's step executor (a step can be asleep on a far budget slot or a hung socket),
uvicorn's, the sandbox's. Python waits for every non-daemon thread before a process
exits, so one such thread kept the demo alive after Ctrl+C, and a second Ctrl+C did
nothing (issue 9, failure 8). Here:

* the first signal starts the clean shutdown (the servers stop, the engine is destroyed,
  the heartbeat row says ``stopped``), bounded by :data:`GRACE_SECONDS`;
* a second signal, or the end of the grace period, exits at once;
* when the clean shutdown is done the process exits with ``os._exit``, without waiting
  for threads that are still asleep. Unfinished workflows stay PENDING in the engine's
  database: this executor resumes them at its next start, or another process's watchdog
  hands them on after ``engine.heartbeat_timeout_seconds``.
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

#: How long the clean shutdown may take before the process exits anyway.
GRACE_SECONDS = 15.0
#: The exit code of a process stopped by a signal (128 + SIGINT, as shells report it).
INTERRUPTED = 130


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

    def handle(self, signum: int, frame: FrameType | None) -> None:
        with self._lock:
            self._received += 1
            first = self._received == 1
        if not first:
            print("mirakl-sync: stopping now", file=sys.stderr, flush=True)
            leave(INTERRUPTED)
        print(
            f"mirakl-sync: stopping (press Ctrl+C again to stop at once; at most "
            f"{self._grace:.0f} s)",
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
    leave(code)
