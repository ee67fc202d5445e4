"""Scale-out and fault tolerance: Dask searches, streaming with partial_fit, checkpoint cost.

1. A GridSearchCV (4 candidates x 3 folds) on digits, run locally with n_jobs=1 and on a
   local Dask cluster of 2 single-threaded worker processes, with the per-task torch
   thread limit (the default) and with it lifted (every worker lets torch use all cores).
   Wall time and whether the best parameters match the local search.
2. Held-out reconstruction MSE after streaming the training rows in chunks through
   ``partial_fit`` for E passes, next to ``fit`` for E epochs on all rows.
3. Seconds per epoch of ``fit`` with and without ``checkpoint_dir`` (median of interleaved
   runs).

Writes benchmarks/results/scaleout.md.

    python benchmarks/scaleout.py
"""

import argparse
import os
import statistics
import tempfile
import time

import joblib
import numpy as np
from _report import markdown_table, write_result
from sklearn.model_selection import GridSearchCV, train_test_split

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.datasets import load_dataset

GRID = {"n_components": [4, 16], "hidden_layer_sizes": [(64,), (256,)]}
SEARCH_BASE = {"max_iter": 30, "random_state": 0}


def lift_thread_limit():
    """Run in each worker: let torch use every core, as it would without sklearn-ae's limit."""
    import torch

    import sklearn_ae._threads as threads

    threads.dask_worker_threads = lambda: None
    torch.set_num_threads(os.cpu_count())


def timed_search(X, n_jobs):
    search = GridSearchCV(AutoencoderTransformer(**SEARCH_BASE), GRID, cv=3, n_jobs=n_jobs)
    start = time.perf_counter()
    search.fit(X)
    return time.perf_counter() - start, search.best_params_


def dask_searches(X):
    from distributed import Client, LocalCluster

    rows = []
    local_time, local_best = timed_search(X, n_jobs=1)
    rows.append(["local, n_jobs=1", f"{local_time:.1f}", "-"])
    for label, lift in [("one torch thread per task (default)", False), ("no limit", True)]:
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            if lift:
                client.run(lift_thread_limit)
            with joblib.parallel_config(backend="dask"):
                seconds, best = timed_search(X, n_jobs=-1)
        rows.append([f"Dask, 2 workers, {label}", f"{seconds:.1f}", best == local_best])
    return markdown_table(["search", "wall seconds", "same best params as local"], rows)


def streaming(data, epochs=5, n_chunks=8):
    dataset = load_dataset(data)
    X, y = dataset.data, dataset.target
    X_train, X_test = train_test_split(X, test_size=0.2, stratify=y, random_state=0)
    params = {"n_components": 10, "random_state": 0}
    whole = AutoencoderTransformer(max_iter=epochs, **params).fit(X_train)
    streamed = AutoencoderTransformer(**params)
    for _ in range(epochs):
        for chunk in np.array_split(X_train, n_chunks):
            streamed.partial_fit(chunk)
    return [
        data,
        f"{-whole.score(X_test):.4f}",
        f"{-streamed.score(X_test):.4f}",
        f"{(-streamed.score(X_test)) / (-whole.score(X_test)):.2f}",
    ]


def checkpoint_cost(data, epochs, repeats):
    X = load_dataset(data).data
    params = {"n_components": 10, "max_iter": epochs, "random_state": 0}
    plain, saved = [], []
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(repeats):
            for times, extra in [(plain, {}), (saved, {"checkpoint_dir": directory})]:
                start = time.perf_counter()
                AutoencoderTransformer(**params, **extra).fit(X)
                times.append((time.perf_counter() - start) / epochs)
    a, b = statistics.median(plain), statistics.median(saved)
    return [data, f"{a * 1e3:.0f}", f"{b * 1e3:.0f}", f"{b / a:.2f}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X_digits = load_dataset("digits").data
    body = ["## Grid search on Dask (digits, 4 candidates x 3 folds, 30 epochs)", ""]
    body += dask_searches(X_digits)
    body += ["", "## Streaming: partial_fit in 8 chunks x 5 passes vs fit for 5 epochs", ""]
    body += markdown_table(
        ["data", "fit test MSE", "partial_fit test MSE", "ratio"],
        [streaming("digits"), streaming("mnist")],
    )
    body += ["", "## Cost of checkpoint_dir (defaults, 10 components, 20 epochs)", ""]
    body += markdown_table(
        ["data", "ms/epoch", "ms/epoch with checkpoint_dir", "ratio"],
        [checkpoint_cost(d, 20, args.repeats) for d in ("digits", "mnist")],
    )
    path = write_result("scaleout", "Scale-out and fault tolerance", body)
    print(path.read_text())


if __name__ == "__main__":
    main()
