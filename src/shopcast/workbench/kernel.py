"""The project's own kernel, controlled by the runner.

A scheduled run must never pick up a ``python3`` kernelspec found elsewhere on the machine
(papermill #251, #761): the runner starts the kernel with the interpreter it is itself running
in (the project's ``.venv``), whatever kernelspecs the user or the system have installed. The same
interpreter backs the ``shopcast`` kernelspec that ``make setup`` installs into ``.venv`` for
JupyterLab, so a notebook run by hand uses the same environment.

Kernels talk over IPC sockets in a private temporary folder rather than TCP ports, so that
kernels started in parallel cannot race for the same port (papermill #511).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from shopcast.config import one_blas_thread_env

KERNEL_NAME = "shopcast"
KERNEL_DISPLAY_NAME = "Python (shopcast)"
#: The longest folder the kernel's sockets are made in: a socket's path (folder, a 25-character
#: subfolder and the socket's name) must fit the 107 bytes of AF_UNIX.
SOCKET_BASE_MAX = 70


def kernel_argv() -> list[str]:
    """The command line of the project's kernel: this interpreter running ipykernel."""
    return [
        sys.executable,
        "-Xfrozen_modules=off",
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
    ]


class ProjectKernelSpecManager(KernelSpecManager):
    """Resolves every kernel name to the project's own interpreter.

    ``kernel_env`` is added to the kernel's environment (the runner sets the run's private
    ``TMPDIR`` there, so cmdstanpy's and Prophet's temporary folders land in it).
    """

    def __init__(self, kernel_env: dict[str, str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_env = dict(kernel_env or {})

    def find_kernel_specs(self) -> dict[str, str]:
        """One kernel: the project's."""
        return {KERNEL_NAME: ""}

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:  # noqa: ARG002 - one kernel
        """The spec of the project's kernel, whatever name was asked for."""
        return KernelSpec(
            argv=kernel_argv(),
            display_name=KERNEL_DISPLAY_NAME,
            language="python",
            resource_dir="",
            metadata={},
            env=dict(self.kernel_env),
        )


def project_kernel_manager(
    run_tmp: str | Path | None = None, env: dict[str, str] | None = None
) -> AsyncKernelManager:
    """A kernel manager for the project's kernel, on IPC sockets in a fresh private folder.

    Args:
        run_tmp: the run's private temporary folder: the socket folder is made inside it and
            the kernel gets it as ``TMPDIR`` (``TEMP``, ``TMP``), so nothing the kernel leaves
            survives the folder's removal.
        env: variables added to the kernel's environment (e.g. the run's identity). The kernel
            also gets one BLAS thread (:data:`shopcast.config.ONE_BLAS_THREAD`) unless this
            process's environment says otherwise.
    """
    base = run_tmp
    if base is not None and len(str(base)) > SOCKET_BASE_MAX:
        base = "/tmp"
    sock_dir = Path(tempfile.mkdtemp(prefix="shopcast-kernel-", dir=base))
    env = {
        **one_blas_thread_env(),
        **(env or {}),
        **({n: str(run_tmp) for n in ("TMPDIR", "TEMP", "TMP")} if run_tmp else {}),
    }
    # The connection file (ports, key) in the socket folder too: removed with it, whatever ends
    # the run.
    return AsyncKernelManager(
        connection_file=str(sock_dir / "kernel.json"),
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=ProjectKernelSpecManager(kernel_env=env),
        transport="ipc",
        ip=str(sock_dir / "k"),
    )


def remove_sockets(km: AsyncKernelManager) -> None:
    """Delete the kernel's private socket folder (after the kernel has stopped)."""
    import shutil

    folder = Path(km.ip).parent
    if folder.name.startswith("shopcast-kernel-"):
        shutil.rmtree(folder, ignore_errors=True)


def kill_kernel(km: AsyncKernelManager) -> None:
    """Kill the kernel and everything it started (it runs in its own process group)."""
    provisioner = getattr(km, "provisioner", None)
    pid = getattr(provisioner, "pid", None) if provisioner else None
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
