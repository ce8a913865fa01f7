"""Run independent trials in parallel: in-process, on a local process pool, or on Ray.

Every backend runs the same pure function on the same task objects, so a task's result does not
depend on where it ran: per-trial randomness must come from the task itself (seeds derived from
one root seed with ``np.random.SeedSequence(root).spawn(n)``), never from process state. Results
are yielded as tasks complete (in completion order, tagged with the task index), so a caller can
write them to disk incrementally and a killed run loses at most the tasks in flight.

Backends:

* ``"local"`` (default): ``workers <= 1`` runs in-process (no pickling, easy to debug); otherwise a
  ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start method (safe with torch and
  BLAS thread pools). Each worker limits BLAS/OpenMP/torch to one thread so ``workers`` processes
  use ``workers`` cores. As with any ``spawn`` pool, a script that calls this must guard its entry
  point with ``if __name__ == "__main__":`` (workers re-import the main module).
* ``"ray"``: ``ray.init(address=...)`` (a running cluster, e.g. ``"auto"``), or a local instance with
  ``num_cpus=workers`` when no address is given. Each task is a ``num_cpus=1`` remote call.

This module imports nothing heavy at import time (no numpy, torch or ray).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["BACKENDS", "default_workers", "run_tasks"]

T = TypeVar("T")
R = TypeVar("R")

#: Names accepted by :func:`run_tasks` (and the CLI's ``--backend``).
BACKENDS: tuple[str, ...] = ("local", "ray")

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def default_workers() -> int:
    """Default number of parallel workers: the CPUs this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _limit_threads() -> None:
    """Worker initializer: one BLAS/OpenMP/torch thread per worker; die with the parent.

    On Linux the worker asks the kernel for SIGTERM when its parent exits, so a killed sweep does
    not leave orphaned workers computing trials nobody will record.
    """
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
            if os.getppid() == 1:  # the parent died before prctl took effect
                os._exit(1)
        except (OSError, AttributeError):  # pragma: no cover - exotic libc
            pass
    if "torch" in sys.modules:  # pragma: no cover - spawned workers start without torch
        sys.modules["torch"].set_num_threads(1)


def _check(backend: str, workers: int | None) -> int:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    n = default_workers() if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    return n


def run_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    desc: str = "trials",
) -> Iterator[tuple[int, R]]:
    """Apply ``fn`` to every task, yielding ``(task index, result)`` as tasks complete.

    Args:
        fn: a module-level (picklable) function of one task; it must be deterministic given the task.
        tasks: the task objects (picklable for the process-pool and Ray backends).
        backend: ``"local"`` or ``"ray"``.
        workers: parallel workers (default: the usable CPUs). With ``backend="local"`` and
            ``workers == 1`` the tasks run in this process.
        address: Ray cluster address (``"auto"``, ``"ray://host:10001"``...); ``None`` starts a local
            Ray instance with ``num_cpus=workers``. Ignored by the local backend.
        progress: show a tqdm progress bar (on stderr).
        desc: progress-bar label.

    Yields:
        ``(i, fn(tasks[i]))`` in completion order. An exception raised by ``fn`` propagates to the
        caller (after which pending local tasks are cancelled).

    Raises:
        ValueError: unknown backend or a non-positive ``workers``.
        ImportError: ``backend="ray"`` without ray installed (names the ``ray`` extra).
    """
    n_workers = _check(backend, workers)
    if not tasks:
        return
    bar = _progress(len(tasks), desc, progress)
    try:
        if backend == "ray":
            it = _run_ray(fn, tasks, n_workers, address)
        elif n_workers == 1 or len(tasks) == 1:
            it = ((i, fn(t)) for i, t in enumerate(tasks))
        else:
            it = _run_pool(fn, tasks, n_workers)
        for item in it:
            bar.update(1)
            yield item
    finally:
        bar.close()


def _run_pool(fn: Callable[[T], R], tasks: Sequence[T], workers: int) -> Iterator[tuple[int, R]]:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)), mp_context=ctx, initializer=_limit_threads
    ) as pool:
        futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        try:
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = futures.pop(fut)
                    yield i, fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _run_ray(
    fn: Callable[[T], R], tasks: Sequence[T], workers: int, address: str | None
) -> Iterator[tuple[int, R]]:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("backend='ray' needs ray; install it with `pip install isac-gym[ray]`") from exc
    started = False
    if not ray.is_initialized():
        env_vars = {v: "1" for v in _THREAD_VARS}
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "runtime_env": {"env_vars": env_vars},
        }
        if address is None:
            kwargs["num_cpus"] = workers
        ray.init(address=address, **kwargs)
        started = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(fn)
        # Keep at most 2 * workers tasks in flight so results stream back in order of completion
        # without flooding the object store on big sweeps.
        pending: dict[Any, int] = {}
        nxt = 0
        cap = 2 * workers
        while nxt < len(tasks) or pending:
            while nxt < len(tasks) and len(pending) < cap:
                pending[remote.remote(tasks[nxt])] = nxt
                nxt += 1
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                yield pending.pop(ref), ray.get(ref)
    finally:
        if started:
            ray.shutdown()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the experiments/agents extras
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="task", dynamic_ncols=True, leave=False)
