"""One writer per workdir: an exclusive, non-blocking lock on WORKDIR/.lock while a run trains.

A second run on the same workdir (another terminal, a resubmitted job) stops at once with a clear
message instead of training beside the first and writing the same checkpoints. The lock is an
`fcntl.flock` on an open file, so the kernel drops it when the holder exits, even when killed: a
stale lock file never blocks the resume of a crashed run. With several hosts, process 0 holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

import jax

LOCK_NAME = ".lock"


class WorkdirBusy(RuntimeError):
    """Another process is running in this workdir."""


@contextlib.contextmanager
def hold(workdir: str) -> Iterator[None]:
    """Hold the workdir's lock for the duration of the block; raise WorkdirBusy if another run holds it."""
    if jax.process_index() != 0:
        yield
        return
    path = os.path.join(workdir, LOCK_NAME)
    fh = open(path, "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise WorkdirBusy(
                f"{workdir} is in use by another run (pid {holder}); wait for it to finish or use another --workdir."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        fh.close()  # closing the file releases the lock
