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
from traitlets import Dict

KERNEL_NAME = "shopcast"
KERNEL_DISPLAY_NAME = "Python (shopcast)"


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

    ``run_env`` is added to the kernel's environment (the run's identity, see
    :func:`shopcast.config.run_context`).
    """

    run_env = Dict(help="environment variables added to the kernel's environment")

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
            env=dict(self.run_env),
        )


def project_kernel_manager(env: dict[str, str] | None = None) -> AsyncKernelManager:
    """A kernel manager for the project's kernel, on IPC sockets in a fresh private folder.

    Args:
        env: variables added to the kernel's environment (e.g. the run's identity).
    """
    sock_dir = Path(tempfile.mkdtemp(prefix="shopcast-kernel-"))
    return AsyncKernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=ProjectKernelSpecManager(run_env=env or {}),
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
