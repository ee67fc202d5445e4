"""How many threads torch may use for one fit.

A Dask cluster runs one task per worker thread and is normally sized to have
about one worker thread per core, so a fit that ran on every core of its
machine (torch's default) would compete with the fits beside it. Measured on
2 cores (``benchmarks/scaleout.py``): a 12-fit grid search on a local cluster
of 2 single-threaded workers took 5.2 s with one torch thread per task and
15.2 s with torch on every core, against 7.7 s run locally one fit at a time.
Inside a Dask worker a fit therefore uses a single torch thread, as Dask's own
``OMP_NUM_THREADS=1`` default for workers intends. Elsewhere torch keeps its
setting (joblib's own process pools already limit it through the environment).
"""

import sys
from contextlib import contextmanager

import torch


def dask_worker_threads():
    """Torch threads per task inside a Dask worker, or None outside one.

    Examples
    --------
    >>> dask_worker_threads() is None
    True
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        distributed.get_worker()
    except ValueError:
        return None
    return 1


@contextmanager
def torch_threads_for_task():
    """Limit torch's intra-op threads for the duration of a fit when inside a Dask worker.

    Examples
    --------
    >>> with torch_threads_for_task():
    ...     pass
    """
    threads = dask_worker_threads()
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
