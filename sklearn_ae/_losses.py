"""Training objectives as small pieces: reconstruction criteria and penalties.

Every function returns one value per sample (shape ``(n,)``) or a batch mean;
the net (``_nets.py``) combines them. Nothing here knows about estimators.
"""

import torch
import torch.nn.functional as F
from torch import nn


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
        return (output - x).pow(2).sum(dim=1)

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
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)

    def to_data(self, logits):
        """Map logits to Bernoulli means in [0, 1]."""
        return torch.sigmoid(logits)


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
    >>> from sklearn_ae._modules import Autoencoder
    >>> module = Autoencoder(4, 2)
    >>> ContractivePenalty(1.0).value(module, torch.zeros(3, 4), None).item() > 0
    True
    """

    name = "contractive"

    def value(self, module, x, codes):
        return jacobian_frobenius_sq(module.encode, x)
