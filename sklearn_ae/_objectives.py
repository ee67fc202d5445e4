"""Training objectives: what a net minimises, declared with the names of its terms.

An objective is called by the net's ``get_loss`` as
``objective(net, output, x, condition, training)`` and returns the loss and a
dict of its named terms (scalar tensors), which the net logs as
``train_<name>`` when there is more than one term. ``term_names`` declares
those names before training; ``codes(output)`` gives the deterministic codes
that penalties (``_penalties.py``) see. Scoring (``score``,
``score_samples``) calls the same functions as training.
"""

import math
from contextlib import contextmanager

import torch

from ._priors import diagonal_gaussian_log_prob

# Share of a semi-supervised training batch given to labeled rows. Drawn at random, 100 labels
# among 4,000 rows put about 3 in a batch of 128 and each label in one batch an epoch; a fixed
# share shows every label many times an epoch (MNIST-5k, 100 labels: see SemiSupervisedBound).
LABELED_FRACTION = 1 / 3


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
    reconstruction = criterion(module.decode(z, condition, x), x).mean(dim=0)
    kl = module.prior.kl(z, mean, logvar, condition).mean(dim=0)
    return reconstruction, kl


def log_importance_weights(module, criterion, x, condition, mean, logvar, eps):
    """Per-draw ``log p(x|z) + log p(z) - log q(z|x)``, of shape ``(n_draws, n)``, as two terms.

    Returns the log-likelihood and the log prior-to-posterior ratio separately,
    so that training can weight the second (KL warm-up).
    """
    z = reparameterize(mean, logvar, eps)
    log_likelihood = -criterion(module.decode(z, condition, x), x)
    log_ratio = module.prior.log_prob(z, condition) - diagonal_gaussian_log_prob(z, mean, logvar)
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


def elbo(module, criterion, x, condition, mean, logvar, eps):
    """Per-row evidence lower bound, of shape ``(n,)``, averaged over the draws ``eps``."""
    reconstruction, kl = elbo_terms(module, criterion, x, condition, mean, logvar, eps)
    return -(reconstruction + kl.sum(dim=-1))


def importance_sampled_log_likelihood(module, criterion, x, condition, mean, logvar, noise):
    """Per-row importance-weighted bound on log p(x) from the draws in ``noise``.

    ``noise`` is a sequence of draw groups, each of shape ``(n_draws, 1 or n,
    n_components)``, decoded one group at a time so that memory stays bounded.
    """
    log_weights = [
        sum(log_importance_weights(module, criterion, x, condition, mean, logvar, eps))
        for eps in noise
    ]
    return importance_weighted_bound(torch.cat(log_weights))


class ReconstructionObjective:
    """Objective of a deterministic autoencoder: the criterion's loss per row and feature.

    The module returns ``(decoder_output, codes)``; the criterion gives each
    row's loss summed over features, averaged here over rows and features, so
    that with squared error the loss is the usual mean squared error.

    Examples
    --------
    >>> ReconstructionObjective().term_names
    ('reconstruction',)
    """

    term_names = ("reconstruction",)

    def codes(self, output):
        """The codes of a forward pass."""
        return output[1]

    def __call__(self, net, output, x, condition, training):
        reconstruction = net.criterion_(output[0], x).mean() / x.shape[1]
        return reconstruction, {"reconstruction": reconstruction}


def floored_kl(per_unit_kl, free_bits):
    """The KL charged for a batch: each unit's batch-mean KL raised to its floor, summed.

    Parameters
    ----------
    per_unit_kl : torch.Tensor of shape (n_components,)
        Batch-mean KL of each latent unit, in nats.
    free_bits : float or array-like of shape (n_components,)
        The floor of every unit, or of each unit in turn.

    Returns
    -------
    charged : torch.Tensor
        A scalar: below its floor a unit costs the floor, and gains nothing by
        carrying less.

    Examples
    --------
    >>> floored_kl(torch.tensor([0.2, 3.0]), 1.0).item()
    4.0
    >>> round(floored_kl(torch.tensor([0.2, 3.0]), [0.0, 1.0]).item(), 2)
    3.2
    """
    floor = torch.as_tensor(free_bits, dtype=per_unit_kl.dtype, device=per_unit_kl.device)
    return torch.maximum(per_unit_kl, floor).sum()


