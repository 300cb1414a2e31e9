"""Writing files safely: the one atomic writer every module uses.

Readers see the old content or the new, never half of it. The temporary file is created with
``O_EXCL | O_NOFOLLOW``, so a planted file or symlink at its name is never followed or truncated.
"""

from __future__ import annotations

import errno
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
    tmp = _written_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _written_temp(path: Path, data: str | bytes, sync: bool = False) -> Path:
    """A fresh temporary file beside ``path`` holding ``data`` (never a planted file or link)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


#: The largest data file read (the embedded data are a few kilobytes; a daily GMV file for ten
#: years with segments is a few megabytes).
MAX_DATA_FILE_BYTES = 200_000_000

_MAGIC = (
    (b"\x1f\x8b", "gzip-compressed: decompress it first (gunzip FILE)"),
    (b"PK\x03\x04", "a zip archive (e.g. an .xlsx workbook): export it as CSV"),
    (b"%PDF", "a PDF: export the table as CSV"),
)


def check_text_file(path: str | Path, max_bytes: int = MAX_DATA_FILE_BYTES) -> str:
    """The text of a data file, or a DataError saying why it is not a UTF-8 text file.

    Refuses a folder, a FIFO or device, a file over ``max_bytes``, a compressed or binary file,
    and bytes that are not UTF-8, naming the line and column of the first bad byte and its
    value. A UTF-8 byte-order mark is dropped.

    Raises:
        DataError: what is wrong and how to fix it.
    """
    from shopcast.exceptions import DataError  # shared modules import no layer; this is shared

    path = Path(path)
    try:
        if path.is_dir():
            raise DataError(path, "is a folder, not a data file; give the path of a CSV file")
        if not path.exists():
            raise DataError(path, "file not found; check the path")
        if not path.is_file():
            raise DataError(
                path, "is not a regular file (a FIFO, socket or device); give a CSV file"
            )
        size = path.stat().st_size
        if size > max_bytes:
            raise DataError(path, f"is {size:,} bytes; data files are read up to {max_bytes:,}")
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror or exc})") from None
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise DataError(path, f"is {what}")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line, column = _position(raw, nul)
        raise DataError(
            path,
            f"is binary, not text (a NUL byte at line {line}, column {column}); "
            "give a UTF-8 CSV file",
            row=line,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(raw, exc.start)
        bad = raw[exc.start : exc.start + 1].hex()
        raise DataError(
            path,
            f"byte 0x{bad} at line {line}, column {column} is not UTF-8 (the file looks like "
            "Latin-1 or Windows-1252); save it as UTF-8",
            row=line,
        ) from None
    return text.removeprefix("\ufeff")


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of byte ``offset``."""
    line = raw.count(b"\n", 0, offset) + 1
    return line, offset - (raw.rfind(b"\n", 0, offset) + 1) + 1


def open_nofollow(path: str | Path, flags: int = os.O_RDWR | os.O_CREAT, mode: int = 0o644) -> int:
    """``os.open`` that refuses a symbolic link at ``path`` (``O_NOFOLLOW``).

    Raises:
        UnsafePathError: ``path`` is a symbolic link (a planted link would redirect the write).
    """
    from shopcast.exceptions import UnsafePathError

    try:
        return os.open(path, flags | os.O_NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(
                path, "is a symbolic link; shopcast never writes through one. Remove the link"
            ) from None
        raise


def check_inside(path: str | Path, root: str | Path) -> None:
    """Refuse ``path`` when a symbolic link takes it outside ``root``.

    Raises:
        UnsafePathError: naming the link and where it points.
    """
    from shopcast.exceptions import UnsafePathError

    root = Path(root).resolve()
    path = Path(path)
    real = path.resolve()
    if real != root and root not in real.parents:
        raise UnsafePathError(
            path,
            f"leads to {real}, outside the reports folder {root} (through a symbolic link); "
            "shopcast writes only inside the reports folder. Replace the link with a folder",
        )


def atomic_create(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to a new file ``path`` atomically; never replace an existing file.

    Like :func:`atomic_write`, but the finished temporary file is hard-linked to ``path``, which
    fails when ``path`` exists: for append-only stores, whose files are written once.

    Raises:
        FileExistsError: ``path`` already exists (its content is left untouched).
    """
    path = Path(path)
    tmp = _written_temp(path, data, sync=True)
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
