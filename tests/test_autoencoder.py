"""Behaviour of AutoencoderTransformer: quality, variants, I/O, training options."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from skorch.callbacks import Callback

from sklearn_ae import AutoencoderTransformer

FAST = {"hidden_layer_sizes": (32,), "max_iter": 20, "random_state": 0}


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.data / 16, data.target


def curve_in_10d(n, seed):
    """A closed 1-D curve embedded linearly in 10 dimensions: PCA(2) cannot unroll it."""
    t = np.random.RandomState(seed).uniform(0, 2 * np.pi, n)
    features = np.column_stack([f(k * t) for f in (np.sin, np.cos) for k in (1, 2, 3)])
    return features @ np.random.RandomState(42).randn(6, 10)


def test_beats_pca_on_a_nonlinear_manifold():
    X_train, X_test = curve_in_10d(800, seed=0), curve_in_10d(400, seed=1)
    pca = PCA(2).fit(X_train)
    pca_mse = np.mean((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2)
    ae = AutoencoderTransformer(
        2, hidden_layer_sizes=(32,), max_iter=100, learning_rate=3e-3, batch_size=64, random_state=0
    ).fit(X_train)
    # Measured: AE/PCA test MSE ratio about 0.001.
    assert -ae.score(X_test) < 0.1 * pca_mse


def test_linear_autoencoder_reconstructs_low_rank_data():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 3) @ rng.randn(3, 8)
    ae = AutoencoderTransformer(
        3, hidden_layer_sizes=(), max_iter=300, learning_rate=1e-2, batch_size=32, random_state=0
    ).fit(X)
    np.testing.assert_allclose(ae.inverse_transform(ae.transform(X)), X, atol=0.05 * X.std())


def test_same_seed_same_model_and_global_torch_state_untouched(digits):
    X, _ = digits
    state = torch.random.get_rng_state()
    Z1 = AutoencoderTransformer(**FAST).fit_transform(X)
    assert torch.equal(state, torch.random.get_rng_state())
    Z2 = AutoencoderTransformer(**FAST).fit_transform(X)
    Z3 = AutoencoderTransformer(**{**FAST, "random_state": 1}).fit_transform(X)
    np.testing.assert_array_equal(Z1, Z2)
    assert not np.allclose(Z1, Z3)


def test_pandas_in_and_out(digits):
    X, _ = digits
    df = pd.DataFrame(X[:200], columns=[f"pixel{i}" for i in range(64)])
    ae = AutoencoderTransformer(n_components=3, **FAST).set_output(transform="pandas").fit(df)
    Z = ae.transform(df)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == [
        "autoencodertransformer0",
        "autoencodertransformer1",
        "autoencodertransformer2",
    ]
    assert list(ae.feature_names_in_) == list(df.columns)
    assert ae.inverse_transform(Z).shape == (200, 64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_dtype_follows_input(digits, dtype):
    X = digits[0][:100].astype(dtype)
    ae = AutoencoderTransformer(**FAST).fit(X)
    Z = ae.transform(X)
    assert Z.dtype == dtype
    assert ae.inverse_transform(Z).dtype == dtype


def test_integer_input_gives_float64(digits):
    X = load_digits().data[:100].astype(np.int64)
    assert AutoencoderTransformer(**FAST).fit_transform(X).dtype == np.float64


@pytest.mark.parametrize(
    "X, match",
    [
        (np.full((10, 3), np.nan), "NaN"),
        (np.full((10, 3), np.inf), "infinity"),
        (np.empty((0, 3)), "0 sample"),
        (np.ones((1, 3)), "1 sample"),
        (np.ones(5), "Expected 2D array"),
    ],
)
def test_bad_training_data_is_named(X, match):
    with pytest.raises(ValueError, match=match):
        AutoencoderTransformer(**FAST).fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "n_components"),
        ({"activation": "swish"}, "activation"),
        ({"noise": "salt"}, "noise"),
        ({"loss": "huber"}, "loss"),
        ({"sparsity_target": 1.5}, "sparsity_target"),
        ({"hidden_layer_sizes": (16, 0)}, "hidden_layer_sizes"),
        ({"noise": "masking", "noise_level": 1.0}, "noise_level"),
        ({"device": "tpu"}, "device"),
        ({"early_stopping": True, "validation_fraction": 0.9}, "validation_fraction"),
    ],
)
def test_invalid_parameters_are_named(params, match):
    X = np.random.RandomState(0).rand(4, 3)
    with pytest.raises(ValueError, match=match):
        AutoencoderTransformer(**{**FAST, **params}).fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_says_so():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        AutoencoderTransformer(device="cuda", **FAST).fit(np.random.rand(10, 3))


def test_bce_rejects_data_outside_unit_interval():
    X = np.random.RandomState(0).randn(20, 4)
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]"):
        AutoencoderTransformer(loss="bce", **FAST).fit(X)


def test_wrong_widths_at_transform_and_inverse_transform(digits):
    ae = AutoencoderTransformer(n_components=2, **FAST).fit(digits[0][:100])
    with pytest.raises(
        ValueError, match="X has 3 features, but AutoencoderTransformer is expecting 64"
    ):
        ae.transform(np.ones((2, 3)))
    with pytest.raises(
        ValueError, match=r"expects 2 columns \(n_components\), but the input has 5"
    ):
        ae.inverse_transform(np.ones((2, 5)))


@pytest.mark.parametrize(
    "method, arg",
    [
        ("transform", np.ones((2, 3))),
        ("inverse_transform", np.ones((2, 2))),
        ("score", np.ones((2, 3))),
        ("score_samples", np.ones((2, 3))),
        ("sample", 2),
        ("get_feature_names_out", None),
    ],
)
def test_methods_need_a_fitted_model(method, arg):
    from sklearn.exceptions import NotFittedError

    ae = AutoencoderTransformer()
    with pytest.raises(NotFittedError):
        getattr(ae, method)(*([] if arg is None else [arg]))


def test_both_losses_work_out_of_the_box(digits):
    X = digits[0][:300]
    bce = AutoencoderTransformer(loss="bce", **FAST).fit(X)
    X_hat = bce.inverse_transform(bce.transform(X))
    assert X_hat.min() >= 0 and X_hat.max() <= 1
    X_std = StandardScaler().fit_transform(load_digits().data[:300])
    mse = AutoencoderTransformer(**FAST).fit(X_std)
    # Better than predicting the mean (score 0 for standardized data is the variance, -1).
    assert -mse.score(X_std) < 0.9 * np.mean(X_std.var(axis=0))


class _PoisonWeights(Callback):
    """Make the weights NaN at the start of a given epoch, to simulate divergence."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


