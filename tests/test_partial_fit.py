"""partial_fit: training chunk by chunk, from memory maps, generators and dask arrays."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_ae import AutoencoderTransformer, VAETransformer

SMALL = {"n_components": 8, "hidden_layer_sizes": (64,), "random_state": 0}


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split((X / 16).astype(np.float32), y, test_size=0.25, random_state=0)


def chunks_of(X, n_chunks):
    """A generator of row chunks, as a reader of a large file would yield them."""
    yield from np.array_split(X, n_chunks)


def test_streamed_passes_match_fit_on_all_rows(digits_split):
    X_train, X_test, _, _ = digits_split
    whole = AutoencoderTransformer(max_iter=5, **SMALL).fit(X_train)
    streamed = AutoencoderTransformer(**SMALL)
    for _ in range(5):
        for chunk in chunks_of(X_train, 4):
            streamed.partial_fit(chunk)
    assert streamed.n_iter_ == 20
    assert len(streamed.loss_curve_) == 20
    # Five passes in four chunks see every row five times, as five epochs of fit do.
    assert -streamed.score(X_test) <= 1.1 * -whole.score(X_test)


def test_partial_fit_from_a_memmap(digits_split, tmp_path):
    X_train, X_test, _, _ = digits_split
    path = tmp_path / "rows.npy"
    np.save(path, X_train)
    rows = np.load(path, mmap_mode="r")
    est = AutoencoderTransformer(**SMALL)
    for start in range(0, len(rows), 500):
        est.partial_fit(rows[start : start + 500])
    first_error = -est.score(X_test)
    for start in range(0, len(rows), 500):
        est.partial_fit(rows[start : start + 500])
    assert est.n_iter_ == 6
    assert -est.score(X_test) < first_error


def test_partial_fit_through_dask_ml_incremental(digits_split):
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X_train, X_test, _, _ = digits_split
    blocks = da.from_array(X_train, chunks=(300, X_train.shape[1]))
    search = wrappers.Incremental(AutoencoderTransformer(**SMALL), shuffle_blocks=False)
    search.fit(blocks)
    assert search.estimator_.n_iter_ == blocks.numblocks[0]
    codes = search.transform(da.from_array(X_test, chunks=(100, X_test.shape[1]))).compute()
    assert codes.shape == (len(X_test), 8)
    assert np.isfinite(codes).all()


def test_partial_fit_is_reproducible_and_draws_per_chunk(digits_split):
    X_train = digits_split[0][:400]
    runs = []
    for _ in range(2):
        est = AutoencoderTransformer(noise="gaussian", **SMALL)
        est.partial_fit(X_train).partial_fit(X_train)
        runs.append(est.loss_curve_)
    assert runs[0] == runs[1]
    # Same rows, next call: a new shuffle and new noise, so a different loss than a replay.
    assert runs[0][0] != runs[0][1]


def test_first_call_builds_later_calls_continue(digits_split):
    X_train = digits_split[0][:200]
    est = AutoencoderTransformer(**SMALL).partial_fit(X_train)
    net = est.net_
    est.partial_fit(X_train)
    assert est.net_ is net
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X_train[:, :10])


def test_partial_fit_after_fit_with_early_stopping_trains_on(digits_split):
    X_train = digits_split[0][:300]
    est = AutoencoderTransformer(max_iter=3, early_stopping=True, **SMALL).fit(X_train)
    est.partial_fit(X_train)
    assert est.n_iter_ == 4
    assert len(est.validation_scores_) == 3


def test_conditional_vae_partial_fit_takes_all_classes_up_front(digits_split):
    X_train, _, y_train, _ = digits_split
    vae = VAETransformer(conditional=True, **SMALL)
    first = y_train < 5
    vae.partial_fit(X_train[first], y_train[first], classes=np.arange(10))
    vae.partial_fit(X_train[~first], y_train[~first])
    assert vae.classes_.tolist() == list(range(10))
    assert vae.sample(3, y=9, random_state=0).shape == (3, 64)

    without = VAETransformer(conditional=True, **SMALL).partial_fit(X_train[first], y_train[first])
    with pytest.raises(ValueError, match="labels not seen in fit"):
        without.partial_fit(X_train[~first], y_train[~first])


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, VAETransformer])
def test_partial_fit_takes_single_rows(digits_split, Estimator):
    X_train = digits_split[0]
    model = Estimator(**SMALL)
    for row in X_train[:3]:
        model.partial_fit(row[None, :])
    assert model.n_iter_ == 3
    assert model.transform(X_train[:4]).shape == (4, 8)


def test_autoencoder_samples_once_a_chunk_has_two_rows(digits_split):
    X_train = digits_split[0]
    ae = AutoencoderTransformer(**SMALL).partial_fit(X_train[:1])
    with pytest.raises(ValueError, match="needs at least 2 rows"):
        ae.sample(2)
    ae.partial_fit(X_train[1:50])
    density = ae.code_density_
    ae.partial_fit(X_train[50:51])  # one row: the density of the chunk before is kept
    assert ae.code_density_ is density
    assert ae.sample(2, random_state=0).shape == (2, 64)
