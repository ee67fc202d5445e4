"""Each family of model trains and predicts on a CUDA GPU (skipped on machines without one).

The kinds of model that ``save``/``load`` must carry are trained on a GPU in
``test_persistence.py``; these are the rest: the training objectives and inference
paths that only run during ``fit`` or ``transform``.
"""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from sklearn_ae import AutoencoderTransformer, VAETransformer
from sklearn_ae.datasets import make_sprites

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

SMALL = {"hidden_layer_sizes": (16,), "max_iter": 3, "random_state": 0, "device": "cuda"}

CASES = {
    "ae-contractive": (AutoencoderTransformer, {"contractive_weight": 0.1}),
    "ae-sparse-l1": (AutoencoderTransformer, {"sparsity": "l1"}),
    "ae-vq": (AutoencoderTransformer, {"quantization": "vq", "codebook_size": 16}),
    "ae-adversarial-ring": (
        AutoencoderTransformer,
        {"prior_matching": "adversarial", "prior": "ring"},
    ),
    "ae-infonce-placement": (
        AutoencoderTransformer,
        {"neighbor_loss": "infonce", "placement": "neighbors", "refine_epochs": 2},
    ),
    "ae-umap": (AutoencoderTransformer, {"neighbor_loss": "umap"}),
    "vae-iwae": (VAETransformer, {"n_importance_samples": 4}),
    "vae-svi": (VAETransformer, {"svi_steps": 2}),
    "vae-aggressive": (VAETransformer, {"encoder_updates": "aggressive"}),
    "vae-m2": (VAETransformer, {"conditional": True}),
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_model_trains_and_predicts_on_a_gpu(name, digits):
    Estimator, params = CASES[name]
    if params.get("neighbor_loss") == "umap":
        pytest.importorskip("umap")
    X, y = digits
    labels, given = None, {}
    if params.get("conditional"):
        # Semi-supervised (M2): two rows in three unlabelled.
        labels, given = np.where(np.arange(len(y)) % 3 == 0, y, -1), {"y": y[:50]}
    model = Estimator(n_components=2, **SMALL, **params).fit(X, labels)
    assert torch.device(model.net_.device).type == "cuda"
    Z = model.transform(X[:50], **given)
    assert Z.shape == (50, 2) and np.isfinite(Z).all()
    assert np.isfinite(model.inverse_transform(Z, **given)).all()
    assert np.isfinite(model.score(X[:50], **given))
    draws = model.sample(5, random_state=0, **{key: v[:5] for key, v in given.items()})
    assert np.isfinite(draws).all()


def test_the_inverse_graphics_network_trains_on_a_gpu():
    X, factors = make_sprites(200, random_state=0)
    model = VAETransformer(
        n_components=7, likelihood="bernoulli", factor_dims=(1, 1, 1, 1, 1), **SMALL
    ).fit(X, factors)
    assert np.isfinite(model.transform(X[:20])).all()
