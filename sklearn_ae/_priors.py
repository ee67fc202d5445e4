"""Priors p(z) over the latent codes of a VAE, as modules (a mixture prior is learned).

A prior gives ``log_prob(z)``, ``kl(z, mean, logvar)`` (the KL of the diagonal
Gaussian posterior to the prior, per latent unit, at the draws ``z``) and
``sample(n, rng)``.
"""

import math

import torch
from torch import nn

LOG_2PI = math.log(2 * math.pi)


def diagonal_gaussian_log_prob(z, mean, logvar):
    """Log density of z under N(mean, diag(exp(logvar))), summed over the last axis.

    Examples
    --------
    >>> import torch
    >>> round(float(diagonal_gaussian_log_prob(torch.zeros(2), torch.zeros(2), torch.zeros(2))), 4)
    -1.8379
    """
    return -0.5 * (LOG_2PI + logvar + (z - mean).pow(2) * torch.exp(-logvar)).sum(dim=-1)


def kl_to_standard_normal(mean, logvar):
    r"""Closed-form :math:`KL(N(\mu, \sigma^2) \| N(0, 1))` per latent unit.

    Examples
    --------
    >>> import torch
    >>> kl_to_standard_normal(torch.zeros(1, 2), torch.zeros(1, 2))
    tensor([[0., 0.]])
    """
    return 0.5 * (mean.pow(2) + torch.exp(logvar) - 1 - logvar)


class StandardNormalPrior(nn.Module):
    """p(z) = N(0, I); the KL to it is exact (closed form).

    Parameters
    ----------
    n_components : int
        Latent dimension.
    n_mixture_components : None
        Unused; accepted so that every prior is built alike.

    Examples
    --------
    >>> import numpy as np
    >>> StandardNormalPrior(3).sample(4, np.random.RandomState(0)).shape
    (4, 3)
    """

    def __init__(self, n_components, n_mixture_components=None):
        super().__init__()
        self.n_components = n_components

    def log_prob(self, z):
        return diagonal_gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))

    def kl(self, z, mean, logvar):
        return kl_to_standard_normal(mean, logvar).expand_as(z)

    def sample(self, n_samples, rng):
        return rng.standard_normal((n_samples, self.n_components))


class MixturePrior(nn.Module):
    """A learned mixture of diagonal Gaussians; the KL is a one-draw Monte Carlo estimate.

    The means, log-variances and mixing logits are trained with the network.
    The KL has no closed form, so ``kl`` returns
    ``(log q(z|x) - log p(z)) / n_components`` for each unit, which sums to
    the usual single-sample estimate.

    Parameters
    ----------
    n_components : int
        Latent dimension.
    n_mixture_components : int
        Number of Gaussians in the mixture.

    Examples
    --------
    >>> import numpy as np, torch
    >>> prior = MixturePrior(2, n_mixture_components=5)
    >>> prior.log_prob(torch.zeros(7, 2)).shape, prior.sample(3, np.random.RandomState(0)).shape
    (torch.Size([7]), (3, 2))
    """

    def __init__(self, n_components, n_mixture_components):
        super().__init__()
        self.n_components = n_components
        self.means = nn.Parameter(torch.randn(n_mixture_components, n_components))
        self.logvars = nn.Parameter(torch.zeros(n_mixture_components, n_components))
        self.logits = nn.Parameter(torch.zeros(n_mixture_components))

    def log_prob(self, z):
        per_component = diagonal_gaussian_log_prob(z.unsqueeze(-2), self.means, self.logvars)
        return torch.logsumexp(torch.log_softmax(self.logits, dim=0) + per_component, dim=-1)

    def kl(self, z, mean, logvar):
        total = diagonal_gaussian_log_prob(z, mean, logvar) - self.log_prob(z)
        return (total / self.n_components).unsqueeze(-1).expand_as(z)

    def sample(self, n_samples, rng):
        with torch.no_grad():
            weights = torch.softmax(self.logits, dim=0).double().cpu().numpy()
            means, stds = self.means.cpu().numpy(), torch.exp(0.5 * self.logvars).cpu().numpy()
        which = rng.choice(len(weights), size=n_samples, p=weights / weights.sum())
        return means[which] + stds[which] * rng.standard_normal((n_samples, self.n_components))


# ``prior=...`` of the VAE: name -> class built from (n_components, n_mixture_components).
PRIORS = {"normal": StandardNormalPrior, "mixture": MixturePrior}


def make_prior(kind, n_components, n_mixture_components):
    """The prior module for ``prior=kind``, a key of :data:`PRIORS`.

    Examples
    --------
    >>> make_prior("normal", 2, 10)
    StandardNormalPrior()
    """
    return PRIORS[kind](n_components, n_mixture_components)
