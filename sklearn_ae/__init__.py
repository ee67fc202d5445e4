"""Autoencoders as scikit-learn transformers, built on skorch and PyTorch."""

from ._autoencoder import AutoencoderTransformer
from ._export import export_onnx
from ._persistence import load, save
from ._vae import VAETransformer

__all__ = ["AutoencoderTransformer", "VAETransformer", "export_onnx", "load", "save"]
__version__ = "0.1.0"
