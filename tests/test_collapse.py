"""Posterior collapse: its diagnostics and its remedies (committed_rate, svi_steps, init)."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, load_iris
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderTransformer, VAETransformer, export_onnx, load, save
from sklearn_ae._architectures import MLPArchitecture
from sklearn_ae._autoregressive import PixelCNNDecoder
from sklearn_ae._likelihoods import BinaryCrossEntropy
from sklearn_ae._modules import VariationalAutoencoder
from sklearn_ae._objectives import elbo, refine_posterior
from sklearn_ae.metrics import active_units, kl_per_dimension, mutual_information

SMALL = {
    "hidden_layer_sizes": (32,),
    "likelihood": "bernoulli",
    "max_iter": 30,
    "batch_size": 32,
    "learning_rate": 3e-3,
    "random_state": 0,
}


class DenseOnly:
    """A user's architecture with the two required methods and no autoregressive decoder."""

    def __init__(self, hidden_layer_sizes):
        self.mlp = MLPArchitecture(hidden_layer_sizes)

    def trunk(self, n_features, n_conditions=0):
        return self.mlp.trunk(n_features, n_conditions)

    def decoder(self, n_inputs, n_features):
        return self.mlp.decoder(n_inputs, n_features)


INITS = ("random", "pca", "auto")


@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:300] / 16


@pytest.fixture(scope="module")
def used_and_collapsed(digits):
    """A VAE whose codes carry the rows, and one pushed to the prior by a huge KL weight."""
    used = VAETransformer(4, **SMALL).fit(digits)
    collapsed = VAETransformer(4, beta=200.0, **SMALL).fit(digits)
    return used, collapsed


def test_diagnostics_tell_a_used_code_from_a_collapsed_one(digits, used_and_collapsed):
    used, collapsed = used_and_collapsed
    assert active_units(used, digits) == 4
    assert active_units(collapsed, digits) == 0
    assert kl_per_dimension(used, digits).min() > 0.05
    assert kl_per_dimension(collapsed, digits).max() < 0.05
    mi_used = mutual_information(used, digits, random_state=0)
    mi_collapsed = mutual_information(collapsed, digits, random_state=0)
    assert mi_collapsed < 0.2 < 0.5 < mi_used <= np.log(len(digits))


def test_kl_per_dimension_is_the_closed_form_of_the_posterior(digits, used_and_collapsed):
    used, _ = used_and_collapsed
    mean, std = used.posterior(digits)
    expected = np.mean(0.5 * (mean**2 + std**2 - 1 - np.log(std**2)), axis=0)
    np.testing.assert_allclose(kl_per_dimension(used, digits), expected, rtol=1e-6)


def test_diagnostics_need_a_posterior(digits):
    ae = AutoencoderTransformer(2, max_iter=1, random_state=0).fit(digits)
    with pytest.raises(TypeError, match="fitted VAETransformer"):
        active_units(ae, digits)


def test_pca_init_starts_as_probabilistic_pca_with_its_exact_posterior():
    # Rows of a 4-D linear model in 20 features with isotropic noise: every feature varies more
    # than the noise, so every feature's variance starts at PPCA's noise variance.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 20)) + 0.3 * rng.normal(size=(300, 20))
    # A vanishing learning rate leaves the network where it started.
    vae = VAETransformer(3, init="pca", learning_rate=1e-12, max_iter=1, random_state=0).fit(X)
    pca = PCA(3).fit(X)
    shrink = 1 - pca.noise_variance_ / pca.explained_variance_
    scale = np.sqrt(pca.explained_variance_ - pca.noise_variance_)
    np.testing.assert_allclose(vae.transform(X), pca.transform(X) * shrink / scale, atol=1e-4)
    # With PPCA's posterior exact, every importance weight is p(x): the estimate is PPCA's
    # log-likelihood of each row.
    np.testing.assert_allclose(vae.score_samples(X), pca.score_samples(X), atol=1e-3)


