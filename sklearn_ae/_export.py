"""Export a fitted encoder or decoder to ONNX, for serving without Python or this package."""

import copy
import os
import warnings

import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn


class _Encoder(nn.Module):
    """Rows (and one-hot conditions) to codes: ``transform`` (a VAE's posterior mean)."""

    def __init__(self, net):
        super().__init__()
        self.module = net.module_

    def forward(self, x, condition=None):
        return self.module.encode(x, condition)


class _Decoder(nn.Module):
    """Codes (and one-hot conditions) to rows in data space: ``inverse_transform``."""

    def __init__(self, net):
        super().__init__()
        self.module, self.criterion = net.module_, net.criterion_

    def forward(self, z, condition=None):
        return self.criterion.to_data(self.module.decode(z, condition))


# ``export_onnx(part=...)``: the wrapper module, its input and output names, and the
# estimator attribute that gives the input width.
_PARTS = {
    "encoder": (_Encoder, "X", "Z", "n_features_in_"),
    "decoder": (_Decoder, "Z", "X", "_n_features_out"),
}


def export_onnx(estimator, path, part="encoder"):
    """Write the encoder or the decoder of a fitted estimator as an ONNX model.

    The model takes float32 rows with any number of them (a dynamic batch
    axis) and gives what ``transform`` (``part="encoder"``, input ``"X"``,
    output ``"Z"``) or ``inverse_transform`` (``part="decoder"``, input
    ``"Z"``, output ``"X"``) gives, in float32. A conditional VAE's model has
    a second input, ``"condition"``: the one-hot label, columns in the order of
    ``classes_``. Any ONNX runtime serves it (``pip install onnxruntime``).

    Parameters
    ----------
    estimator : AutoencoderTransformer or VAETransformer
        Fitted.
    path : str or path-like
        Where to write the ``.onnx`` file.
    part : {"encoder", "decoder"}, default="encoder"
        Which half to export.

    Returns
    -------
    path : str
        The path written.

    Examples
    --------
    >>> import tempfile, numpy as np, onnxruntime
    >>> from sklearn_ae import AutoencoderTransformer, export_onnx
    >>> X = np.random.RandomState(0).rand(50, 4).astype(np.float32)
    >>> ae = AutoencoderTransformer(2, hidden_layer_sizes=(8,), max_iter=2).fit(X)
    >>> path = export_onnx(ae, tempfile.mkdtemp() + "/encoder.onnx")
    >>> Z = onnxruntime.InferenceSession(path).run(None, {"X": X})[0]
    >>> bool(np.allclose(Z, ae.transform(X), atol=1e-5))
    True
    """
    check_is_fitted(estimator)
    if part not in _PARTS:
        raise ValueError(f"part must be one of {sorted(_PARTS)}, got {part!r}.")
    if part == "encoder" and estimator.placement == "neighbors":
        raise ValueError(
            "This model's transform places rows by optimisation among the training rows "
            "(placement='neighbors'), which an ONNX encoder cannot do. To export the encoder "
            "alone, whose codes are those of placement='encoder', call "
            "estimator.set_params(placement='encoder') first."
        )
    if part == "decoder" and getattr(estimator, "decoder", None) == "autoregressive":
        raise ValueError(
            "This model's decoder (decoder='autoregressive') generates a row one feature at "
            "a time, a loop of n_features passes that the ONNX export does not hold. Export "
            "the encoder, or save the model with sklearn_ae.save."
        )
    build, input_name, output_name, width = _PARTS[part]
    # A copy on the CPU: the estimator's own network stays where it is.
    model = copy.deepcopy(build(estimator.net_)).to("cpu").eval()
    inputs, names = (torch.zeros(2, getattr(estimator, width)),), [input_name]
    if getattr(estimator, "conditional", False):
        inputs += (torch.zeros(2, len(estimator.classes_)),)
        names.append("condition")
    try:
        with warnings.catch_warnings():
            # The TorchScript-based exporter: in torch 2.13 the torch.export-based one also
            # needs onnxscript and logs a dozen lines per export; this one is quiet and tested
            # (tests/test_persistence.py), though deprecated.
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            torch.onnx.export(
                model,
                inputs,
                os.fspath(path),
                input_names=names,
                output_names=[output_name],
                dynamic_axes={name: {0: "n_samples"} for name in [*names, output_name]},
                dynamo=False,
            )
    except Exception as error:  # the exporter raises many types for unsupported layers
        raise ValueError(
            f"This model's {part} cannot be exported to ONNX: {str(error).splitlines()[0]}. "
            "A network of your own (architecture=...) may use operations ONNX lacks; "
            "save the model with sklearn_ae.save instead."
        ) from None
    return os.fspath(path)
