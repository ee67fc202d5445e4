"""Autoencoders as scikit-learn transformers, built on skorch and PyTorch."""

from ._autoencoder import AutoencoderTransformer
from ._vae import VAETransformer

__all__ = ["AutoencoderTransformer", "VAETransformer"]
__version__ = "0.1.0"
