"""Property-based tests: over shapes, dtypes, values and variant parameters, fit either
works or raises a ValueError/TypeError of our own (or scikit-learn's validation) that
names the problem, never an error from inside torch or skorch."""

import os
import traceback
import warnings

import numpy as np
import pytest
import skorch
import torch

from sklearn_ae import AutoencoderTransformer, VAETransformer

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
given, settings, HealthCheck = hypothesis.given, hypothesis.settings, hypothesis.HealthCheck

LIBRARY_DIRS = tuple(os.path.dirname(m.__file__) + os.sep for m in (torch, skorch))

SHARED_VARIANTS = {
    "architecture": st.sampled_from(["mlp", "mlp", "conv"]),
    "batch_norm": st.booleans(),
    "noise": st.sampled_from([None, "gaussian", "masking"]),
    "noise_level": st.sampled_from([0.0, 0.3, 1.0, 2.0]),
    "batch_size": st.integers(1, 8),
    "early_stopping": st.booleans(),
    "validation_fraction": st.sampled_from([0.1, 0.5, 0.9]),
}
AE_VARIANTS = {
    "loss": st.sampled_from(["mse", "bce"]),
    "sparsity": st.sampled_from([None, "kl", "l1"]),
    "contractive_weight": st.sampled_from([0.0, 1e-3]),
    "pretrain": st.sampled_from([None, "greedy"]),
    "init": st.sampled_from(["auto", "pca", "random"]),
}
VAE_VARIANTS = {
    "likelihood": st.sampled_from(["gaussian", "bernoulli"]),
    "prior": st.sampled_from(["normal", "mixture"]),
    "n_prior_components": st.integers(1, 3),
    "n_importance_samples": st.integers(1, 3),
    "kl_warmup": st.integers(0, 2),
    "free_bits": st.sampled_from([0.0, 0.5]),
    "conditional": st.booleans(),
}


@st.composite
def estimators(draw):
    if draw(st.booleans()):
        Estimator, variants = AutoencoderTransformer, {**SHARED_VARIANTS, **AE_VARIANTS}
        fast = {"pretrain_epochs": 1}
    else:
        Estimator, variants = VAETransformer, {**SHARED_VARIANTS, **VAE_VARIANTS}
        fast = {"n_score_samples": 3}
    params = {name: draw(values) for name, values in variants.items()}
    return Estimator(
        n_components=draw(st.integers(1, 6)),
        **params,
        **fast,
        hidden_layer_sizes=(4,),
        conv_channels=(2,),
        max_iter=2,
        random_state=0,
    )


@st.composite
def datasets(draw):
    n_samples = draw(st.integers(1, 16))
    n_features = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64, np.bool_, object]))
    scale = draw(st.sampled_from([1.0, 1e3, 1e30]))
    values = draw(
        st.lists(
            st.floats(-1, 1, allow_nan=False),
            min_size=n_samples * n_features,
            max_size=n_samples * n_features,
        )
    )
    X = (np.array(values) * scale).reshape(n_samples, n_features)
    if draw(st.booleans()):
        X = np.abs(X) / max(np.abs(X).max(), 1.0)  # into [0, 1], as pixel data
    special = draw(st.sampled_from([None, None, None, np.nan, np.inf]))
    if special is not None and dtype in (np.float32, np.float64, object):
        X.flat[draw(st.integers(0, X.size - 1))] = special
    if dtype is object:
        X = X.astype(str).astype(object) if draw(st.booleans()) else X.astype(object)
    elif dtype is not np.float64:
        with np.errstate(invalid="ignore"):  # a huge float does not fit an int; fine here
            X = X.astype(dtype)
    y = np.array(draw(st.lists(st.integers(0, 2), min_size=n_samples, max_size=n_samples)))
    return X, y


def raised_inside_a_library(error):
    """True when the innermost frame of ``error``'s traceback is in torch or skorch."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(LIBRARY_DIRS)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(estimator=estimators(), data=datasets())
def test_fit_works_or_names_the_problem(estimator, data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            estimator.fit(X, y)
        except (ValueError, TypeError) as error:
            assert not raised_inside_a_library(error), "".join(traceback.format_exception(error))
            assert str(error)
            return
        labels = {"y": y} if getattr(estimator, "conditional", False) else {}
        Z = estimator.transform(X, **labels)
        X_back = estimator.inverse_transform(Z, **labels)
        estimator.partial_fit(X, y)
        generated = estimator.sample(2, **({"y": y[:2]} if labels else {}))
    assert Z.shape == (len(X), estimator.n_components)
    assert X_back.shape == X.shape
    assert generated.shape[1] == X.shape[1]
    expected = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    assert Z.dtype == X_back.dtype == expected
