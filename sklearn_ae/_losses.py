"""Training objectives as small pieces: likelihoods, penalties and VAE bounds.

Every function returns one value per sample (shape ``(n,)``) or a batch mean;
the nets (``_nets.py``) combine them. Nothing here knows about estimators.
Reconstruction criteria broadcast over leading axes, so a decoder output of
shape ``(n_draws, n, d)`` is scored against data of shape ``(n, d)``.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._priors import diagonal_gaussian_log_prob


class SquaredError(nn.Module):
    """Reconstruction as squared error; the decoder output is the reconstruction.

    ``forward(output, x)`` returns the per-sample sum of squared errors.

    Examples
    --------
    >>> import torch
    >>> SquaredError()(torch.zeros(2, 3), torch.ones(2, 3))
    tensor([3., 3.])
    """

    def forward(self, output, x):
        return (output - x).pow(2).sum(dim=-1)

    def to_data(self, output):
        """Map decoder output to data space (identity)."""
        return output


class BinaryCrossEntropy(nn.Module):
    """Reconstruction as Bernoulli negative log-likelihood; the decoder outputs logits.

    ``forward(logits, x)`` returns the per-sample sum of binary cross-entropies,
    computed from logits for numerical stability. Targets must lie in [0, 1].

    Examples
    --------
    >>> import torch
    >>> BinaryCrossEntropy()(torch.zeros(1, 2), torch.ones(1, 2))
    tensor([1.3863])
    """

    def forward(self, logits, x):
        return F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none"
        ).sum(dim=-1)

    def to_data(self, logits):
        """Map logits to Bernoulli means in [0, 1]."""
        return torch.sigmoid(logits)


class GaussianNegativeLogLikelihood(nn.Module):
    """Gaussian negative log-likelihood with one learned variance per feature.

    The decoder outputs the mean; the log-variances are parameters of this
    criterion, which skorch trains with the module. They start at the log of
    each feature's variance in the data and are kept at or above
    ``log(min_variance)``, so that features that are constant in the data
    (e.g. blank border pixels) cannot drive the likelihood to infinity.

    Parameters
    ----------
    initial_variance : array-like of shape (n_features,)
        Starting variance of each feature.
    min_variance : float, default=1e-3
        Floor of the variances.

    Examples
    --------
    >>> import torch
    >>> nll = GaussianNegativeLogLikelihood([1.0, 1.0])
    >>> round(nll(torch.zeros(1, 2), torch.zeros(1, 2)).item(), 4)
    1.8379
    """

    def __init__(self, initial_variance, min_variance=1e-3):
        super().__init__()
        variance = torch.as_tensor(initial_variance, dtype=torch.float32).clamp(min=min_variance)
        self.log_variance = nn.Parameter(variance.log())
        self.min_log_variance = math.log(min_variance)

    def forward(self, mean, x):
        log_var = self.log_variance.clamp(min=self.min_log_variance)
        return 0.5 * (
            math.log(2 * math.pi) + log_var + (x - mean).pow(2) * torch.exp(-log_var)
        ).sum(dim=-1)

    def to_data(self, mean):
        """Map decoder output to data space (the mean itself)."""
        return mean


def standard_normal_draws(n_draws, mean):
    """Independent standard-normal noise of shape ``(n_draws, *mean.shape)`` for training.

    Examples
    --------
    >>> import torch
    >>> standard_normal_draws(3, torch.zeros(4, 2)).shape
    torch.Size([3, 4, 2])
    """
    return torch.randn((n_draws, *mean.shape), device=mean.device, dtype=mean.dtype)


def reparameterize(mean, logvar, eps):
    """Codes ``z = mean + exp(logvar / 2) * eps`` of shape ``(n_draws, n, d)``.

    ``eps`` has shape ``(n_draws, n, d)``, or ``(n_draws, 1, d)`` to give every
    row the same draws: scoring does that, so that a row's estimate does not
    depend on the other rows of the call.

    Examples
    --------
    >>> import torch
    >>> reparameterize(torch.zeros(4, 2), torch.zeros(4, 2), torch.ones(3, 1, 2)).shape
    torch.Size([3, 4, 2])
    """
    return mean + torch.exp(0.5 * logvar) * eps


def elbo_terms(module, criterion, x, condition, mean, logvar, eps):
    """Reconstruction NLL ``(n,)`` and KL per latent unit ``(n, d)``, averaged over the draws.

    ``-(reconstruction + kl.sum(-1))`` is the evidence lower bound of each row;
    ``eps`` holds the standard-normal draws (see :func:`reparameterize`).
    """
    z = reparameterize(mean, logvar, eps)
    reconstruction = criterion(module.decode(z, condition), x).mean(dim=0)
    kl = module.prior.kl(z, mean, logvar).mean(dim=0)
    return reconstruction, kl


def log_importance_weights(module, criterion, x, condition, mean, logvar, eps):
    """Per-draw ``log p(x|z) + log p(z) - log q(z|x)``, of shape ``(n_draws, n)``, as two terms.

    Returns the log-likelihood and the log prior-to-posterior ratio separately,
    so that training can weight the second (KL warm-up).
    """
    z = reparameterize(mean, logvar, eps)
    log_likelihood = -criterion(module.decode(z, condition), x)
    log_ratio = module.prior.log_prob(z) - diagonal_gaussian_log_prob(z, mean, logvar)
    return log_likelihood, log_ratio


def importance_weighted_bound(log_weights):
    r"""Per-row :math:`\log \frac{1}{K}\sum_k w_k` from log-weights of shape ``(K, n)``.

    With K = 1 this is the ELBO; it increases with K towards log p(x)
    (Burda et al., 2016).

    Examples
    --------
    >>> import torch
    >>> importance_weighted_bound(torch.zeros(5, 3))
    tensor([0., 0., 0.])
    """
    return torch.logsumexp(log_weights, dim=0) - math.log(len(log_weights))


def kl_sparsity(codes, target):
    r"""Sum over code units of :math:`KL(\rho \| \hat\rho_j)` for activations in (0, 1).

    :math:`\hat\rho_j` is unit j's mean activation over the batch and
    :math:`\rho` the ``target`` mean activation.

    Examples
    --------
    >>> import torch
    >>> float(kl_sparsity(torch.full((4, 3), 0.05), target=0.05))
    0.0
    """
    mean_activation = codes.mean(dim=0).clamp(1e-6, 1 - 1e-6)
    kl = target * torch.log(target / mean_activation) + (1 - target) * torch.log(
        (1 - target) / (1 - mean_activation)
    )
    return kl.sum()


def l1_activity(codes):
    """Batch mean of the L1 norm of the codes.

    Examples
    --------
    >>> import torch
    >>> float(l1_activity(torch.tensor([[1.0, -2.0], [0.0, 1.0]])))
    2.0
    """
    return codes.abs().sum(dim=1).mean()


def jacobian_frobenius_sq(encoder, x):
    r"""Batch mean of :math:`\|\partial f(x) / \partial x\|_F^2` for an encoder f.

    Computed exactly as one vector-Jacobian product per code unit, each a
    backward pass kept in the graph (``create_graph``) so the penalty itself is
    differentiable: a training step costs about ``n_components`` extra backward
    passes through the encoder. Rows of a batch must not interact (no batch
    normalisation in the encoder).

    Examples
    --------
    >>> import torch
    >>> linear = torch.nn.Linear(3, 2)
    >>> value = jacobian_frobenius_sq(linear, torch.zeros(4, 3))
    >>> torch.allclose(value, linear.weight.pow(2).sum())
    True
    """
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        codes = encoder(x)
        total = x.new_zeros(len(x))
        for j in range(codes.shape[1]):
            (grad,) = torch.autograd.grad(codes[:, j].sum(), x, create_graph=True)
            total = total + grad.pow(2).sum(dim=1)
    return total.mean()


class Penalty:
    """A weighted regularisation term of the training objective.

    Subclasses implement ``value(module, x, codes)``; the net adds
    ``weight * value`` to the loss and logs the value in the history under
    ``name``.

    Parameters
    ----------
    weight : float
        Multiplier of the term in the loss.
    """

    name = "penalty"

    def __init__(self, weight):
        self.weight = weight

    def value(self, module, x, codes):
        raise NotImplementedError


class KLSparsityPenalty(Penalty):
    """KL sparsity of the code activations towards a target mean activation.

    Examples
    --------
    >>> import torch
    >>> KLSparsityPenalty(1.0, target=0.1).value(None, None, torch.full((2, 2), 0.1)).item()
    0.0
    """

    name = "sparsity_kl"

    def __init__(self, weight, target):
        super().__init__(weight)
        self.target = target

    def value(self, module, x, codes):
        return kl_sparsity(codes, self.target)


class L1ActivityPenalty(Penalty):
    """L1 norm of the codes.

    Examples
    --------
    >>> import torch
    >>> L1ActivityPenalty(1.0).value(None, None, torch.ones(2, 3)).item()
    3.0
    """

    name = "sparsity_l1"

    def value(self, module, x, codes):
        return l1_activity(codes)


class ContractivePenalty(Penalty):
    """Squared Frobenius norm of the encoder's Jacobian at the clean input.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ae._architectures import MLPArchitecture
    >>> from sklearn_ae._modules import Autoencoder
    >>> module = Autoencoder(4, 2, MLPArchitecture(()))
    >>> ContractivePenalty(1.0).value(module, torch.zeros(3, 4), None).item() > 0
    True
    """

    name = "contractive"

    def value(self, module, x, codes):
        return jacobian_frobenius_sq(module.encode, x)
