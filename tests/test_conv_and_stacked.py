"""Convolutional architectures (both estimators) and greedy layer-wise pretraining."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from sklearn_ae import AutoencoderTransformer, VAETransformer

CONV = {"architecture": "conv", "conv_channels": (8, 16), "max_iter": 10, "random_state": 0}
ESTIMATORS = [AutoencoderTransformer, VAETransformer]


@pytest.fixture(scope="module")
def X():
    return load_digits().data / 16


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("shape", [(8, 8), (1, 8, 8), (7, 7), (5, 9), (2, 6, 6)])
def test_conv_handles_any_image_shape(Estimator, shape):
    rng = np.random.RandomState(0)
    X = rng.rand(40, int(np.prod(shape)))
    model = Estimator(image_shape=shape, **{**CONV, "max_iter": 2}).fit(X)
    assert model.image_shape_ == (shape if len(shape) == 3 else (1, *shape))
    assert model.inverse_transform(model.transform(X)).shape == X.shape


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_image_arrays_are_flattened_and_the_square_shape_inferred(Estimator, X):
    images = X[:100].reshape(100, 8, 8)
    model = Estimator(**{**CONV, "max_iter": 2}).fit(images)
    assert model.image_shape_ == (1, 8, 8)
    np.testing.assert_array_equal(model.transform(images), model.transform(X[:100]))
    assert Estimator(**{**CONV, "max_iter": 1}).fit(X[:50]).image_shape_ == (1, 8, 8)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_image_shape_must_match_the_features(Estimator, X):
    with pytest.raises(ValueError, match=r"image_shape \(1, 7, 7\) has 49 pixels, but X has 64"):
        Estimator(image_shape=(7, 7), **CONV).fit(X[:50])
    with pytest.raises(ValueError, match="image_shape must be"):
        Estimator(image_shape=(2, 2, 2, 8), **CONV).fit(X[:50])


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_conv_with_batch_norm_trains_and_is_deterministic_at_transform(Estimator, X):
    model = Estimator(batch_norm=True, **CONV).fit(X[:300])
    np.testing.assert_array_equal(model.transform(X[:20]), model.transform(X[:20]))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.net_.module_.modules())


def test_conditional_conv_vae_samples_its_label(X):
    y = load_digits().target
    cvae = VAETransformer(conditional=True, likelihood="bernoulli", **CONV).fit(X, y)
    assert cvae.sample(5, y=2, random_state=0).shape == (5, 64)


def test_contractive_refuses_batch_norm(X):
    with pytest.raises(ValueError, match="batch_norm mixes the rows"):
        AutoencoderTransformer(contractive_weight=0.1, batch_norm=True, **CONV).fit(X[:50])


def test_conv_denoising_autoencoder_cleans_noisy_digits(X):
    X_train, X_test = X[:1400], X[1400:]
    noisy = np.clip(X_test + 0.5 * np.random.RandomState(0).randn(*X_test.shape), 0, 1)
    dae = AutoencoderTransformer(
        16, noise="gaussian", noise_level=0.5, learning_rate=3e-3, **{**CONV, "max_iter": 30}
    ).fit(X_train)
    cleaned = dae.inverse_transform(dae.transform(noisy))
    # The output must be closer to the clean digits than the noisy input is.
    # Measured: noisy input 0.115, denoised 0.050.
    assert np.mean((cleaned - X_test) ** 2) < 0.6 * np.mean((noisy - X_test) ** 2)


def test_greedy_pretraining_is_used_and_logged(X):
    params = {
        "n_components": 4,
        "hidden_layer_sizes": (32, 16),
        "max_iter": 3,
        "random_state": 0,
        "init": "random",
    }
    pretrained = AutoencoderTransformer(pretrain="greedy", pretrain_epochs=5, **params).fit(X)
    plain = AutoencoderTransformer(**params).fit(X)
    # Pretrained weights are used: fine-tuning starts from a lower loss.
    assert pretrained.loss_curve_[0] < plain.loss_curve_[0]
    # Pretraining has its own record; the net's history holds the fine-tuning epochs only.
    layers = [(row["layer"], row["epoch"]) for row in pretrained.pretrain_history_]
    assert layers == [(layer, epoch) for layer in (1, 2, 3) for epoch in range(1, 6)]
    assert all(np.isfinite(row["train_loss"]) for row in pretrained.pretrain_history_)
    assert len(pretrained.net_.history) == pretrained.n_iter_ == len(pretrained.loss_curve_) == 3
    assert plain.pretrain_history_ == []


@pytest.mark.parametrize(
    "params, match",
    [
        ({"architecture": "conv"}, "needs architecture='mlp', got architecture='conv'"),
        ({"init": "pca"}, "but pretrain='greedy' initialises"),
    ],
)
def test_greedy_pretraining_rejects_what_it_cannot_do(X, params, match):
    with pytest.raises(ValueError, match=match):
        AutoencoderTransformer(pretrain="greedy", max_iter=1, **params).fit(X[:50])
