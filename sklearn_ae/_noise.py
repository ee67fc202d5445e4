"""Input corruption for denoising models, active only while training.

A corruption is an ``nn.Module`` placed in front of the encoder. Like dropout it
does nothing in evaluation mode, so ``transform`` and validation see clean data.
"""

import torch
from torch import nn


class GaussianNoise(nn.Module):
    """Add isotropic Gaussian noise, optionally clipped to a range.

    Parameters
    ----------
    std : float
        Standard deviation of the noise, in units of the input.
    clip : tuple of (float, float) or None, default=None
        Range the noisy input is clipped to (``(0, 1)`` for pixel data).

    Examples
    --------
    >>> import torch
    >>> noise = GaussianNoise(0.5, clip=(0.0, 1.0)).train()
    >>> x = noise(torch.full((4, 3), 0.5))
    >>> bool(((x >= 0) & (x <= 1)).all()), bool(noise.eval()(x).equal(x))
    (True, True)
    """

    def __init__(self, std, clip=None):
        super().__init__()
        self.std = std
        self.clip = clip

    def forward(self, x):
        if not self.training:
            return x
        noisy = x + self.std * torch.randn_like(x)
        if self.clip is not None:
            noisy = noisy.clamp(*self.clip)
        return noisy


class MaskingNoise(nn.Module):
    """Set a random fraction of the inputs to zero (no rescaling, unlike dropout).

    Parameters
    ----------
    fraction : float
        Probability that an input is zeroed, below 1.
    clip : None
        Unused (masking keeps values in range); accepted so that every noise is built alike.

    Examples
    --------
    >>> import torch
    >>> x = MaskingNoise(0.5).train()(torch.ones(1000, 10))
    >>> 0.4 < float((x == 0).float().mean()) < 0.6
    True
    """

    def __init__(self, fraction, clip=None):
        super().__init__()
        if fraction >= 1:
            raise ValueError(f"noise='masking' needs noise_level below 1, got {fraction}.")
        self.fraction = fraction

    def forward(self, x):
        if not self.training:
            return x
        keep = torch.rand_like(x) >= self.fraction
        return x * keep


# ``noise=...`` of both estimators: name -> class built from (noise_level, clip).
NOISES = {"gaussian": GaussianNoise, "masking": MaskingNoise}


def make_corruption(kind, level, clip=None):
    """Return the corruption module for ``noise=kind``, or None for clean training.

    Parameters
    ----------
    kind : str or None
        A key of :data:`NOISES`, or None.
    level : float
        The ``noise_level`` parameter.
    clip : tuple of (float, float) or None, default=None
        Range that additive noise is clipped to (the data's, for data in [0, 1]).

    Returns
    -------
    corruption : nn.Module or None

    Examples
    --------
    >>> make_corruption("masking", 0.2)
    MaskingNoise()
    >>> make_corruption(None, 0.2) is None
    True
    """
    return None if kind is None else NOISES[kind](level, clip=clip)
