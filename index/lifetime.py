"""Child processes that die with their parent.

Precis starts worker processes in two places: the digest workers of an ingest and the
server processes of `precis serve`. If the parent is killed (SIGKILL, the OOM killer),
nothing would stop them: a process pool's workers wait forever on a queue whose other end
they hold themselves. `die_with_parent` makes a child exit as soon as its parent is gone:
through the kernel's parent-death signal where Linux offers it, and through a watchdog
thread that notices the change of parent everywhere else.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, *, poll: float = 0.5) -> None:
    """Make this process exit when `parent_pid` is no longer its parent."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
