"""The adversarial autoencoder: codes matched to a fixed prior, which sample decodes."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.metrics import maximum_mean_discrepancy


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data / 16,)


def mmd(A, B):
    """Squared MMD with a Gaussian kernel of bandwidth 1."""
    return maximum_mean_discrepancy(A, B, bandwidth=1.0)


@pytest.mark.parametrize("prior", ["normal", "ring"])
def test_adversarial_codes_are_closer_to_the_prior_than_a_plain_autoencoders(prior, digits):
    X_train = digits[0]
    params = {"hidden_layer_sizes": (128, 64), "max_iter": 30, "early_stopping": False}
    aae = AutoencoderTransformer(2, prior_matching="adversarial", prior=prior, random_state=0)
    aae.set_params(**params).fit(X_train)
    plain = AutoencoderTransformer(2, init="random", random_state=0, **params).fit(X_train)
    draws = aae.net_.module_.code_prior.sample(500, np.random.RandomState(1))
    assert mmd(aae.transform(X_train[:500]), draws) < 0.5 * mmd(
        plain.transform(X_train[:500]), draws
    )
    # sample decodes prior draws: the same draws decoded by hand give the same rows.
    codes = aae.net_.module_.code_prior.sample(5, np.random.RandomState(3))
    np.testing.assert_allclose(
        aae.sample(5, random_state=3), aae.inverse_transform(codes), rtol=1e-5
    )


def test_ring_prior_needs_two_code_dimensions(digits):
    model = AutoencoderTransformer(1, prior_matching="adversarial", prior="ring", max_iter=1)
    with pytest.raises(ValueError, match="n_components >= 2"):
        model.fit(digits[0])
