"""save/load without pickle, the load errors, and ONNX export served by onnxruntime."""

import json
import pathlib
import pickle

import numpy as np
import pandas as pd
import pytest
from safetensors.torch import save_file
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

from sklearn_ae import AutoencoderTransformer, VAETransformer, export_onnx, load, save

SMALL = {"hidden_layer_sizes": (16,), "max_iter": 3, "random_state": 0}

# Every kind of fitted state a file must carry.
MODELS = {
    "ae": (AutoencoderTransformer, {}),
    "ae-bce-sparse-kl": (AutoencoderTransformer, {"loss": "bce", "sparsity": "kl"}),
    "ae-conv-batch-norm": (
        AutoencoderTransformer,
        {"architecture": "conv", "conv_channels": (4, 8), "batch_norm": True},
    ),
    "ae-greedy": (AutoencoderTransformer, {"pretrain": "greedy", "pretrain_epochs": 2}),
    "ae-denoising": (AutoencoderTransformer, {"noise": "gaussian", "early_stopping": False}),
    "vae": (VAETransformer, {}),
    "vae-bernoulli-mixture": (VAETransformer, {"likelihood": "bernoulli", "prior": "mixture"}),
    "vae-conv": (VAETransformer, {"architecture": "conv", "conv_channels": (4,)}),
    "cvae": (VAETransformer, {"conditional": True}),
    "vae-pca-start": (VAETransformer, {"init": "pca"}),
    "vae-flow": (VAETransformer, {"prior": "flow", "n_prior_components": 2}),
    "vae-autoregressive-committed": (
        VAETransformer,
        {"likelihood": "bernoulli", "decoder": "autoregressive", "committed_rate": 0.2},
    ),
    "vae-pixelcnn": (
        VAETransformer,
        {"architecture": "conv", "conv_channels": (4,), "decoder": "autoregressive"},
    ),
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300], X[300:400] / 16, y[300:400]


def fitted(name, digits):
    Estimator, params = MODELS[name]
    X, y = digits[0], digits[1]
    return Estimator(n_components=3, **SMALL, **params).fit(X, y)


def outputs(model, X, y):
    labels = {"y": y} if getattr(model, "conditional", False) else {}
    Z = model.transform(X, **labels)
    return {
        "transform": Z,
        "inverse_transform": model.inverse_transform(Z, **labels),
        "score": model.score(X, **labels),
        "score_samples": model.score_samples(X, **labels),
        "sample": model.sample(5, random_state=0, **({"y": y[:5]} if labels else {})),
    }


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_loaded_model_gives_the_saved_models_outputs(name, digits, tmp_path):
    model = fitted(name, digits)
    path = save(model, tmp_path / "model.safetensors")
    loaded = load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    X_new, y_new = digits[2], digits[3]
    expected, got = outputs(model, X_new, y_new), outputs(loaded, X_new, y_new)
    for method in expected:
        np.testing.assert_array_equal(got[method], expected[method], err_msg=method)
    assert loaded.n_iter_ == model.n_iter_ and loaded.loss_curve_ == model.loss_curve_
    # No pickle anywhere in the file: its header is JSON and the rest raw tensor bytes.
    assert b"\x80\x04" not in path_bytes(path)[:16] and b"pickle" not in path_bytes(path)


def path_bytes(path):
    return pathlib.Path(path).read_bytes()


def test_pandas_feature_names_and_labels_survive(digits, tmp_path):
    X, y = digits[0], digits[1]
    frame = pd.DataFrame(X, columns=[f"pixel {i}" for i in range(64)])
    cvae = VAETransformer(2, conditional=True, **SMALL).fit(frame, np.array(list("abc"))[y % 3])
    loaded = load(save(cvae, tmp_path / "cvae.safetensors"))
    np.testing.assert_array_equal(loaded.feature_names_in_, cvae.feature_names_in_)
    np.testing.assert_array_equal(loaded.classes_, cvae.classes_)
    assert loaded.sample(2, y="b", random_state=0).shape == (2, 64)


def test_a_loaded_model_trains_on(digits, tmp_path):
    model = fitted("ae", digits)
    loaded = load(save(model, tmp_path / "m.safetensors")).set_params(warm_start=True)
    loaded.fit(digits[0])
    assert loaded.n_iter_ > model.n_iter_


def test_save_needs_a_fitted_model_and_no_code(digits, tmp_path):
    with pytest.raises(NotFittedError):
        save(AutoencoderTransformer(), tmp_path / "m.safetensors")

    class Architecture:  # a user's object: only pickle can hold its code
        def __init__(self):
            from sklearn_ae._architectures import MLPArchitecture

            self.inner = MLPArchitecture((8,))

        def trunk(self, n_features, n_conditions=0):
            return self.inner.trunk(n_features, n_conditions)

        def decoder(self, n_inputs, n_features):
            return self.inner.decoder(n_inputs, n_features)

    custom = AutoencoderTransformer(2, architecture=Architecture(), max_iter=1).fit(digits[0])
    with pytest.raises(ValueError, match="architecture=.*cannot be saved without pickle"):
        save(custom, tmp_path / "m.safetensors")