class EvidenceBound:
    r"""Objective of a VAE: the negative (beta-weighted, annealed) ELBO, or the IWAE bound.

    The module returns the posterior parameters ``(mean, logvar)``; the
    objective draws codes, decodes them and scores them. During training the KL
    weight is ``beta * min(1, epoch / kl_warmup)`` and ``free_bits`` floors the
    batch-mean KL of each latent unit; with ``n_importance_samples > 1`` the
    loss is the importance-weighted bound. Validation always scores the plain
    negative ELBO (beta 1, one draw), the quantity ``score`` reports.

    Parameters
    ----------
    beta : float, default=1.0
        Weight of the KL term.
    kl_warmup : int, default=0
        Epochs over which the KL weight grows linearly from ``beta / kl_warmup``
        to ``beta``; 0 disables annealing.
    free_bits : float or array-like of shape (n_components,), default=0.0
        Minimum KL, in nats, charged per latent unit (see :func:`floored_kl`).
    n_importance_samples : int, default=1
        Draws per row; above 1 the loss is the importance-weighted bound.

    Examples
    --------
    >>> EvidenceBound(beta=4.0, kl_warmup=10).kl_weight(epoch=5)
    2.0
    """

    term_names = ("reconstruction", "kl")

    def __init__(self, beta=1.0, kl_warmup=0, free_bits=0.0, n_importance_samples=1):
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.n_importance_samples = n_importance_samples

    def codes(self, output):
        """The posterior means of a forward pass."""
        return output[0]

    def kl_weight(self, epoch):
        """The KL weight in the 1-based training ``epoch``."""
        if not self.kl_warmup:
            return self.beta
        return self.beta * min(1.0, epoch / self.kl_warmup)

    def __call__(self, net, output, x, condition, training):
        mean, logvar = output
        n_draws = self.n_importance_samples if training else 1
        posterior = (net.module_, net.criterion_, x, condition, mean, logvar)
        eps = standard_normal_draws(n_draws, mean)
        if not training:
            return -elbo(*posterior, eps).mean(), {}
        kl_weight = self.kl_weight(len(net.history))
        if n_draws > 1:
            log_likelihood, log_ratio = log_importance_weights(*posterior, eps)
            loss = -importance_weighted_bound(log_likelihood + kl_weight * log_ratio).mean()
            return loss, {"reconstruction": -log_likelihood.mean(), "kl": -log_ratio.mean()}
        per_row, per_unit = elbo_terms(*posterior, eps)
        loss = per_row.mean() + kl_weight * floored_kl(per_unit.mean(dim=0), self.free_bits)
        return loss, {"reconstruction": per_row.mean(), "kl": per_unit.sum(dim=-1).mean()}


# Semi-amortized inference: each refinement step moves a row's posterior parameters by this
# step size times the gradient of its negative ELBO, clipped to GRADIENT_CLIP in norm per row
# (Kim et al. 2018 take plain gradient steps of 1 with clipping at 5).
SVI_STEP_SIZE = 0.1
SVI_GRADIENT_CLIP = 5.0


def _clipped(gradient, max_norm):
    """Each row of ``gradient`` scaled down to at most ``max_norm`` in Euclidean norm."""
    norm = gradient.norm(dim=-1, keepdim=True)
    return gradient * (max_norm / norm.clamp(min=max_norm))