def test_divergence_keeps_last_good_weights_and_warns(digits):
    X = digits[0][:200]
    ae = AutoencoderTransformer(**{**FAST, "max_iter": 6}, callbacks=[_PoisonWeights(epoch=3)])
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 3"):
        ae.fit(X)
    assert ae.n_iter_ == 2
    assert np.isfinite(ae.transform(X)).all()
    assert np.isfinite(ae.loss_curve_).all()


def test_divergence_in_first_epoch_raises(digits):
    ae = AutoencoderTransformer(**FAST, callbacks=[_PoisonWeights(epoch=1)])
    with pytest.raises(ValueError, match="diverged.*Lower learning_rate"):
        ae.fit(digits[0][:200])


@pytest.mark.parametrize("save", ["pickle", "joblib"])
def test_saved_model_transforms_identically(digits, tmp_path, save):
    X = digits[0][:200]
    ae = AutoencoderTransformer(**FAST).fit(X)
    path = tmp_path / "model"
    if save == "pickle":
        path.write_bytes(pickle.dumps(ae))
        loaded = pickle.loads(path.read_bytes())
    else:
        joblib.dump(ae, path)
        loaded = joblib.load(path)
    np.testing.assert_array_equal(ae.transform(X), loaded.transform(X))
    np.testing.assert_array_equal(ae.sample(3, random_state=0), loaded.sample(3, random_state=0))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_model_loads_on_cpu(digits, tmp_path):
    X = digits[0][:200]
    ae = AutoencoderTransformer(device="cuda", **FAST).fit(X)
    blob = pickle.dumps(ae)
    loaded = pickle.loads(blob)
    loaded.net_.set_params(device="cpu")
    loaded.net_.module_.to("cpu")
    np.testing.assert_allclose(ae.transform(X), loaded.transform(X), atol=1e-5)


# ---- variants change the model in the expected direction -------------------------------


@pytest.mark.parametrize("sparsity, weight", [("kl", 0.1), ("l1", 0.01)])
def test_sparsity_lowers_mean_code_activation(digits, sparsity, weight):
    X = digits[0]
    params = {**FAST, "n_components": 8, "sparsity": sparsity}
    free = AutoencoderTransformer(**params, sparsity_weight=0.0).fit(X)
    sparse = AutoencoderTransformer(**params, sparsity_weight=weight).fit(X)
    # Measured: KL 0.61 -> 0.05, L1 0.79 -> 0.09.
    assert np.abs(sparse.transform(X)).mean() < 0.3 * np.abs(free.transform(X)).mean()
    assert "train_sparsity_" + sparsity in sparse.net_.history[-1]


def test_contractive_penalty_lowers_the_jacobian_norm(digits):
    X = digits[0]
    x = torch.tensor(X[:50], dtype=torch.float32, requires_grad=True)

    def jacobian_norm(ae):
        jac = torch.autograd.functional.jacobian(lambda v: ae.net_.module_.encode(v).sum(0), x)
        return float(jac.pow(2).sum() / len(x))

    params = {**FAST, "n_components": 4}
    plain = AutoencoderTransformer(**params).fit(X)
    contractive = AutoencoderTransformer(**params, contractive_weight=0.01).fit(X)
    # Measured: 4.0 -> 0.39.
    assert jacobian_norm(contractive) < 0.3 * jacobian_norm(plain)
    assert contractive.net_.history[-1]["train_contractive"] > 0


