"""Adversarial prior matching (Makhzani et al., 2016): a discriminator on the codes.

``AutoencoderTransformer(prior_matching="adversarial", prior=...)`` adds a
discriminator that tells draws of a fixed prior p(z) from the codes of the
batch, and trains the encoder to fool it, so that the aggregate distribution
of the codes approaches p(z) and ``sample`` can decode prior draws directly.

Both players train in the same step with the one optimizer that skorch runs.
The discriminator's cross-entropy sees detached codes, so it trains the
discriminator only; the encoder's term is the non-saturating one of Goodfellow
et al. (2014), the cross-entropy of calling the codes prior draws, computed
with detached discriminator weights so that it trains the encoder only. A
gradient-reversal layer (the minimax form in one term) collapsed 2-D digits
codes to a point of standard deviation 0.05 and doubled the reconstruction
error.
"""

import math

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.nn.functional import binary_cross_entropy_with_logits

from ._penalties import Penalty

# Width of the discriminator's two hidden layers.
DISCRIMINATOR_WIDTH = 128


class StandardNormalCodes(nn.Module):
    """The fixed prior N(0, I) over the codes.

    Parameters
    ----------
    n_components : int
        Code width.

    Examples
    --------
    >>> import numpy as np
    >>> StandardNormalCodes(3).sample(4, np.random.RandomState(0)).shape
    (4, 3)
    """

    def __init__(self, n_components):
        super().__init__()
        self.n_components = n_components

    def draw(self, n_samples, like):
        """``n_samples`` draws as a tensor with the dtype and device of ``like``."""
        return torch.randn(n_samples, self.n_components, dtype=like.dtype, device=like.device)

    def sample(self, n_samples, rng):
        """``n_samples`` draws as a NumPy array, from ``rng``."""
        return rng.standard_normal((n_samples, self.n_components))


class CircleMixtureCodes(nn.Module):
    """A fixed mixture of ``N_MODES`` equal Gaussians for clustered codes.

    The means lie evenly on a circle of radius 4 in the first two code
    dimensions (0 in the others); each component has standard deviation 0.5
    in those two dimensions and 1 in the others, as in Makhzani et al.'s
    10-component 2-D prior.

    Parameters
    ----------
    n_components : int
        Code width, at least 2.

    Examples
    --------
    >>> import numpy as np
    >>> draws = CircleMixtureCodes(2).sample(1000, np.random.RandomState(0))
    >>> bool(abs(np.linalg.norm(draws, axis=1).mean() - 4) < 0.5)
    True
    """

    N_MODES = 10
    RADIUS = 4.0
    MODE_STD = 0.5

    def __init__(self, n_components):
        super().__init__()
        self.n_components = n_components
        angles = 2 * math.pi * np.arange(self.N_MODES) / self.N_MODES
        means = np.zeros((self.N_MODES, n_components))
        means[:, :2] = self.RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        stds = np.ones(n_components)
        stds[:2] = self.MODE_STD
        self.register_buffer("means", torch.tensor(means, dtype=torch.float32))
        self.register_buffer("stds", torch.tensor(stds, dtype=torch.float32))

    def draw(self, n_samples, like):
        """``n_samples`` draws as a tensor with the dtype and device of ``like``."""
        modes = torch.randint(self.N_MODES, (n_samples,), device=like.device)
        noise = torch.randn(n_samples, self.n_components, dtype=like.dtype, device=like.device)
        return self.means[modes].to(like.dtype) + noise * self.stds.to(like.dtype)

    def sample(self, n_samples, rng):
        """``n_samples`` draws as a NumPy array, from ``rng``."""
        means, stds = self.means.cpu().numpy(), self.stds.cpu().numpy()
        modes = rng.randint(self.N_MODES, size=n_samples)
        return means[modes] + stds * rng.standard_normal((n_samples, self.n_components))


# ``prior=...`` of an adversarial autoencoder.
# ``prior=...`` of the adversarial autoencoder. Not "mixture": on the VAE that names a learned
# mixture, while this one is fixed.
CODE_PRIORS = {"normal": StandardNormalCodes, "ring": CircleMixtureCodes}


def discriminator(n_components):
    """The discriminator: codes to one logit (prior draw vs code), two ReLU layers.

    Examples
    --------
    >>> import torch
    >>> discriminator(3)(torch.zeros(5, 3)).shape
    torch.Size([5, 1])
    """
    width = DISCRIMINATOR_WIDTH
    return nn.Sequential(
        nn.Linear(n_components, width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Linear(width, 1),
    )


def _frozen(module, inputs):
    """``module(inputs)`` with its weights detached: gradients reach the inputs only."""
    weights = {name: value.detach() for name, value in module.named_parameters()}
    return functional_call(module, weights, (inputs,))


def _cross_entropy(logits, is_prior):
    target = torch.ones_like(logits) if is_prior else torch.zeros_like(logits)
    return binary_cross_entropy_with_logits(logits, target)


class AdversarialPriorPenalty(Penalty):
    """The discriminator's cross-entropy plus the encoder's, each training its own player.

    The module must have ``code_prior`` (with ``draw``) and ``discriminator``.

    Parameters
    ----------
    weight : float
        Multiplier of the term in the loss (the encoder's share of the game).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> module = nn.Module()
    >>> module.code_prior, module.discriminator = StandardNormalCodes(2), discriminator(2)
    >>> AdversarialPriorPenalty(1.0).value(module, None, torch.zeros(8, 2)).item() > 0
    True
    """

    name = "adversarial"

    def value(self, module, batch, codes):
        """Discriminator: prior draws (1) against detached codes (0); encoder: codes as 1."""
        prior_draws = module.code_prior.draw(len(codes), codes)
        discriminator_loss = _cross_entropy(module.discriminator(prior_draws), True)
        discriminator_loss += _cross_entropy(module.discriminator(codes.detach()), False)
        encoder_loss = _cross_entropy(_frozen(module.discriminator, codes), True)
        return discriminator_loss + encoder_loss
