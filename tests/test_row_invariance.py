"""A row's output never depends on the other rows of the call, bitwise, on any CPU.

Inference runs in fixed-size chunks (``sklearn_ae._inference``), so the same
float32 kernels run whatever the number and order of rows; these tests would
fail with plain batching on CPUs whose kernels depend on the row count.
"""

import numpy as np
import pytest
from sklearn.base import clone
from test_common import ESTIMATORS

from sklearn_ae._inference import map_row_chunks

N_ROWS = 1000


def per_row_outputs(estimator, X, Z):
    """Every per-row method's output as a dict of arrays, rows first."""
    outputs = {
        "transform": estimator.transform(X),
        "inverse_transform": estimator.inverse_transform(Z),
        "score_samples": estimator.score_samples(X),
    }
    if hasattr(estimator, "posterior"):
        outputs["posterior_mean"], outputs["posterior_std"] = estimator.posterior(X)
    return outputs


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    return rng.rand(N_ROWS, 64), rng.randn(N_ROWS, 2)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_outputs_do_not_depend_on_the_other_rows(estimator, dtype, data):
    X, Z = (a.astype(dtype) for a in data)
    # A model trained on factors takes one (y as a factor with 4 values); outputs need none.
    factors = np.arange(200) % 4 if getattr(estimator, "factor_dims", None) else None
    estimator = clone(estimator).set_params(n_components=2).fit(X[:200], factors)
    whole = per_row_outputs(estimator, X, Z)
    rng = np.random.RandomState(1)
    for size in (1, 7, 100, 999, N_ROWS):
        rows = rng.permutation(N_ROWS)[:size]
        part = per_row_outputs(estimator, X[rows], Z[rows])
        for method, values in part.items():
            # Bitwise: the same kernels ran on each row, only in another chunk position.
            np.testing.assert_array_equal(values, whole[method][rows], err_msg=method)


@pytest.mark.parametrize("pad_rows, sizes", [(True, [128, 128, 128]), (False, [128, 128, 44])])
def test_only_unpadded_calls_see_fewer_rows(pad_rows, sizes):
    seen = []

    def record(rows, condition):
        seen.append(len(rows))
        return rows

    out = map_row_chunks(record, np.arange(600.0).reshape(300, 2), pad_rows=pad_rows)
    assert seen == sizes
    np.testing.assert_array_equal(out, np.arange(600.0).reshape(300, 2))