def test_pca_init_keeps_the_units_in_use_and_reconstructs_near_pca(digits):
    X_train, X_test = digits[:240], digits[240:]
    pca = PCA(8).fit(X_train)
    pca_mse = np.mean((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2)
    params = {**SMALL, "likelihood": "gaussian"}

    def mse(vae):
        return np.mean((X_test - vae.inverse_transform(vae.transform(X_test))) ** 2)

    started_as_pca = VAETransformer(8, init="pca", **params).fit(X_train)
    started_at_random = VAETransformer(8, init="random", **params).fit(X_train)
    # Measured (seeds 0-2): test MSE 0.86-0.87x PCA's from the PCA start, 2.65-2.77x from a
    # random one; every unit over 0.1 nats in both.
    assert np.sum(kl_per_dimension(started_as_pca, X_test) > 0.1) == 8
    assert mse(started_as_pca) < 1.2 * pca_mse
    assert mse(started_at_random) > 2 * pca_mse


@pytest.fixture(scope="module")
def table():
    return StandardScaler().fit_transform(load_iris().data)


def test_auto_init_restarts_as_pca_only_where_the_random_start_leaves_units_closed(
    table, digits, tmp_path
):
    params = {"hidden_layer_sizes": (16,), "max_iter": 20, "random_state": 0}
    for X, k, closed in [(table, 3, True), (digits, 1, False)]:
        fits = {init: VAETransformer(k, init=init, **params).fit(X) for init in INITS}
        # Measured: every unit of the random start on the table under 0.07 nats, the one unit
        # on the digits at 0.3.
        assert np.any(kl_per_dimension(fits["random"], X) < 0.1) == closed
        kept = "pca" if closed else "random"
        assert fits["auto"].init_ == kept and fits[kept].init_ == kept
        np.testing.assert_allclose(fits["auto"].transform(X), fits[kept].transform(X))
        # The restart trains a new network, also where fit would continue the one it has.
        continued = VAETransformer(k, init="auto", warm_start=True, **params).fit(X)
        np.testing.assert_allclose(continued.transform(X), fits[kept].transform(X))
        if closed:
            # The restarted model's linear path is rebuilt on load.
            save(fits["auto"], tmp_path / "auto.safetensors")
            loaded = load(tmp_path / "auto.safetensors")
            np.testing.assert_allclose(loaded.transform(X), fits["auto"].transform(X), atol=1e-6)


def test_auto_init_counts_the_kl_above_the_free_bits(digits):
    params = {"hidden_layer_sizes": (16,), "max_iter": 20, "random_state": 0, "free_bits": 0.25}
    at_random = VAETransformer(4, init="random", **params).fit(digits)
    # Measured: every unit over 0.1 nats (0.23 to 0.64), one under 0.1 nats above the floor.
    kl = kl_per_dimension(at_random, digits)
    assert np.all(kl > 0.1) and np.any(kl < 0.25 + 0.1)
    assert VAETransformer(4, init="auto", **params).fit(digits).init_ == "pca"


def test_auto_init_starts_at_random_where_the_pca_start_does_not_apply(digits):
    # A huge KL weight closes the units, where a Gaussian MLP would restart.
    vae = VAETransformer(2, init="auto", beta=100.0, **{**SMALL, "max_iter": 3}).fit(digits)
    assert np.any(kl_per_dimension(vae, digits) < 0.1)
    assert vae.init_ == "random"


@pytest.mark.parametrize(
    "params, cause",
    [
        ({"architecture": "conv", "image_shape": (8, 8)}, "architecture='conv'"),
        ({"likelihood": "bernoulli"}, "likelihood='bernoulli'"),
        ({"decoder": "autoregressive"}, "decoder='autoregressive'"),
    ],
)
def test_pca_init_refuses_a_network_without_a_linear_gaussian_counterpart(digits, params, cause):
    match = f"init='pca' starts the network as probabilistic PCA.*but {cause}"
    with pytest.raises(ValueError, match=match):
        VAETransformer(2, init="pca", max_iter=1, **params).fit(digits)


@pytest.mark.parametrize(
    "params, labelled",
    [
        ({"conditional": True}, "all"),
        ({"conditional": True}, "half"),  # semi-supervised (M2): -1 for the unlabelled rows
        ({"prior": "mixture", "n_prior_components": 3}, None),
        ({"encoder_updates": "aggressive", "free_bits": 0.1}, None),
    ],
)
def test_pca_init_combines_with_conditions_priors_and_the_remedies(digits, params, labelled):
    y = None if labelled is None else np.arange(len(digits)) % 3
    if labelled == "half":
        y = np.where(np.arange(len(digits)) % 2, y, -1)
    settings = {**SMALL, "likelihood": "gaussian", "max_iter": 3}
    vae = VAETransformer(4, init="pca", **settings, **params).fit(digits, y)
    labels = {} if y is None else {"y": np.arange(len(digits)) % 3}
    Z = vae.transform(digits, **labels)
    assert Z.shape == (len(digits), 4) and np.all(np.isfinite(Z))
    assert np.all(
        np.isfinite(vae.score_samples(digits[:20], **{k: v[:20] for k, v in labels.items()}))
    )


def test_aggressive_updates_train_the_linear_path_of_the_encoder_with_it():
    vae = VariationalAutoencoder(6, 2, MLPArchitecture((4,)), linear_path=True)
    inference = {id(p) for p in vae.inference_parameters()}
    assert {id(p) for p in vae.linear_encoder.parameters()} <= inference
    assert not {id(p) for p in vae.linear_decoder.parameters()} & inference


@pytest.mark.parametrize("rate", [0.1, 1.0])
def test_committed_rate_bounds_every_rows_kl_in_every_unit(digits, rate):
    vae = VAETransformer(6, committed_rate=rate, beta=20.0, **{**SMALL, "max_iter": 5}).fit(digits)
    mean, std = vae.posterior(digits)
    per_row_and_unit = 0.5 * (mean**2 + std**2 - 1 - np.log(std**2))
    assert per_row_and_unit.min() >= rate * (1 - 1e-4)


def test_committed_rate_refuses_a_prior_it_cannot_bound(digits):
    with pytest.raises(ValueError, match="prior='normal'"):
        VAETransformer(2, committed_rate=0.5, prior="mixture", max_iter=1).fit(digits)


def test_refinement_lowers_the_loss_of_the_posterior_it_refines():
    torch.manual_seed(0)
    module = VariationalAutoencoder(16, 3, MLPArchitecture((16,)))
    criterion = BinaryCrossEntropy()
    x = (torch.rand(64, 16) > 0.5).float()
    mean, logvar = module(x)
    eps = torch.randn(256, 1, 3)

    def loss(m, lv):
        return -elbo(module, criterion, x, None, m, lv, eps).mean().item()

    refined = refine_posterior(module, criterion, x, None, mean, logvar, n_steps=20)
    assert loss(*refined) < loss(mean, logvar) - 0.1


def test_svi_steps_fit_and_keep_the_encoder_posterior_for_inference(digits):
    vae = VAETransformer(4, svi_steps=3, **{**SMALL, "max_iter": 2}).fit(digits)
    history = vae.net_.history[-1]
    assert {"train_reconstruction", "train_kl", "train_encoder_bound"} <= set(history)
    assert np.isfinite(vae.score(digits))
    assert vae.transform(digits).shape == (300, 4)


@pytest.mark.parametrize(
    "params, y, message",
    [
        ({"n_importance_samples": 3}, None, "n_importance_samples=1"),
        ({"conditional": True}, np.r_[np.zeros(150), -np.ones(150)], "semi-supervised"),
        ({"factor_dims": (1,)}, np.repeat(np.arange(150.0), 2), "factor_dims"),
    ],
)
def test_svi_steps_refuse_bounds_they_do_not_refine(digits, params, y, message):
    with pytest.raises(ValueError, match=message):
        VAETransformer(2, svi_steps=2, max_iter=1, **params).fit(digits, y)


def markov_chains(n_rows, n_features, seed=0):
    """Binary rows in which each feature copies the one before with probability 0.9.

    An autoregressive decoder explains such rows completely without a code, so a VAE
    built on it has nothing to gain from the code: the plain model collapses.
    """
    rng = np.random.RandomState(seed)
    rows = np.empty((n_rows, n_features))
    rows[:, 0] = rng.rand(n_rows) < 0.5
    for j in range(1, n_features):
        flip = rng.rand(n_rows) < 0.1
        rows[:, j] = np.where(flip, 1 - rows[:, j - 1], rows[:, j - 1])
    return rows


AUTOREGRESSIVE = {**SMALL, "decoder": "autoregressive", "max_iter": 10, "batch_size": 64}


@pytest.fixture(scope="module")
def chains():
    """Rows an autoregressive decoder explains without a code, and three VAEs fitted on them."""
    X = markov_chains(2000, 8)
    fits = {
        "factorized": VAETransformer(4, **{**AUTOREGRESSIVE, "decoder": "factorized"}),
        "autoregressive": VAETransformer(4, **AUTOREGRESSIVE),
        "committed": VAETransformer(4, committed_rate=0.5, **AUTOREGRESSIVE),
    }
    return X, {name: model.fit(X) for name, model in fits.items()}


def test_autoregressive_decoder_needs_less_of_the_code_and_fits_the_rows_better(chains):
    X, fits = chains
    # The rows' entropy is log 2 + 7 H(0.1) = 2.97 nats: the decoder alone can reach it.
    assert fits["autoregressive"].score(X) > fits["factorized"].score(X) + 0.5
    assert fits["autoregressive"].score(X) > -2.97 - 0.4
    kl = {name: kl_per_dimension(model, X).sum() for name, model in fits.items()}
    assert kl["autoregressive"] < 0.6 * kl["factorized"]


def test_committed_rate_keeps_the_autoregressive_vaes_kl_above_its_floor(chains):
    X, fits = chains
    assert kl_per_dimension(fits["committed"], X).min() >= 0.5 * (1 - 1e-4)
    assert active_units(fits["committed"], X) >= 1


def test_autoregressive_samples_are_drawn_feature_by_feature_and_reproducible(digits):
    vae = VAETransformer(3, **{**AUTOREGRESSIVE, "max_iter": 2}).fit(digits)
    samples = vae.sample(5, random_state=0)
    assert samples.shape == (5, 64)
    assert ((samples >= 0) & (samples <= 1)).all()
    np.testing.assert_array_equal(samples, vae.sample(5, random_state=0))
    assert not np.array_equal(samples, vae.sample(5, random_state=1))
    assert vae.inverse_transform(vae.transform(digits[:4])).shape == (4, 64)


def test_the_pixelcnn_decoder_sees_only_the_pixels_before_each_one():
    decoder = PixelCNNDecoder(3, (2, 5, 6), 8, 3, "relu", "bernoulli")
    x, code = torch.rand(1, 60, requires_grad=True), torch.randn(1, 3)
    outputs = decoder(code, x)
    # A pixel's channels come in one step; the step of each feature, flattened channel-first.
    step = torch.empty(60, dtype=torch.long)
    for k, features in enumerate(decoder.generation_steps()):
        step[features] = k
    for feature in range(60):
        (gradient,) = torch.autograd.grad(outputs[0, feature], x, retain_graph=True)
        reads = gradient[0] != 0
        assert not (reads & (step >= step[feature])).any()
        # Past the first row every pixel reads some pixel before it.
        assert reads.any() or step[feature] < 6


def test_a_convolutional_vae_gets_a_pixelcnn_decoder(digits):
    vae = VAETransformer(
        3, architecture="conv", conv_channels=(8,), image_shape=(8, 8), **AUTOREGRESSIVE
    ).fit(digits)
    assert isinstance(vae.net_.module_.decoder, PixelCNNDecoder)
    assert vae.loss_curve_[-1] < vae.loss_curve_[0]
    samples = vae.sample(3, random_state=0)
    assert samples.shape == (3, 64) and ((samples >= 0) & (samples <= 1)).all()
    np.testing.assert_array_equal(samples, vae.sample(3, random_state=0))
    assert np.isfinite(vae.score_samples(digits[:5])).all()


def test_an_architecture_without_an_autoregressive_decoder_is_refused(digits):
    with pytest.raises(ValueError, match="no autoregressive_decoder method"):
        VAETransformer(2, decoder="autoregressive", architecture=DenseOnly((8,)), max_iter=1).fit(
            digits
        )


def test_aggressive_updates_train_the_encoder_first_then_stop_when_information_stops_rising(
    digits,
):
    vae = VAETransformer(4, encoder_updates="aggressive", **{**SMALL, "max_iter": 6}).fit(digits)
    phases = vae.net_.history[:, "aggressive_encoder_updates"]
    assert phases[0] is True
    # Once off, the aggressive phase stays off.
    assert phases == sorted(phases, reverse=True)
    assert active_units(vae, digits) >= 1


def test_onnx_export_refuses_the_autoregressive_decoder_but_serves_its_encoder(digits, tmp_path):
    pytest.importorskip("onnx")
    vae = VAETransformer(3, **{**AUTOREGRESSIVE, "max_iter": 1}).fit(digits)
    with pytest.raises(ValueError, match="one feature at a time"):
        export_onnx(vae, tmp_path / "decoder.onnx", part="decoder")
    assert export_onnx(vae, tmp_path / "encoder.onnx").endswith("encoder.onnx")