def refine_posterior(module, criterion, x, condition, mean, logvar, n_steps):
    """Posterior parameters after ``n_steps`` gradient steps on each row's own negative ELBO.

    The steps start at the encoder's ``(mean, logvar)`` and hold the decoder
    fixed (semi-amortized inference, Kim, Wiseman, Miller, Sontag & Rush 2018);
    each step draws new codes. The result is detached: it trains the decoder,
    not the encoder. A module with ``max_log_variance`` keeps its bound.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ae._architectures import MLPArchitecture
    >>> from sklearn_ae._likelihoods import SquaredError
    >>> from sklearn_ae._modules import VariationalAutoencoder
    >>> module = VariationalAutoencoder(4, 2, MLPArchitecture((8,)))
    >>> x = torch.rand(3, 4)
    >>> mean, logvar = module(x)
    >>> refined = refine_posterior(module, SquaredError(), x, None, mean, logvar, n_steps=5)
    >>> [tuple(p.shape) for p in refined], refined[0].requires_grad
    ([(3, 2), (3, 2)], False)
    """
    mean, logvar = mean.detach(), logvar.detach()
    for _ in range(n_steps):
        mean, logvar = mean.requires_grad_(), logvar.requires_grad_()
        eps = standard_normal_draws(1, mean)
        with torch.enable_grad():
            loss = -elbo(module, criterion, x, condition, mean, logvar, eps).sum()
            grad_mean, grad_logvar = torch.autograd.grad(loss, (mean, logvar))
        mean = (mean - SVI_STEP_SIZE * _clipped(grad_mean, SVI_GRADIENT_CLIP)).detach()
        logvar = (logvar - SVI_STEP_SIZE * _clipped(grad_logvar, SVI_GRADIENT_CLIP)).detach()
        if getattr(module, "max_log_variance", None) is not None:
            logvar = logvar.clamp(max=module.max_log_variance)
    return mean, logvar


def generative_parameters(module, criterion):
    """The parameters of the generative model: all of the module's and the likelihood's
    but the encoder's (``module.inference_parameters()``)."""
    inference = {id(p) for p in module.inference_parameters()}
    return [p for p in [*module.parameters(), *criterion.parameters()] if id(p) not in inference]


@contextmanager
def held_fixed(parameters):
    """Build the graph of a block without gradients to ``parameters`` (restored after)."""
    parameters = [p for p in parameters if p.requires_grad]
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in parameters:
            parameter.requires_grad_(True)


class SemiAmortizedBound(EvidenceBound):
    r"""The negative ELBO with ``svi_steps`` of per-row refinement of the posterior (SA-VAE).

    The encoder learns from its own ELBO, with the generative model (decoder,
    likelihood, prior) held fixed; the generative model learns from the ELBO
    at the refined posterior (:func:`refine_posterior`), which a lagging
    encoder cannot give it. Unlike Kim et al. (2018), the encoder's gradient
    does not pass through the refinement steps. Validation, ``score`` and
    ``transform`` use the encoder's posterior.

    Parameters
    ----------
    beta, kl_warmup, free_bits
        As in :class:`EvidenceBound`.
    svi_steps : int, default=10
        Refinement steps per training batch.

    Examples
    --------
    >>> SemiAmortizedBound(svi_steps=5).term_names
    ('reconstruction', 'kl', 'encoder_bound')
    """

    term_names = ("reconstruction", "kl", "encoder_bound")

    def __init__(self, beta=1.0, kl_warmup=0, free_bits=0.0, svi_steps=10):
        super().__init__(beta, kl_warmup, free_bits)
        self.svi_steps = svi_steps

    def __call__(self, net, output, x, condition, training):
        if not training:
            return super().__call__(net, output, x, condition, training)
        module, criterion = net.module_, net.criterion_
        mean, logvar = output
        kl_weight = self.kl_weight(len(net.history))
        with held_fixed(generative_parameters(module, criterion)):
            per_row, per_unit = elbo_terms(
                module, criterion, x, condition, mean, logvar, standard_normal_draws(1, mean)
            )
            encoder_loss = per_row.mean() + kl_weight * per_unit.sum(dim=-1).mean()
        refined = refine_posterior(module, criterion, x, condition, mean, logvar, self.svi_steps)
        per_row, per_unit = elbo_terms(
            module, criterion, x, condition, *refined, standard_normal_draws(1, mean)
        )
        charged_kl = floored_kl(per_unit.mean(dim=0), self.free_bits)
        loss = per_row.mean() + kl_weight * charged_kl + encoder_loss
        terms = {"reconstruction": per_row.mean(), "kl": per_unit.sum(dim=-1).mean()}
        return loss, {**terms, "encoder_bound": encoder_loss}


