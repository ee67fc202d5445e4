"""scikit-learn's estimator checks over every public estimator, with no expected failure.

The configurations cover each architecture (MLP, conv, conv with batch norm),
the penalties, greedy pretraining, the VAE's random start (beside its default,
automatic one), the mixture prior with the importance-weighted bound, the
neighbour map with its placement of new rows, discrete codes, training on factors
(y as one factor), and each estimator's default network (fewer epochs).
``ESTIMATORS`` is shared with ``test_row_invariance.py``.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ae import AutoencoderTransformer, VAETransformer

FAST = {"hidden_layer_sizes": (8,), "max_iter": 3, "batch_size": 16, "random_state": 0}

ESTIMATORS = [
    AutoencoderTransformer(architecture="conv", conv_channels=(4,), **FAST),
    VAETransformer(architecture="conv", conv_channels=(4,), batch_norm=True, **FAST),
    AutoencoderTransformer(pretrain="greedy", pretrain_epochs=2, **FAST),
    AutoencoderTransformer(**FAST),
    AutoencoderTransformer(noise="masking", sparsity="kl", contractive_weight=1e-3, **FAST),
    VAETransformer(**FAST),
    VAETransformer(init="random", **FAST),
    VAETransformer(prior="mixture", n_importance_samples=3, kl_warmup=2, **FAST),
    AutoencoderTransformer(neighbor_loss="umap", placement="neighbors", **FAST),
    VAETransformer(neighbor_loss="infonce", placement="neighbors", **FAST),
    AutoencoderTransformer(quantization="vq", codebook_size=16, codebook_dim=1, **FAST),
    VAETransformer(factor_dims=(1,), **FAST),
    AutoencoderTransformer(max_iter=2, random_state=0),
    VAETransformer(max_iter=2, random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
