"""scikit-learn's estimator checks over every public estimator, with fast settings."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ae import AutoencoderTransformer, VAETransformer

FAST = {"hidden_layer_sizes": (8,), "max_iter": 3, "batch_size": 16, "random_state": 0}

ESTIMATORS = [
    AutoencoderTransformer(**FAST),
    AutoencoderTransformer(noise="masking", sparsity="kl", contractive_weight=1e-3, **FAST),
    VAETransformer(**FAST),
    VAETransformer(prior="mixture", n_importance_samples=3, free_bits=0.1, kl_warmup=2, **FAST),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
