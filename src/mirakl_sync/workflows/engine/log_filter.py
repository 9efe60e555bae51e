"""The filter the engine puts on DBOS's logger, so a retried step logs one line."""

from __future__ import annotations

import logging


class _RetryWithoutTraceback(logging.Filter):
    """DBOS logs every automatic step retry as a warning WITH the error's traceback.
    A retried step is routine (a 500, a timeout: the clients already log each failed call
    in one line), and under faults the tracebacks buried everything else and read as
    crashes (a stop during a retry printed one). Keep the warning, in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("Step being automatically retried"):
            error = record.exc_info[1]
            record.msg = f"{record.msg}: {type(error).__name__}: {error}"
            record.exc_info = None
            record.exc_text = None
        return True


_RETRY_FILTER = _RetryWithoutTraceback()
