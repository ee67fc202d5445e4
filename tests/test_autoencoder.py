"""AutoencoderTransformer: quality against PCA and what each variant does to the model."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderTransformer

# Without early stopping, so that each variant's training shows in the model (with it a
# variant that does not beat the PCA start on validation keeps the start).
FAST = {"hidden_layer_sizes": (32,), "max_iter": 20, "random_state": 0, "early_stopping": False}


@pytest.fixture(scope="module")
def X():
    return load_digits().data / 16


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


def test_bce_rejects_data_outside_unit_interval():
    X = np.random.RandomState(0).randn(20, 4)
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]"):
        AutoencoderTransformer(loss="bce", **FAST).fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"loss": "huber"}, "loss"),
        ({"sparsity": "l2"}, "sparsity"),
        ({"sparsity_target": 1.5}, "sparsity_target"),
        ({"contractive_weight": -1}, "contractive_weight"),
    ],
)
def test_invalid_variant_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        AutoencoderTransformer(**{**FAST, **params}).fit(np.random.RandomState(0).rand(4, 3))


def test_both_losses_work_out_of_the_box(X):
    bce = AutoencoderTransformer(loss="bce", **FAST).fit(X[:300])
    X_hat = bce.inverse_transform(bce.transform(X[:300]))
    assert X_hat.min() >= 0 and X_hat.max() <= 1
    X_std = StandardScaler().fit_transform(load_digits().data[:300])
    mse = AutoencoderTransformer(**FAST).fit(X_std)
    # Predicting the column means scores minus the mean variance.
    assert -mse.score(X_std) < 0.9 * np.mean(X_std.var(axis=0))


def test_score_is_the_negative_reconstruction_mse(X):
    ae = AutoencoderTransformer(**FAST).fit(X)
    mse = np.mean((X - ae.inverse_transform(ae.transform(X))) ** 2, axis=1)
    np.testing.assert_allclose(ae.score_samples(X), -mse, rtol=1e-6)
    assert ae.score(X) == pytest.approx(-mse.mean())


def test_kl_sparsity_lowers_mean_code_activation(X):
    # L1 sparsity, which both estimators take, is tested in test_shared.py.
    params = {**FAST, "n_components": 8, "sparsity": "kl"}
    free = AutoencoderTransformer(**params, sparsity_weight=0.0).fit(X)
    sparse = AutoencoderTransformer(**params, sparsity_weight=0.1).fit(X)
    # Measured: 0.61 -> 0.05.
    assert np.abs(sparse.transform(X)).mean() < 0.3 * np.abs(free.transform(X)).mean()
    assert "train_sparsity_kl" in sparse.net_.history[-1]


def test_denoising_autoencoder_removes_noise_better(X):
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


def test_pca_init_starts_as_pca(X):
    # A vanishing learning rate leaves the network where it started.
    ae = AutoencoderTransformer(8, init="pca", learning_rate=1e-12, max_iter=1, random_state=0).fit(
        X
    )
    pca = PCA(8, random_state=0).fit(X)
    np.testing.assert_allclose(ae.transform(X), pca.transform(X), atol=1e-4)
    np.testing.assert_allclose(
        ae.inverse_transform(ae.transform(X)), pca.inverse_transform(pca.transform(X)), atol=1e-4
    )


def test_pca_init_does_not_lose_to_pca_with_many_components(X):
    X_train, X_test = X[:1400], X[1400:]
    pca = PCA(32).fit(X_train)
    pca_mse = np.mean((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2)
    # Measured (100 epochs): random init 3.6x PCA's test error, PCA init 0.67x.
    ae = AutoencoderTransformer(32, max_iter=30, random_state=0).fit(X_train)
    assert -ae.score(X_test) < pca_mse


@pytest.mark.parametrize(
    "params, cause",
    [({"loss": "bce"}, "loss='bce' makes the outputs"), ({"sparsity": "kl"}, "sparsity='kl'")],
)
def test_pca_init_refuses_sigmoid_outputs_or_codes(X, params, cause):
    with pytest.raises(ValueError, match=f"init='pca' starts the network as PCA.*but {cause}"):
        AutoencoderTransformer(init="pca", **params, **FAST).fit(X)
    # "auto" falls back to a random start for them.
    assert AutoencoderTransformer(**params, **FAST).fit(X[:100]).net_.module_.linear_encoder is None


def test_overcomplete_code_warns_unless_regularised(X):
    X_small = X[:100, :6]
    with pytest.warns(UserWarning, match="n_components=8 is more than the 6 features"):
        AutoencoderTransformer(n_components=8, max_iter=1).fit(X_small)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AutoencoderTransformer(n_components=8, noise="masking", max_iter=1).fit(X_small)


def held_out_mse(model, X_train, X_test):
    model.fit(X_train)
    return np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2)


def test_defaults_keep_pca_where_training_only_memorises(X):
    # 40 training rows, 10 components: trained for all its epochs, the default network lost
    # to PCA on held-out digits (1.04 at k=32 with 40 rows, benchmarks/generalization.py).
    # Early stopping keeps the PCA start unless training beats it on the validation rows.
    X_train, X_test = X[:40], X[40:400]
    ae = AutoencoderTransformer(n_components=10, max_iter=30, random_state=0)
    pca = held_out_mse(PCA(10), X_train, X_test)
    assert held_out_mse(ae, X_train, X_test) <= pca * (1 + 1e-5)
    assert ae.n_iter_ < 30  # stopped early: no epoch beat the start


def test_defaults_keep_training_where_it_generalises(X):
    X_train, X_test = X[:1400], X[1400:]
    ae = AutoencoderTransformer(n_components=2, max_iter=30, random_state=0)
    # Measured: 0.70 of PCA's test MSE after 30 epochs.
    assert held_out_mse(ae, X_train, X_test) < 0.85 * held_out_mse(PCA(2), X_train, X_test)


def test_a_learning_rate_schedule_passed_as_callback_decays_the_rate(X):
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import CosineAnnealingLR

    schedule = LRScheduler(policy=CosineAnnealingLR, T_max=4)
    ae = AutoencoderTransformer(
        2, **{**FAST, "max_iter": 4}, callbacks=[("lr_schedule", schedule)]
    ).fit(X[:200])
    rates = ae.net_.history[:, "event_lr"]
    assert rates[0] == pytest.approx(ae.learning_rate)
    assert all(later < earlier for earlier, later in zip(rates[:-1], rates[1:], strict=True))
    assert ae.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
