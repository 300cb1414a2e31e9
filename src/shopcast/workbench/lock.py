"""The batch lock: one batch at a time per reports folder (``fcntl`` lock on a file)."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from pathlib import Path

from shopcast.exceptions import BatchLocked
from shopcast.fileio import open_nofollow

#: The lock file in the reports folder.
LOCK_NAME = ".batch.lock"


class BatchLock:
    """An exclusive, non-blocking lock on the reports folder (released when the process ends)."""

    def __init__(self, root: Path):
        self.path = root / LOCK_NAME
        self.handle = None

    def __enter__(self) -> BatchLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a symlink planted at the lock's name is refused, never truncated.
        self.handle = os.fdopen(open_nofollow(self.path, os.O_RDWR | os.O_CREAT), "r+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "unknown"
            self.handle.close()
            raise BatchLocked(
                f"another batch is running on {self.path.parent} ({holder}); this one did "
                "nothing. Wait for it to finish, or check that process if it looks stuck."
            ) from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"pid {os.getpid()} since {dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ}")
        self.handle.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
