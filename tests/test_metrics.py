"""Sample quality (improved precision and recall of generated rows) and the MMD to a prior."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import FunctionTransformer

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.compare import compare
from sklearn_ae.metrics import maximum_mean_discrepancy, sample_precision_recall


@pytest.fixture(scope="module")
def digits_split():
    X = load_digits().data / 16
    return train_test_split(X, test_size=0.25, random_state=0)


def test_a_trained_models_samples_rank_above_noise(digits_split):
    X_train, X_test = digits_split
    model = AutoencoderTransformer(8, hidden_layer_sizes=(64,), max_iter=20, random_state=0)
    generated = model.fit(X_train).sample(len(X_test), random_state=0)
    noise = np.random.RandomState(0).uniform(0, 1, size=X_test.shape)
    model_scores = sample_precision_recall(X_test, generated)
    noise_scores = sample_precision_recall(X_test, noise)
    assert model_scores[0] > noise_scores[0] + 0.5
    assert model_scores[1] > noise_scores[1]


def test_real_rows_score_high_and_a_single_mode_has_no_recall(digits_split):
    X_train, X_test = digits_split
    precision, recall = sample_precision_recall(X_test, X_train[: len(X_test)])
    assert precision > 0.8 and recall > 0.8
    # Copies of one real row are realistic but cover almost nothing.
    repeated = np.repeat(X_test[:1], len(X_test), axis=0)
    precision, recall = sample_precision_recall(X_test, repeated)
    assert precision == 1.0 and recall < 0.05


def test_features_map_both_sets():
    rng = np.random.RandomState(0)
    real, shifted = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + [10.0, 0.0]
    keep_second = FunctionTransformer(lambda X: X[:, 1:])
    assert sample_precision_recall(real, shifted)[0] < 0.05
    assert sample_precision_recall(real, shifted, features=keep_second)[0] > 0.9


def test_bad_inputs_are_named():
    rng = np.random.RandomState(0)
    with pytest.raises(ValueError, match="features"):
        sample_precision_recall(rng.normal(size=(10, 3)), rng.normal(size=(10, 4)))
    with pytest.raises(ValueError, match="at least 4"):
        sample_precision_recall(rng.normal(size=(10, 3)), rng.normal(size=(3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        sample_precision_recall(np.full((10, 3), np.nan), rng.normal(size=(10, 3)))


def test_compare_reports_sample_quality_for_models_that_sample():
    X, y = load_digits(return_X_y=True)
    table = compare(X[:300] / 16, y[:300], methods=["pca", "ae"], max_iter=2).table
    by_method = table.set_index("method")
    assert np.isnan(by_method.loc["pca", "sample_precision"])
    assert 0 <= by_method.loc["ae", "sample_precision"] <= 1
    assert 0 <= by_method.loc["ae", "sample_recall"] <= 1


def test_mmd_matches_its_definition_and_refuses_mismatched_features():
    rng = np.random.RandomState(0)
    A, B = rng.normal(size=(30, 3)), rng.normal(1, 1, size=(40, 3))

    def kernel(P, Q):
        return np.exp(-((P[:, None] - Q[None]) ** 2).sum(-1) / (2 * 0.7**2)).mean()

    expected = kernel(A, A) + kernel(B, B) - 2 * kernel(A, B)
    assert maximum_mean_discrepancy(A, B, bandwidth=0.7) == pytest.approx(expected)
    assert maximum_mean_discrepancy(B, B) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="same features"):
        maximum_mean_discrepancy(A, B[:, :2])
