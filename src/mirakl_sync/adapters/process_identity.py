"""Who a process is, and whether another one on this machine still runs.

The executors' rows (``workflows.heartbeat``) and the store's claims (``SqlClaims``) name
their process by host, pid and PID space: two processes in the same space see the same
pids, so one can tell for certain that the other is gone, without waiting for a lease or
a missed heartbeat.
"""

from __future__ import annotations

import os
import socket


def process_space() -> str | None:
    """This process's PID space: the boot id and the PID namespace it runs in (Linux).

    Two processes with the same space see the same pids, so one can tell for certain
    that the other's pid no longer runs. Containers that share a hostname have their
    own PID namespaces, hence different spaces. None where ``/proc`` does not say.
    """
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            boot_id = boot.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    return f"{boot_id}/{namespace}" if boot_id and namespace else None


def process_is_gone(hostname: str, pid: int) -> bool:
    """True only when ``pid`` on this host is known not to run any more (another host's
    process cannot be checked from here, so it counts as running)."""
    if hostname != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def holder_of(pid: int | None = None) -> str:
    """A process as a claim names it: ``hostname|pid|space`` (this process by default)."""
    return f"{socket.gethostname()}|{os.getpid() if pid is None else pid}|{process_space() or ''}"


def holder_is_gone(holder: str) -> bool:
    """True only when ``holder`` (``holder_of``) is a process of this host and PID space
    that no longer runs; any other holder counts as running."""
    hostname, _, rest = holder.partition("|")
    pid, _, space = rest.partition("|")
    if not pid.isdigit() or not space or space != process_space():
        return False
    return process_is_gone(hostname, int(pid))
