"""Hyperparameter search on a Dask cluster: same result as locally, one thread per task,
and a worker killed mid-search does not lose the search when its inputs are on every worker."""

import os
import signal
import sys

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, KFold
from skorch.callbacks import Callback

from sklearn_ae import AutoencoderTransformer

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

GRID = {"n_components": [2, 8], "hidden_layer_sizes": [(16,), (32,)]}
BASE = {"max_iter": 10, "batch_size": 32, "random_state": 0}


@pytest.fixture(scope="module")
def client():
    # The workers cannot import this test module; send its callbacks and functions by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    with cluster, distributed.Client(cluster) as client:
        yield client
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def X():
    return (load_digits().data[:400] / 16).astype(np.float32)


@pytest.fixture(scope="module")
def local_search(X):
    return GridSearchCV(AutoencoderTransformer(**BASE), GRID, cv=2).fit(X)


def search_on_dask(X, **params):
    search = GridSearchCV(AutoencoderTransformer(**BASE, **params), GRID, cv=2, n_jobs=-1)
    with joblib.parallel_config(backend="dask"):
        return search.fit(X)


def assert_same_search(remote, local):
    assert remote.best_params_ == local.best_params_
    scores = "mean_test_score"
    np.testing.assert_allclose(remote.cv_results_[scores], local.cv_results_[scores], rtol=1e-4)


def test_grid_search_on_dask_matches_local(client, X, local_search):
    remote = search_on_dask(X)
    assert_same_search(remote, local_search)


class RecordThreads(Callback):
    """Record torch's thread count while training."""

    def on_epoch_end(self, net, **kwargs):
        self.threads_ = torch.get_num_threads()


def fit_with_two_threads_set(X):
    """In a worker: let torch use 2 threads, fit, report threads during and after fit."""
    torch.set_num_threads(2)
    recorder = RecordThreads()
    AutoencoderTransformer(**BASE, callbacks=[recorder]).fit(X)
    return recorder.threads_, torch.get_num_threads()


def test_a_fit_in_a_dask_worker_uses_one_torch_thread(client, X):
    during, after = client.submit(fit_with_two_threads_set, X).result()
    assert (during, after) == (1, 2)


def test_outside_dask_torch_threads_are_left_alone(X):
    before = torch.get_num_threads()
    recorder = RecordThreads()
    AutoencoderTransformer(**BASE, callbacks=[recorder]).fit(X)
    assert recorder.threads_ == before == torch.get_num_threads()


class KillWorkerOnce(Callback):
    """Kill the worker process running this fit, the first time any fit reaches epoch 2."""

    def __init__(self, marker):
        self.marker = marker

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) != 2:
            return
        # Both workers can reach epoch 2 at the same moment; creating the marker exclusively
        # lets only one of them die (a check-then-create once killed both, losing the data).
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)


def test_search_completes_when_a_worker_is_killed(client, X, local_search, tmp_path):
    workers_before = set(client.run(os.getpid).values())
    marker = tmp_path / "killed"
    # Dask recomputes lost results but cannot recompute data that joblib scattered to the dead
    # worker, so the data and the CV splits go to every worker (the recipe in the user guide).
    splits = list(KFold(2).split(X))
    everything = [X, *(rows for split in splits for rows in split)]
    search = GridSearchCV(
        AutoencoderTransformer(**BASE, callbacks=[KillWorkerOnce(str(marker))]),
        GRID,
        cv=splits,
        n_jobs=-1,
    )
    with joblib.parallel_config(backend="dask", scatter=everything):
        remote = search.fit(X)
    assert marker.exists()
    # The nanny started a fresh worker in place of the killed one.
    assert set(client.run(os.getpid).values()) != workers_before
    assert_same_search(remote, local_search)
