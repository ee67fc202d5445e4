"""Discrete codes: AutoencoderTransformer(quantization="vq")."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import sklearn_ae
from sklearn_ae import AutoencoderTransformer
from sklearn_ae._quantization import VectorQuantizer


@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:600] / 16


def _vq(**params):
    settings = dict(
        quantization="vq", codebook_size=16, hidden_layer_sizes=(32,), max_iter=5, random_state=0
    )
    return AutoencoderTransformer(4, **{**settings, **params})


@pytest.fixture(scope="module")
def fitted(digits):
    return _vq().fit(digits)


def _on_codebook(codes, model):
    entries = model.net_.module_.quantizer.codebook.detach().numpy()
    positions = codes.reshape(-1, model.codebook_dim)
    distance = np.abs(positions[:, None, :] - entries[None]).max(axis=2).min(axis=1)
    return distance < 1e-6


def test_codes_lie_on_the_codebook(fitted, digits):
    codes = fitted.transform(digits)
    assert codes.shape == (600, 4)
    assert _on_codebook(codes, fitted).all()
    # Two positions of two numbers: at least a few distinct entries in use.
    assert len(np.unique(codes.reshape(-1, 2), axis=0)) >= 4


def test_usage_is_reported(fitted, digits):
    codes = fitted.transform(digits).reshape(-1, 2)
    used = len(np.unique(codes, axis=0))
    assert fitted.codebook_usage_ == pytest.approx(used / 16)
    assert 1.0 <= fitted.codebook_perplexity_ <= used


def test_samples_come_from_the_fitted_code_prior(fitted, digits):
    quantizer = fitted.net_.module_.quantizer
    codes = fitted._sample_codes(500, np.random.RandomState(0))
    assert _on_codebook(codes, fitted).all()
    train = quantizer.indices(torch.as_tensor(fitted.transform(digits), dtype=torch.float32))
    drawn = quantizer.indices(torch.as_tensor(codes, dtype=torch.float32))
    # The prior learned the training indices: far likelier than uniform, and its draws are
    # mostly the pairs of indices the training rows use.
    log_prob = quantizer.prior.log_prob(train).mean().item()
    assert log_prob > -2 * np.log(16) + 1.0
    seen = {tuple(row) for row in train.tolist()}
    assert np.mean([tuple(row) in seen for row in drawn.tolist()]) > 0.8
    X_new = fitted.sample(5, random_state=0)
    assert X_new.shape == (5, 64)
    np.testing.assert_array_equal(X_new, fitted.sample(5, random_state=0))


def test_gradients_pass_straight_through_the_snap():
    torch.manual_seed(0)
    quantizer = VectorQuantizer(4, codebook_size=8, width=2)
    z = torch.randn(5, 4, requires_grad=True)
    quantizer(z).sum().backward()
    torch.testing.assert_close(z.grad, torch.ones(5, 4))
    loss = quantizer.loss(z)
    assert loss.item() > 0


def test_unused_entries_restart_on_recent_codes():
    torch.manual_seed(0)
    quantizer = VectorQuantizer(2, codebook_size=4, width=2)
    with torch.no_grad():
        quantizer.codebook.copy_(torch.tensor([[0.0, 0.0], [9.0, 9.0], [8.0, 8.0], [7.0, 7.0]]))
    z = torch.full((6, 2), 0.1) + 0.01 * torch.randn(6, 2)
    quantizer.train()
    quantizer(z)
    assert quantizer.restart_unused() == 3
    restarted = quantizer.codebook[1:].detach()
    assert (torch.cdist(restarted, z).min(dim=1).values < 1e-6).all()


def test_fit_is_reproducible(digits):
    first, second = _vq().fit(digits), _vq().fit(digits)
    np.testing.assert_array_equal(first.transform(digits), second.transform(digits))
    np.testing.assert_array_equal(first.sample(3, random_state=1), second.sample(3, random_state=1))


def test_save_and_load_keep_codebook_and_prior(fitted, digits, tmp_path):
    path = sklearn_ae.save(fitted, tmp_path / "vq.safetensors")
    loaded = sklearn_ae.load(path)
    np.testing.assert_array_equal(loaded.transform(digits), fitted.transform(digits))
    np.testing.assert_array_equal(
        loaded.sample(4, random_state=0), fitted.sample(4, random_state=0)
    )
    assert loaded.codebook_usage_ == fitted.codebook_usage_


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"codebook_dim": 3}, "not a multiple"),
        ({"prior_matching": "adversarial"}, "prior_matching"),
        ({"contractive_weight": 0.1}, "contractive_weight"),
    ],
)
def test_bad_settings_are_refused(digits, params, message):
    with pytest.raises(ValueError, match=message):
        _vq(**params).fit(digits[:50])


def test_the_exported_encoder_snaps_as_transform_does(fitted, digits, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    path = sklearn_ae.export_onnx(fitted, tmp_path / "encoder.onnx")
    session = onnxruntime.InferenceSession(path)
    name = session.get_inputs()[0].name
    codes = session.run(None, {name: digits[:30].astype(np.float32)})[0]
    np.testing.assert_allclose(codes, fitted.transform(digits[:30]), atol=1e-6)