def labeled_rows(condition):
    """Rows with a label: a one-hot condition; unlabeled rows carry a row of zeros.

    Examples
    --------
    >>> import torch
    >>> labeled_rows(torch.tensor([[0.0, 1.0], [0.0, 0.0]])).tolist()
    [True, False]
    """
    return condition.sum(dim=1) > 0


class SemiSupervisedBound(EvidenceBound):
    r"""Objective of the semi-supervised VAE (M2, Kingma et al. 2014).

    A labeled row (one-hot condition) costs its negative ELBO under its label,
    :math:`\mathcal{L}(x, y)`, plus ``classification_weight`` times the
    cross-entropy of the classifier q(y|x). An unlabeled row (condition of
    zeros) costs the negative ELBO with the label marginalised by the
    classifier, :math:`\mathcal{U}(x) = \sum_y q(y|x)\,\mathcal{L}(x, y) - H(q(y|x))`,
    which trains the classifier through the generative model: every class is
    encoded and decoded, so an unlabeled row costs ``n_classes`` times a
    labeled one. The KL weight (``beta``, warm-up) and ``free_bits`` act on
    the KL terms as in :class:`EvidenceBound`; validation scores the bound
    without the classification term.

    Parameters
    ----------
    beta, kl_warmup, free_bits
        As in :class:`EvidenceBound`.
    classification_weight : float, default=1.0
        Weight, per labeled row, of the classifier's cross-entropy.
    labeled_fraction : float, default=LABELED_FRACTION
        Share of every training batch given to labeled rows
        (:class:`~sklearn_ae._data.BatchIterator` reads it).

    Examples
    --------
    >>> SemiSupervisedBound(classification_weight=50.0).term_names
    ('reconstruction', 'kl', 'classification')
    """

    term_names = ("reconstruction", "kl", "classification")

    def __init__(
        self,
        beta=1.0,
        kl_warmup=0,
        free_bits=0.0,
        classification_weight=1.0,
        labeled_fraction=LABELED_FRACTION,
    ):
        super().__init__(beta, kl_warmup, free_bits)
        self.classification_weight = classification_weight
        self.labeled_fraction = labeled_fraction

    def __call__(self, net, output, x, condition, training):
        module, criterion = net.module_, net.criterion_
        labeled = labeled_rows(condition)
        n_classes = condition.shape[1]
        log_q = torch.log_softmax(module.classify(x), dim=1)
        # Every unlabeled row once per class, labeled rows once: (n_labeled + n_classes * n_u).
        unlabeled_x = x[~labeled]
        n_unlabeled = len(unlabeled_x)
        rows = torch.cat([x[labeled], unlabeled_x.repeat(n_classes, 1)])
        classes = torch.eye(n_classes, dtype=condition.dtype, device=condition.device)
        conditions = torch.cat([condition[labeled], classes.repeat_interleave(n_unlabeled, 0)])
        mean, logvar = module.posterior_parameters(rows, conditions)
        eps = standard_normal_draws(1, mean)
        reconstruction, kl = elbo_terms(module, criterion, rows, conditions, mean, logvar, eps)
        n_labeled = int(labeled.sum())
        # q(y|x) of the unlabeled rows, laid out as the rows above: class-major.
        q = log_q[~labeled].exp().T.reshape(-1)
        weights = torch.cat([torch.ones(n_labeled, device=x.device), q])
        per_row_reconstruction = (weights * reconstruction).sum() / len(x)
        per_unit_kl = (weights[:, None] * kl).sum(dim=0) / len(x)
        entropy = -(log_q[~labeled].exp() * log_q[~labeled]).sum() / len(x)
        classification = -(log_q[labeled] * condition[labeled]).sum() / len(x)
        if not training:
            return per_row_reconstruction + per_unit_kl.sum() - entropy, {}
        kl_weight = self.kl_weight(len(net.history))
        charged_kl = floored_kl(per_unit_kl, self.free_bits)
        loss = (
            per_row_reconstruction
            + kl_weight * charged_kl
            - entropy
            + self.classification_weight * classification
        )
        terms = {"reconstruction": per_row_reconstruction, "kl": per_unit_kl.sum()}
        return loss, {**terms, "classification": classification}