def test_load_refuses_what_is_not_a_model_and_runs_nothing(digits, tmp_path, code_payload):
    path = pathlib.Path(save(fitted("ae", digits), tmp_path / "model.safetensors"))
    good = path.read_bytes()
    cases = {
        "truncated": good[: len(good) // 2],
        "header-tampered": good[:9] + b"#" + good[10:],
        "pickle": pickle.dumps(code_payload[0]),
        "text": b"hello",
        "weights-tampered": good[:-4] + bytes(4),
    }
    for case, content in cases.items():
        path.write_bytes(content)
        with pytest.raises(ValueError, match=f"{path}.*(not a readable|damaged)"):
            load(path)
            pytest.fail(f"loaded a {case} file")
    assert not code_payload[1].exists()
    with pytest.raises(ValueError, match="No model file at"):
        load(tmp_path / "missing.safetensors")


def test_load_names_foreign_and_newer_files(digits, tmp_path):
    import torch

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, foreign)
    with pytest.raises(ValueError, match="not an sklearn-ae model"):
        load(foreign)

    path = tmp_path / "model.safetensors"
    save(fitted("ae", digits), path)
    from safetensors import safe_open

    with safe_open(path, framework="pt") as file:
        metadata = file.metadata()
        tensors = {key: file.get_tensor(key) for key in file.keys()}
    save_file(tensors, path, metadata={**metadata, "format_version": "99"})
    with pytest.raises(ValueError, match="model format 99.*Upgrade sklearn-ae"):
        load(path)
    document = json.loads(metadata["estimator"])
    # The tensors still match their checksum, but the class is not one load may build.
    document["class"] = "os.system"
    save_file(tensors, path, metadata={**metadata, "estimator": json.dumps(document)})
    with pytest.raises(ValueError, match="is damaged: its content"):
        load(path)
    del tensors["module.code.0.weight"]
    save_file(tensors, path, metadata=metadata)
    with pytest.raises(ValueError, match="is damaged: its tensors do not match"):
        load(path)


@pytest.mark.parametrize(
    "name", ["ae", "ae-conv-batch-norm", "vae", "vae-conv", "cvae", "vae-pca-start"]
)
@pytest.mark.parametrize("part", ["encoder", "decoder"])
def test_onnx_export_serves_transform_and_inverse_transform(name, part, digits, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    model = fitted(name, digits)
    X_new, y_new = digits[2], digits[3]
    conditional = getattr(model, "conditional", False)
    labels = {"y": y_new} if conditional else {}
    Z = model.transform(X_new, **labels)
    path = export_onnx(model, tmp_path / f"{part}.onnx", part=part)
    session = onnxruntime.InferenceSession(path)
    feed = {"X": X_new} if part == "encoder" else {"Z": Z}
    feed = {key: value.astype(np.float32) for key, value in feed.items()}
    if conditional:
        feed["condition"] = (y_new[:, None] == model.classes_).astype(np.float32)
    (served,) = session.run(None, feed)
    expected = Z if part == "encoder" else model.inverse_transform(Z, **labels)
    np.testing.assert_allclose(served, expected, atol=1e-5)
    assert served.shape[0] == len(X_new)  # the batch axis is dynamic


def test_onnx_export_names_a_wrong_part(digits, tmp_path):
    with pytest.raises(ValueError, match="part must be one of"):
        export_onnx(fitted("ae", digits), tmp_path / "m.onnx", part="code")


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_model_trained_on_a_gpu_loads_on_the_cpu(name, digits, tmp_path, monkeypatch):
    # In TF32 (PyTorch's default for GPU convolutions) a PixelCNN's sampled pixel could flip.
    monkeypatch.setattr("torch.backends.cudnn.allow_tf32", False)
    Estimator, params = MODELS[name]
    model = Estimator(n_components=3, **SMALL, **params, device="cuda").fit(digits[0], digits[1])
    loaded = load(save(model, tmp_path / "gpu.safetensors"))
    assert loaded.device == "cpu" and str(loaded.net_.device) == "cpu"
    X_new, y_new = digits[2], digits[3]
    on_gpu, on_cpu = outputs(model, X_new, y_new), outputs(loaded, X_new, y_new)
    # The random draws of sample are made on the CPU, so they are the same on both.
    for method in on_gpu:
        np.testing.assert_allclose(on_cpu[method], on_gpu[method], rtol=1e-3, atol=1e-3)
