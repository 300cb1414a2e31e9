"""Where many independent computations run: in this process, or as Dask tasks on a cluster.

Shared by both layers (it imports neither). With no setting, :func:`dask_client` starts a
``LocalCluster`` (worker processes, one thread each, as many as the machine has cores) and stops
it when the run ends; with a scheduler address (the ``address`` argument or the
``SHOPCAST_DASK_ADDRESS`` environment variable, e.g. ``tcp://10.0.0.5:8786``) the same code runs
on that existing cluster and leaves it running.

:func:`run_tasks` is the one way the analysis submits work: the data are scattered to the workers
once (never captured in a task's closure), each task is retried when its worker dies, and a task
that still fails stops the run with an error naming it (never a silent partial result).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from typing import Any

from shopcast.config import one_blas_thread_env
from shopcast.exceptions import ShopcastError

#: The environment variable holding a Dask scheduler address.
ADDRESS_ENV = "SHOPCAST_DASK_ADDRESS"
#: How the work may run: in this process, or as Dask tasks.
ENGINES = ("serial", "dask")
#: Times a task is resubmitted after raising (a worker that dies is handled by the scheduler,
#: which reschedules its tasks up to ``distributed.scheduler.allowed-failures`` times).
TASK_RETRIES = 2


class EngineError(ShopcastError):
    """A task failed on the cluster (after its retries), or the cluster cannot be reached."""


def scheduler_address(address: str | None = None) -> str | None:
    """The scheduler to use: ``address`` if given, else ``$SHOPCAST_DASK_ADDRESS``, else None."""
    chosen = address or os.environ.get(ADDRESS_ENV, "").strip()
    return chosen or None


def local_workers(n_workers: int | None = None) -> int:
    """Workers of a local cluster: ``n_workers`` if given, else one per core."""
    if n_workers is not None:
        if n_workers < 1:
            raise EngineError(f"n_workers must be >= 1, got {n_workers}")
        return int(n_workers)
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


@contextlib.contextmanager
def dask_client(address: str | None = None, n_workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: on ``address`` (or the env var), else on a LocalCluster.

    The LocalCluster uses worker processes with one thread each (the forecasters hold the GIL)
    and one BLAS thread per worker; it is closed when the block ends. A client on an existing
    scheduler is closed too, but the cluster is left running.

    Args:
        address: a scheduler address such as ``tcp://127.0.0.1:8786``; None to use
            ``$SHOPCAST_DASK_ADDRESS`` or, when unset, a new LocalCluster.
        n_workers: workers of the LocalCluster (default one per core); ignored with an address.

    Raises:
        EngineError: when the scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster

    address = scheduler_address(address)
    if address is not None:
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise EngineError(
                f"cannot reach the Dask scheduler at {address!r} ({exc}); start one with "
                f"`dask scheduler`, or unset {ADDRESS_ENV} to run on a local cluster"
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    # one BLAS thread per worker: the workers already use every core
    env = one_blas_thread_env()
    with (
        LocalCluster(
            n_workers=local_workers(n_workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
            env=env,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_tasks(
    function: Callable[..., Any],
    chunks: Sequence[Any],
    shared: dict[str, Any] | None = None,
    client: Any = None,
    names: Sequence[str] | None = None,
) -> list[Any]:
    """``[function(chunk, **shared) for chunk in chunks]``, serially or as Dask tasks.

    With a client, every chunk and every shared value is scattered to the workers once and the
    tasks receive them as futures (the data never travel inside the task's closure). ``function``
    must be a module-level function (pickled by reference).

    Args:
        function: called as ``function(chunk, **shared)``.
        chunks: the data of each task.
        shared: keyword arguments every task receives (e.g. a random draw all tasks share);
            broadcast to every worker once.
        client: a ``distributed.Client``, or None to run in this process.
        names: a label per chunk for error messages (default the chunk's position).

    Returns:
        The results in the order of ``chunks``.

    Raises:
        EngineError: when a task still fails after its retries (its worker died too often, or it
            raised); the message names the chunk and the cause. No partial result is returned.
    """
    shared = dict(shared or {})
    names = list(names) if names is not None else [f"chunk {i}" for i in range(len(chunks))]
    if client is None:
        return [function(chunk, **shared) for chunk in chunks]
    results: list[Any] = [None] * len(chunks)
    pending = list(range(len(chunks)))
    for _ in range(TASK_RETRIES + 1):
        # Scattered data has no lineage: when the only worker holding it dies, the tasks that
        # need it are cancelled. Those chunks are scattered again and resubmitted.
        shared_futures = {k: client.scatter(v, broadcast=True) for k, v in shared.items()}
        chunk_futures = client.scatter([chunks[i] for i in pending])
        futures = [
            client.submit(function, chunk, **shared_futures, retries=TASK_RETRIES, pure=False)
            for chunk in chunk_futures
        ]
        lost = []
        for i, future in zip(pending, _settled(futures, [names[i] for i in pending]), strict=True):
            if future is None:
                lost.append(i)
            else:
                results[i] = future
        if not lost:
            return results
        pending = lost
    raise EngineError(
        f"{names[pending[0]]} lost its data on the Dask cluster {TASK_RETRIES + 1} times "
        "(the workers holding it died); no partial result was kept. Check the workers' memory "
        "and logs, then rerun"
    )


def _settled(futures: Sequence[Any], names: Sequence[str]) -> list[Any]:
    """Each future's result, or None for one cancelled because its data were lost.

    Raises:
        EngineError: for a task that failed after its retries (the first one, by position).
    """
    from distributed import wait

    remaining = list(futures)
    while remaining:
        # the statuses below tell which were cancelled; wait on for the others
        with contextlib.suppress(CancelledError):
            wait(remaining)
        remaining = [f for f in remaining if f.status in ("pending", "lost", "processing")]
        if remaining:
            time.sleep(0.1)
    out = []
    for name, future in zip(names, futures, strict=True):
        if future.status == "finished":
            out.append(future.result())
        elif future.status == "cancelled":
            out.append(None)
        else:
            for f in futures:
                f.cancel()
            _raise_failure(name, future)
    return out


def _raise_failure(name: str, future: Any) -> None:
    try:
        exc = future.exception()
    except CancelledError as inner:
        exc = inner
    if isinstance(exc, ShopcastError):
        raise exc
    raise EngineError(
        f"{name} failed on the Dask cluster: {type(exc).__name__}: {exc}; no partial result "
        "was kept. A KilledWorker means the task's worker died more often than the scheduler "
        "allows (distributed.scheduler.allowed-failures); check the workers' memory and logs, "
        "then rerun"
    ) from exc