def test_denoising_autoencoder_removes_noise_better(digits):
    X = digits[0]
    X_train, X_test = X[:1400], X[1400:]
    X_noisy = np.clip(X_test + 0.5 * np.random.RandomState(0).randn(*X_test.shape), 0, 1)
    params = {**FAST, "n_components": 16, "hidden_layer_sizes": (64,), "max_iter": 30}
    plain = AutoencoderTransformer(**params).fit(X_train)
    denoising = AutoencoderTransformer(**params, noise="gaussian", noise_level=0.5).fit(X_train)

    def error(ae):
        return np.mean((ae.inverse_transform(ae.transform(X_noisy)) - X_test) ** 2)

    # Measured: noisy input 0.115, plain AE 0.047, denoising AE 0.043.
    assert error(denoising) < 0.95 * error(plain)
    assert error(denoising) < 0.5 * np.mean((X_noisy - X_test) ** 2)


@pytest.mark.parametrize("noise", ["gaussian", "masking"])
def test_noise_is_only_applied_during_training(digits, noise):
    ae = AutoencoderTransformer(noise=noise, noise_level=0.5, **FAST).fit(digits[0][:200])
    np.testing.assert_array_equal(ae.transform(digits[0][:50]), ae.transform(digits[0][:50]))


# ---- training options ----------------------------------------------------------------


def test_early_stopping_restores_the_best_weights(digits):
    X = digits[0]
    ae = AutoencoderTransformer(
        **{**FAST, "max_iter": 200}, learning_rate=1e-2, early_stopping=True, n_iter_no_change=3
    ).fit(X)
    assert ae.n_iter_ < 200
    assert len(ae.validation_scores_) == ae.n_iter_
    best = dict(ae.net_.callbacks_)["early_stopping"].best_model_weights_
    for name, value in ae.net_.module_.state_dict().items():
        assert torch.equal(value, best[name])


def test_warm_start_continues_training(digits):
    X = digits[0][:300]
    ae = AutoencoderTransformer(**{**FAST, "max_iter": 5}, warm_start=True).fit(X)
    first_loss = ae.loss_curve_[-1]
    ae.fit(X)
    assert ae.n_iter_ == 10
    assert ae.loss_curve_[-1] < first_loss


def test_verbose_prints_an_epoch_log(digits, capsys):
    AutoencoderTransformer(**{**FAST, "max_iter": 2}, verbose=1).fit(digits[0][:100])
    out = capsys.readouterr().out
    assert "train_loss" in out and out.count("\n") >= 4
    AutoencoderTransformer(**{**FAST, "max_iter": 2}).fit(digits[0][:100])
    assert capsys.readouterr().out == ""


def test_extra_callbacks_are_called(digits):
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    counter = CountEpochs()
    AutoencoderTransformer(**{**FAST, "max_iter": 4}, callbacks=[("count", counter)]).fit(
        digits[0][:100]
    )
    assert counter.epochs == 4


# ---- the user-facing API of the issue -------------------------------------------------------


def test_sample_is_reproducible_and_looks_like_data(digits):
    X = digits[0]
    ae = AutoencoderTransformer(**FAST).fit(X)
    S = ae.sample(10, random_state=0)
    assert S.shape == (10, 64)
    np.testing.assert_array_equal(S, ae.sample(10, random_state=0))
    assert not np.allclose(S, ae.sample(10, random_state=1))
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        ae.sample(0)


def test_score_samples_ranks_anomalies_low(digits):
    X = digits[0]
    ae = AutoencoderTransformer(**{**FAST, "n_components": 8}).fit(X[:1500])
    outliers = np.random.RandomState(0).rand(20, 64)
    normal_scores, outlier_scores = ae.score_samples(X[1500:]), ae.score_samples(outliers)
    assert np.median(outlier_scores) < np.percentile(normal_scores, 5)
    assert ae.score(X[1500:]) == pytest.approx(normal_scores.mean())


def test_grid_search_in_a_supervised_pipeline(digits):
    X, y = digits[0][:400], digits[1][:400]
    pipe = make_pipeline(
        MinMaxScaler(),
        AutoencoderTransformer(n_components=8, max_iter=15, random_state=0),
        LogisticRegression(max_iter=200),
    )
    grid = GridSearchCV(
        pipe,
        {
            "autoencodertransformer__hidden_layer_sizes": [(16,), (32, 16)],
            "autoencodertransformer__noise": [None, "gaussian"],
            "autoencodertransformer__contractive_weight": [0.0, 1e-3],
        },
        cv=2,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 8
    assert grid.best_score_ > 0.5


def test_grid_search_without_y_uses_score(digits):
    X = digits[0][:400]
    grid = GridSearchCV(AutoencoderTransformer(**FAST), {"n_components": [2, 8]}, cv=2).fit(X)
    assert grid.best_params_ == {"n_components": 8}
