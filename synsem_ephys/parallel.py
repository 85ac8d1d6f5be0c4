"""Fan-out on any executor: the one way the package runs independent tasks in parallel.

:func:`map_tasks` runs ``fn(task)`` for every task and returns the results in task order, on

* nothing (``executor=None``): a plain loop in this process, the reference;
* any :class:`concurrent.futures.Executor` (``submit``/``result``): a ``ProcessPoolExecutor``,
  ``mpi4py.futures.MPIPoolExecutor`` (extra ``[mpi]``), a Dask ``distributed.Client(...).get_executor()``
  (extra ``[dask]``);
* Elephant's executors (``elephant.parallel.SingleProcess``, ``ProcessPoolExecutor``, ``MPIPoolExecutor``,
  ``MPICommExecutor``), which expose ``execute(handler, args_iterate)``.

No engine is a dependency of the core: the package never imports one, the caller builds the executor.

Reproducibility: randomness is seeded **per task**, never per worker, so a run on any executor with any
number of workers equals the serial run bit for bit. Callers derive the seed of task ``k`` from their
``seed`` argument (:func:`task_seeds`), or draw everything random in the parent and send only the data.

:func:`make_executor` builds one of the three engines by name for the CLI (``--jobs N --executor
process|mpi|dask``).
"""

import numpy as np

from .errors import input_error

__all__ = ["map_tasks", "task_seeds", "make_executor", "set_threads", "idle_cores", "EXECUTORS"]

#: Executor names understood by :func:`make_executor`.
EXECUTORS = ("serial", "process", "mpi", "dask")


def task_seeds(seed, n_tasks):
    """Independent seeds of ``n_tasks`` tasks from one ``seed`` (numpy SeedSequence spawn; same on every executor)."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(int(seed)).spawn(int(n_tasks))]


def _is_futures_executor(executor):
    return hasattr(executor, "submit") and callable(executor.submit)


def map_tasks(fn, tasks, *, executor=None, on_error="raise"):
    """``[fn(t) for t in tasks]``, on ``executor`` (see the module docstring), results in task order.

    Parameters
    ----------
    fn : callable
        A picklable function of one task (module-level, for process and MPI executors).
    tasks : iterable
    executor : None, concurrent.futures.Executor or an Elephant executor
    on_error : {"raise", "return"}
        "return" puts the exception object in the failed task's place instead of raising (the others finish).

    Returns
    -------
    list
    """
    tasks = list(tasks)
    if on_error not in ("raise", "return"):
        raise input_error("on_error", "'raise' or 'return'", repr(on_error))
    if executor is None:
        out = []
        for t in tasks:
            try:
                out.append(fn(t))
            except Exception as exc:  # noqa: BLE001 - reported to the caller as the task's result
                if on_error == "raise":
                    raise
                out.append(exc)
        return out
    if _is_futures_executor(executor):
        futures = [executor.submit(fn, t) for t in tasks]
        out = []
        for f in futures:
            try:
                out.append(f.result())
            except Exception as exc:  # noqa: BLE001
                if on_error == "raise":
                    raise
                out.append(exc)
        return out
    if hasattr(executor, "execute"):  # Elephant's executors: execute(handler, args_iterate) -> list
        if on_error == "return":
            return executor.execute(_Catching(fn), tasks)
        return executor.execute(fn, tasks)
    raise input_error("executor", "None, a concurrent.futures.Executor or an elephant.parallel executor",
                      type(executor).__name__)


class _Catching:
    """Picklable wrapper returning a task's exception instead of raising it."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, task):
        try:
            return self.fn(task)
        except Exception as exc:  # noqa: BLE001
            return exc


def make_executor(name, jobs=None, *, scheduler=None):
    """An executor by name for ``jobs`` workers: "serial" (None), "process", "mpi" or "dask".

    ``mpi`` needs ``mpi4py`` and an MPI launcher (run under ``mpiexec -n N python -m mpi4py.futures ...``);
    ``dask`` starts a ``LocalCluster`` of ``jobs`` workers unless ``scheduler`` (an address) is given.
    The caller shuts it down (``executor.shutdown()``; for Dask the returned executor closes its client).
    """
    if name not in EXECUTORS:
        raise input_error("executor", f"one of {EXECUTORS}", repr(name))
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1):
        raise input_error("jobs", "an int >= 1", repr(jobs))
    if name == "serial" or (name == "process" and jobs == 1):
        return None
    if name == "process":
        import concurrent.futures
        import multiprocessing

        return concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    if name == "mpi":
        from .optional import require

        futures = require("mpi4py.futures", "the MPI executor")
        return futures.MPIPoolExecutor(max_workers=jobs)
    from .optional import require

    distributed = require("distributed", "the Dask executor")
    client = distributed.Client(scheduler) if scheduler else distributed.Client(
        distributed.LocalCluster(n_workers=jobs or 1, threads_per_worker=1, processes=True, dashboard_address=None))
    return _DaskExecutor(client)


class _DaskExecutor:
    """``client.get_executor()`` that also closes the client (and its LocalCluster) on shutdown."""

    def __init__(self, client):
        self.client = client
        self._ex = client.get_executor()

    def submit(self, fn, *args, **kwargs):
        return self._ex.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True):
        self._ex.shutdown(wait=wait)
        cluster = getattr(self.client, "cluster", None)
        self.client.close()
        if cluster is not None:
            cluster.close()


def idle_cores(*, load=None, cores=None):
    """Cores not busy with other work: ``cores`` (default ``os.cpu_count()``) minus the 1-minute load
    average rounded (default ``os.getloadavg()``), at least 1. The CLI's thread count when ``--threads`` is not
    given: a quiet 2-core machine gets 2 threads, a busy one 1 (on a loaded 2-core machine 2 threads ran a
    training batch 3-4x slower than 1: ``bench/bench_threads.py``)."""
    import os

    cores = (os.cpu_count() or 1) if cores is None else int(cores)
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # no load average on this platform: take the machine as quiet
            load = 0.0
    return int(max(1, min(cores, cores - int(load + 0.5))))


def set_threads(n):
    """Use ``n`` compute threads in this process: torch's intra-op threads and numba's (when numba is loaded).

    The library sets no thread count by itself. On a shared or busy machine, fewer threads than cores
    avoid oversubscription (a run on a loaded 2-core machine was 18x slower with 2 torch threads than with 1);
    workers of an executor each get their own (:func:`synsem_ephys.train.sweep` uses 1 per job by default).
    """
    import sys

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise input_error("threads", "an int >= 1", repr(n))
    import torch

    torch.set_num_threads(int(n))
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    return int(n)
