"""Penalties: weighted regularisation terms that either estimator adds to its objective.

A penalty has a ``name`` (its history entry is ``train_<name>``), a ``weight``
and ``value(module, batch, codes)``, the term for one training batch:
``batch["x"]`` the clean rows (``batch.get("condition")`` their condition),
``codes`` the deterministic codes (an autoencoder's code, a VAE's posterior
mean). Penalties apply in training only, unless ``in_validation`` is set. A penalty whose
``code_activation`` is not None needs the model's codes to pass through that
activation (KL sparsity needs codes in (0, 1)); one that sets
``needs_independent_rows`` cannot work with batch normalisation.

To add a penalty: write its class here, give it a key in
:data:`SPARSITY_PENALTIES` or a weight parameter read by
:func:`penalties_from_params`, and document the parameter (``docs/contributing.rst``).
"""

import torch


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

    Subclasses set ``name`` and implement ``value(module, batch, codes)``;
    the net adds ``weight * value`` to the loss and logs the value. One that
    sets ``in_validation`` counts in the validation loss too.

    Parameters
    ----------
    weight : float
        Multiplier of the term in the loss.
    """

    name = "penalty"
    code_activation = None
    needs_independent_rows = False
    in_validation = False

    def __init__(self, weight):
        self.weight = weight

    def value(self, module, batch, codes):
        """The penalty of one training batch, a scalar tensor."""
        raise NotImplementedError


class KLSparsityPenalty(Penalty):
    """KL sparsity of the code activations towards a target mean activation.

    Parameters
    ----------
    weight : float
        Multiplier of the term in the loss.
    target : float
        Target mean activation of each code unit, in (0, 1).

    Examples
    --------
    >>> import torch
    >>> KLSparsityPenalty(1.0, target=0.1).value(None, None, torch.full((2, 2), 0.1)).item()
    0.0
    """

    name = "sparsity_kl"
    code_activation = "sigmoid"

    def __init__(self, weight, target):
        super().__init__(weight)
        self.target = target

    def value(self, module, batch, codes):
        """Sum of the units' KL divergences from the target activation."""
        return kl_sparsity(codes, self.target)


class L1ActivityPenalty(Penalty):
    """L1 norm of the codes.

    Parameters
    ----------
    weight : float
        Multiplier of the term in the loss.
    target : float or None, default=None
        Unused: L1 pulls every code towards zero. Accepted so that every
        sparsity penalty is built alike.

    Examples
    --------
    >>> import torch
    >>> L1ActivityPenalty(1.0).value(None, None, torch.ones(2, 3)).item()
    3.0
    """

    name = "sparsity_l1"

    def __init__(self, weight, target=None):
        super().__init__(weight)

    def value(self, module, batch, codes):
        """Batch mean of the codes' L1 norm."""
        return l1_activity(codes)


class ContractivePenalty(Penalty):
    """Squared Frobenius norm of the encoder's Jacobian at the clean input.

    Parameters
    ----------
    weight : float
        Multiplier of the term in the loss.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ae._architectures import MLPArchitecture
    >>> from sklearn_ae._modules import Autoencoder
    >>> module = Autoencoder(4, 2, MLPArchitecture(()))
    >>> ContractivePenalty(1.0).value(module, {"x": torch.zeros(3, 4)}, None).item() > 0
    True
    """

    name = "contractive"
    needs_independent_rows = True

    def value(self, module, batch, codes):
        """Batch mean of the squared Jacobian norm of ``module.encode``."""
        condition = batch.get("condition")
        return jacobian_frobenius_sq(lambda rows: module.encode(rows, condition), batch["x"])


def _unit_rows(v):
    """Each row of ``v`` (any trailing shape) scaled to Euclidean norm 1."""
    norm = v.flatten(1).norm(dim=1).clamp_min(1e-12)
    return v / norm.reshape(-1, *[1] * (v.dim() - 1))


def categorical_kl(log_p, log_q):
    """``KL(p || q)`` over the last axis, from log-probabilities.

    Examples
    --------
    >>> import torch
    >>> p = torch.tensor([[0.5, 0.5]]).log()
    >>> categorical_kl(p, p).tolist()
    [0.0]
    """
    return (log_p.exp() * (log_p - log_q)).sum(-1)


class VirtualAdversarialTerm(Penalty):
    r"""Smoothness of the classifier q(y|x) against its most sensitive small input change.

    Virtual adversarial training (Miyato et al., 2018): for each row, the
    perturbation r of norm ``radius`` that changes :math:`q(y|x)` the most is
    found by one power iteration on the divergence's curvature, and the term
    is :math:`KL(q(y|x) \| q(y|x + r))`, the prediction at x held fixed. It
    needs no labels, so the unlabeled rows teach the classifier where the
    class boundaries may not run: not within ``radius`` of a data row.

    Parameters
    ----------
    weight : float
        Multiplier of the term in the loss.
    radius : float
        Euclidean norm of the perturbation, in the units of the rows.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ae._architectures import MLPArchitecture
    >>> from sklearn_ae._modules import VariationalAutoencoder
    >>> module = VariationalAutoencoder(4, 2, MLPArchitecture((8,)), n_conditions=3, n_classes=3)
    >>> term = VirtualAdversarialTerm(1.0, radius=0.5)
    >>> bool(term.value(module, {"x": torch.rand(5, 4)}, None) >= 0)
    True
    """

    name = "virtual_adversarial"

    def __init__(self, weight, radius):
        super().__init__(weight)
        self.radius = radius

    def value(self, module, batch, codes):
        """Batch mean of the divergence under each row's adversarial perturbation."""
        x = batch["x"]
        with torch.no_grad():
            log_p = torch.log_softmax(module.classify(x), dim=1)
        # The finite-difference step of the power iteration: small next to the radius, large
        # enough that float32 resolves the change of the divergence.
        probe = (1e-2 * self.radius * _unit_rows(torch.randn_like(x))).requires_grad_(True)
        with torch.enable_grad():
            divergence = categorical_kl(log_p, torch.log_softmax(module.classify(x + probe), 1))
            (direction,) = torch.autograd.grad(divergence.sum(), probe)
        perturbation = self.radius * _unit_rows(direction)
        return categorical_kl(log_p, torch.log_softmax(module.classify(x + perturbation), 1)).mean()


# ``sparsity=...`` of both estimators.
SPARSITY_PENALTIES = {"kl": KLSparsityPenalty, "l1": L1ActivityPenalty}


def penalties_from_params(sparsity, sparsity_weight, sparsity_target, contractive_weight):
    """The penalties that an estimator's parameters ask for, in a fixed order.

    Examples
    --------
    >>> [p.name for p in penalties_from_params("l1", 1e-3, 0.05, 0.1)]
    ['sparsity_l1', 'contractive']
    >>> penalties_from_params(None, 1e-3, 0.05, 0.0)
    []
    """
    penalties = []
    if sparsity is not None:
        penalties.append(SPARSITY_PENALTIES[sparsity](sparsity_weight, sparsity_target))
    if contractive_weight > 0:
        penalties.append(ContractivePenalty(contractive_weight))
    return penalties
