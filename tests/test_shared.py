"""Behaviour every estimator shares: I/O, validation, persistence, training options."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from skorch.callbacks import Callback

from sklearn_ae import AutoencoderTransformer, VAETransformer

FAST = {"hidden_layer_sizes": (32,), "max_iter": 20, "random_state": 0}
ESTIMATORS = [AutoencoderTransformer, VAETransformer]

pytestmark = pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda e: e.__name__)


@pytest.fixture(scope="module")
def X():
    return load_digits().data / 16


def test_same_seed_same_model_and_global_torch_state_untouched(Estimator, X):
    state = torch.random.get_rng_state()
    Z1 = Estimator(**FAST).fit_transform(X)
    assert torch.equal(state, torch.random.get_rng_state())
    Z2 = Estimator(**FAST).fit_transform(X)
    Z3 = Estimator(**{**FAST, "random_state": 1}).fit_transform(X)
    np.testing.assert_array_equal(Z1, Z2)
    assert not np.allclose(Z1, Z3)


def test_pandas_in_and_out(Estimator, X):
    df = pd.DataFrame(X[:200], columns=[f"pixel{i}" for i in range(64)])
    est = Estimator(n_components=3, **FAST).set_output(transform="pandas").fit(df)
    Z = est.transform(df)
    prefix = Estimator.__name__.lower()
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == [f"{prefix}0", f"{prefix}1", f"{prefix}2"]
    assert list(est.feature_names_in_) == list(df.columns)
    assert est.inverse_transform(Z).shape == (200, 64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_dtype_follows_input(Estimator, X, dtype):
    X = X[:100].astype(dtype)
    est = Estimator(**FAST).fit(X)
    Z = est.transform(X)
    assert Z.dtype == dtype
    assert est.inverse_transform(Z).dtype == dtype


def test_integer_input_gives_float64(Estimator):
    X = load_digits().data[:100].astype(np.int64)
    assert Estimator(**FAST).fit_transform(X).dtype == np.float64


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.full((10, 3), np.nan), "NaN"),
        (np.full((10, 3), np.inf), "infinity"),
        (np.empty((0, 3)), "0 sample"),
        (np.ones((1, 3)), "1 sample"),
        (np.ones(5), "Expected 2D array"),
    ],
)
def test_bad_training_data_is_named(Estimator, bad, match):
    with pytest.raises(ValueError, match=match):
        Estimator(**FAST).fit(bad)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "n_components"),
        ({"activation": "swish"}, "activation"),
        ({"noise": "salt"}, "noise"),
        ({"hidden_layer_sizes": (16, 0)}, "hidden_layer_sizes"),
        ({"noise": "masking", "noise_level": 1.0}, "noise_level"),
        ({"device": "tpu"}, "device"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"early_stopping": True, "validation_fraction": 0.9}, "validation_fraction"),
        ({"batch_size": "large"}, "batch_size"),
    ],
)
def test_invalid_parameters_are_named(Estimator, params, match):
    X = np.random.RandomState(0).rand(4, 3)
    with pytest.raises(ValueError, match=match):
        Estimator(**{**FAST, **params}).fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_says_so(Estimator):
    with pytest.raises(ValueError, match="no CUDA GPU"):
        Estimator(device="cuda", **FAST).fit(np.random.rand(10, 3))


def test_wrong_widths_at_transform_and_inverse_transform(Estimator, X):
    est = Estimator(n_components=2, **FAST).fit(X[:100])
    with pytest.raises(
        ValueError, match=f"X has 3 features, but {Estimator.__name__} is expecting 64"
    ):
        est.transform(np.ones((2, 3)))
    with pytest.raises(
        ValueError, match=r"expects 2 columns \(n_components\), but the input has 5"
    ):
        est.inverse_transform(np.ones((2, 5)))


@pytest.mark.parametrize(
    "method, args",
    [
        ("transform", [np.ones((2, 3))]),
        ("inverse_transform", [np.ones((2, 2))]),
        ("score", [np.ones((2, 3))]),
        ("score_samples", [np.ones((2, 3))]),
        ("sample", [2]),
        ("get_feature_names_out", []),
    ],
)
def test_methods_need_a_fitted_model(Estimator, method, args):
    with pytest.raises(NotFittedError):
        getattr(Estimator(), method)(*args)


@pytest.mark.parametrize("save", ["pickle", "joblib"])
def test_saved_model_transforms_identically(Estimator, X, tmp_path, save):
    X = X[:200]
    est = Estimator(**FAST).fit(X)
    path = tmp_path / "model"
    if save == "pickle":
        path.write_bytes(pickle.dumps(est))
        loaded = pickle.loads(path.read_bytes())
    else:
        joblib.dump(est, path)
        loaded = joblib.load(path)
    np.testing.assert_array_equal(est.transform(X), loaded.transform(X))
    np.testing.assert_array_equal(est.sample(3, random_state=0), loaded.sample(3, random_state=0))
    assert est.score(X) == loaded.score(X)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_model_loads_on_cpu(Estimator, X):
    est = Estimator(device="cuda", **FAST).fit(X[:200])
    loaded = pickle.loads(pickle.dumps(est))
    loaded.net_.set_params(device="cpu")
    loaded.net_.module_.to("cpu")
    np.testing.assert_allclose(est.transform(X[:200]), loaded.transform(X[:200]), atol=1e-5)


@pytest.mark.parametrize("noise", ["gaussian", "masking"])
def test_noise_is_only_applied_during_training(Estimator, X, noise):
    est = Estimator(noise=noise, noise_level=0.5, **FAST).fit(X[:200])
    np.testing.assert_array_equal(est.transform(X[:50]), est.transform(X[:50]))


def test_early_stopping_restores_the_best_weights(Estimator, X):
    est = Estimator(
        **{**FAST, "max_iter": 200}, learning_rate=1e-2, early_stopping=True, n_iter_no_change=3
    ).fit(X)
    assert est.n_iter_ < 200
    assert len(est.validation_scores_) == est.n_iter_
    best = dict(est.net_.callbacks_)["early_stopping"].best_model_weights_
    for name, value in est.net_.module_.state_dict().items():
        assert torch.equal(value, best[name])


def test_auto_batch_size_takes_more_steps_on_small_data(Estimator, X):
    # 96 rows: one step an epoch at 128 rows a batch, six at "auto" (16 rows).
    X_small, params = X[:96], {**FAST, "early_stopping": False}
    fixed = Estimator(**params).fit(X_small)
    auto = Estimator(**params, batch_size="auto").fit(X_small)
    assert auto.net_.batch_size == 16
    assert auto.get_params()["batch_size"] == "auto"
    assert len(auto.net_.history[-1, "batches"]) == 6
    # A VAE's loss can be negative: compare against 5% of its size.
    assert auto.loss_curve_[-1] < fixed.loss_curve_[-1] - 0.05 * abs(fixed.loss_curve_[-1])


def test_warm_start_continues_training(Estimator, X):
    est = Estimator(**{**FAST, "max_iter": 5}, warm_start=True).fit(X[:300])
    first_loss = est.loss_curve_[-1]
    est.fit(X[:300])
    assert est.n_iter_ == 10
    assert est.loss_curve_[-1] < first_loss
    # A batch size set between the fits applies to the next one ("auto" on 300 rows: 16).
    est.set_params(batch_size="auto", max_iter=1).fit(X[:300])
    assert est.net_.batch_size == 16
    assert len(est.net_.history[-1, "batches"]) > 10  # 128 rows a batch would make 3


def test_verbose_prints_an_epoch_log(Estimator, X, capsys):
    Estimator(**{**FAST, "max_iter": 2}, verbose=1).fit(X[:100])
    out = capsys.readouterr().out
    assert "train_loss" in out and out.count("\n") >= 4
    Estimator(**{**FAST, "max_iter": 2}).fit(X[:100])
    assert capsys.readouterr().out == ""


def test_extra_callbacks_are_called(Estimator, X):
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    counter = CountEpochs()
    Estimator(**{**FAST, "max_iter": 4}, callbacks=[("count", counter)]).fit(X[:100])
    assert counter.epochs == 4


def test_sample_is_reproducible(Estimator, X):
    est = Estimator(**FAST).fit(X)
    S = est.sample(10, random_state=0)
    assert S.shape == (10, 64)
    np.testing.assert_array_equal(S, est.sample(10, random_state=0))
    assert not np.allclose(S, est.sample(10, random_state=1))
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        est.sample(0)


def test_score_samples_ranks_anomalies_low(Estimator, X):
    est = Estimator(**{**FAST, "n_components": 8}).fit(X[:1500])
    outliers = np.random.RandomState(0).rand(20, 64)
    normal_scores, outlier_scores = est.score_samples(X[1500:]), est.score_samples(outliers)
    assert np.median(outlier_scores) < np.percentile(normal_scores, 5)


def test_grid_search_in_a_supervised_pipeline(Estimator, X):
    y = load_digits().target[:400]
    pipe = make_pipeline(
        MinMaxScaler(),
        Estimator(n_components=8, max_iter=30, learning_rate=3e-3, random_state=0),
        LogisticRegression(max_iter=200),
    )
    name = Estimator.__name__.lower()
    grid = GridSearchCV(
        pipe,
        {f"{name}__hidden_layer_sizes": [(16,), (32, 16)], f"{name}__noise": [None, "gaussian"]},
        cv=2,
    ).fit(X[:400], y)
    assert len(grid.cv_results_["params"]) == 4
    # Chance is 0.1; measured about 0.75 (AE) and 0.31 (VAE, whose KL prunes codes on 200 rows).
    assert grid.best_score_ > 0.25


def test_grid_search_without_y_uses_score(Estimator, X):
    # From a random start (the PCA start is near its optimum after one epoch), the trained
    # model must win over the barely trained one: score() is higher-is-better.
    grid = GridSearchCV(Estimator(**FAST, init="random"), {"max_iter": [1, 20]}, cv=2)
    grid.fit(X[:400])
    assert grid.best_params_ == {"max_iter": 20}


def test_constant_data_fit_with_one_clear_warning(Estimator):
    with pytest.warns(UserWarning) as caught:
        model = Estimator(**{**FAST, "max_iter": 2}).fit(np.full((40, 5), 3.0))
    assert [str(w.message)[:31] for w in caught] == ["All 40 training rows are the sa"]
    assert model.transform(np.ones((2, 5))).shape == (2, 2)


def test_arrays_with_negative_strides_are_accepted(Estimator, X):
    model = Estimator(**{**FAST, "max_iter": 2}).fit(X[::-1])
    np.testing.assert_array_equal(model.transform(X[::-1]), model.transform(X)[::-1])


def subnormal_count(model):
    """Weights and optimizer-state values of a fitted model that are subnormal floats."""
    net = model.net_
    tensors = [p for _, p in net.get_all_learnable_params()] + [
        v for state in net.optimizer_.state.values() for v in state.values() if torch.is_tensor(v)
    ]
    tiny = torch.finfo(torch.float32).tiny
    return sum(int(((t != 0) & (t.abs() < tiny)).sum()) for t in tensors)


def test_training_leaves_no_subnormal_floats(Estimator):
    # Half the inputs are always zero, like the border of an image: their weights get no
    # gradient from the data, and weight decay drives them and Adam's moments into the
    # subnormal range, where arithmetic is 10-100x slower on many CPUs. Without the flush this
    # fit ends with 37 (AE) and 31 (VAE) subnormal values.
    X = np.random.RandomState(0).rand(64, 8)
    X[:, :4] = 0
    params = {"hidden_layer_sizes": (16,), "batch_size": 4, "max_iter": 100, "random_state": 0}
    model = Estimator(**params).fit(X)
    assert subnormal_count(model) == 0
    # Subnormal weights planted by hand are gone after one more epoch.
    first_layer = next(model.net_.module_.parameters())
    with torch.no_grad():
        first_layer[:, :4] = 1e-40
    assert subnormal_count(model) > 0
    model.set_params(warm_start=True, max_iter=1).fit(X)
    assert subnormal_count(model) == 0


# Penalties act on both estimators. A VAE's loss is in nats per row (summed over the 64
# features), an autoencoder's per feature, so a VAE needs weights about 64 times larger.
PENALTY_WEIGHTS = {
    AutoencoderTransformer: {"l1": 0.05, "contractive": 0.01},
    VAETransformer: {"l1": 5.0, "contractive": 5.0},
}


def test_l1_sparsity_shrinks_the_codes(Estimator, X):
    params = {**FAST, "n_components": 8, "sparsity": "l1", "early_stopping": False}
    free = Estimator(**params, sparsity_weight=0.0).fit(X)
    sparse = Estimator(**params, sparsity_weight=PENALTY_WEIGHTS[Estimator]["l1"]).fit(X)
    # Measured: autoencoder 0.10, VAE 0.04 of the unpenalised mean absolute code.
    assert np.abs(sparse.transform(X)).mean() < 0.3 * np.abs(free.transform(X)).mean()
    assert sparse.net_.history[-1]["train_sparsity_l1"] > 0


def test_contractive_penalty_flattens_the_encoder(Estimator, X):
    x = torch.tensor(X[:50], dtype=torch.float32)

    def jacobian_norm(model):
        encode = model.net_.module_.encode
        jacobian = torch.autograd.functional.jacobian(lambda v: encode(v).sum(0), x)
        return float(jacobian.pow(2).sum() / len(x))

    params = {**FAST, "n_components": 4, "early_stopping": False}
    plain = Estimator(**params).fit(X)
    weight = PENALTY_WEIGHTS[Estimator]["contractive"]
    contractive = Estimator(**params, contractive_weight=weight).fit(X)
    # Measured: autoencoder 0.05, VAE 0.43 of the unpenalised squared Jacobian norm.
    assert jacobian_norm(contractive) < 0.6 * jacobian_norm(plain)
    assert contractive.net_.history[-1]["train_contractive"] > 0


class _TinyTrunk(torch.nn.Module):
    def __init__(self, n_inputs, width):
        super().__init__()
        self.layer = torch.nn.Linear(n_inputs, width)

    def forward(self, x, condition=None):
        if condition is not None:
            x = torch.cat([x, condition], dim=-1)
        return torch.tanh(self.layer(x))


class TinyArchitecture:
    """A user's own network, following the documented architecture contract."""

    def trunk(self, n_features, n_conditions=0):
        return _TinyTrunk(n_features + n_conditions, 16), 16

    def decoder(self, n_inputs, n_features):
        return torch.nn.Sequential(
            torch.nn.Linear(n_inputs, 16), torch.nn.Tanh(), torch.nn.Linear(16, n_features)
        )


def test_a_user_architecture_is_trained_and_used(Estimator, X):
    params = {**FAST, "n_components": 3, "max_iter": 10, "early_stopping": False}
    est = Estimator(architecture=TinyArchitecture(), **params).fit(X[:300])
    assert isinstance(est.net_.module_.trunk, _TinyTrunk)
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert est.transform(X[:5]).shape == (5, 3)
    assert est.inverse_transform(est.transform(X[:5])).shape == (5, 64)
    assert est.sample(2, random_state=0).shape == (2, 64)
    # clone copies the object, so grid searches and refits each build their own network.
    refit = clone(est).fit(X[:300])
    np.testing.assert_array_equal(refit.transform(X[:5]), est.transform(X[:5]))
    if Estimator is VAETransformer:
        # The trunk receives the one-hot labels of a conditional VAE.
        y = load_digits().target[:300]
        cvae = clone(est).set_params(conditional=True, max_iter=3).fit(X[:300], y)
        assert cvae.sample(4, y=7, random_state=0).shape == (4, 64)


def test_an_object_without_the_contract_is_refused(Estimator, X):
    with pytest.raises(ValueError, match="architecture.*trunk"):
        Estimator(architecture=torch.nn.Linear(64, 2)).fit(X[:20])
