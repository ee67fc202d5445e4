"""Autoencoders as scikit-learn transformers, built on skorch and PyTorch."""

from ._autoencoder import AutoencoderTransformer

__all__ = ["AutoencoderTransformer"]
__version__ = "0.1.0"
