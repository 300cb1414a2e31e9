"""The exit codes of the ``shopcast`` command, and what each means (listed in ``--help``)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of the ``shopcast`` command (also listed in ``shopcast --help``)."""

    OK = 0
    CELL_ERROR = 1
    BAD_INPUT = 2
    TIMEOUT = 3
    KERNEL_DIED = 4
    BATCH_FAILED = 5
    LOCKED = 6
    RENDER_FAILED = 7
    CANNOT_WRITE = 8
    INTERRUPTED = 130


EXIT_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.CELL_ERROR: "a notebook cell raised an error (failure report written)",
    ExitCode.BAD_INPUT: "bad parameters, parameter file or usage; nothing was run or written",
    ExitCode.TIMEOUT: "the whole-run timeout was reached; the kernel was stopped",
    ExitCode.KERNEL_DIED: "the kernel died or could not start",
    ExitCode.BATCH_FAILED: "batch: at least one scenario failed",
    ExitCode.LOCKED: "batch: another batch holds the lock; nothing was run",
    ExitCode.RENDER_FAILED: "the notebook ran but its report could not be rendered safely",
    ExitCode.CANNOT_WRITE: "the reports folder could not be written (read-only, full disk, or a "
    "symbolic link where shopcast writes); no run is left running",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C or SIGTERM) in any phase; run recorded as "
    "interrupted",
}
