"""scikit-learn's estimator checks over every public estimator, with fast settings."""

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
    VAETransformer(prior="mixture", n_importance_samples=3, free_bits=0.1, kl_warmup=2, **FAST),
]


# PyTorch's float32 convolutions (oneDNN) choose their algorithm by batch size, so the code of
# a row can differ in the 7th significant digit between the full data and a subset (measured:
# 9.5e-7 absolute, 1.2e-7 relative), while this check allows a relative error of 1e-7. Rows
# never influence each other (batch norm uses its running statistics at transform time).
CONV_FLOAT32_REASON = "float32 convolution results vary at ~1e-7 with the batch size"


def expected_failures(estimator):
    if estimator.architecture == "conv":
        return {
            "check_methods_subset_invariance": CONV_FLOAT32_REASON,
            "check_methods_sample_order_invariance": CONV_FLOAT32_REASON,
        }
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)
