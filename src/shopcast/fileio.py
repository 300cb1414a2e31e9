"""Writing files safely: the one atomic writer every module uses.

Readers see the old content or the new, never half of it. The temporary file is created with
``O_EXCL | O_NOFOLLOW``, so a planted file or symlink at its name is never followed or truncated.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a fresh temporary file renamed over it.

    Args:
        path: the target file.
        data: text (written as UTF-8) or bytes.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_create(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to a new file ``path`` atomically; never replace an existing file.

    Like :func:`atomic_write`, but the finished temporary file is hard-linked to ``path``, which
    fails when ``path`` exists: for append-only stores, whose files are written once.

    Raises:
        FileExistsError: ``path`` already exists (its content is left untouched).
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
