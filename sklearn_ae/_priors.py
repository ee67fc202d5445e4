"""Priors p(z) over the latent codes of a VAE, as modules (a mixture prior is learned).

A prior gives ``log_prob(z, condition)``, ``kl(z, mean, logvar, condition)``
(the KL of the diagonal Gaussian posterior to the prior, per latent unit, at
the draws ``z``) and ``sample(n, rng, condition)``. ``condition`` holds a
conditional VAE's one-hot labels, of shape ``(n, n_labels)``; only
:class:`LabelPrior` reads it, the others are the same for every label. The
learned mixtures also give ``refit(codes, condition, n_iter)``: EM steps
towards draws from the training rows' posteriors (:func:`em_steps`), which
the VAE takes after ``fit`` (``prior_em_iter``).
"""

import math
import warnings

import numpy as np
import torch
from scipy.special import lambertw
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from torch import nn

from ._validation import torch_generator

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


def mean_kl_per_unit(mean, variance):
    r"""Mean over the rows of :math:`KL(N(\mu, \sigma^2) \| N(0, 1))` for each unit, from arrays.

    Computed in float64, from posterior means and variances of shape
    (n_samples, n_components); returns an array of shape (n_components,).

    Examples
    --------
    >>> import numpy as np
    >>> mean_kl_per_unit(np.array([[0.0, 1.0], [0.0, -1.0]]), np.ones((2, 2)))
    array([0. , 0.5])
    """
    mean = torch.as_tensor(np.asarray(mean, dtype=np.float64))
    variance = np.asarray(variance, dtype=np.float64)
    return kl_to_standard_normal(mean, torch.from_numpy(np.log(variance))).mean(dim=0).numpy()


def kl_between_diagonal_gaussians(mean, logvar, prior_mean, prior_logvar):
    r"""Closed-form :math:`KL(N(\mu, \sigma^2) \| N(m, s^2))` per latent unit.

    Examples
    --------
    >>> import torch
    >>> zero = torch.zeros(1, 2)
    >>> torch.equal(kl_between_diagonal_gaussians(zero + 1, zero, zero, zero),
    ...             kl_to_standard_normal(zero + 1, zero))
    True
    """
    spread = (torch.exp(logvar) + (mean - prior_mean).pow(2)) / torch.exp(prior_logvar)
    return 0.5 * (prior_logvar - logvar + spread - 1)


def posterior_mutual_information(mean, logvar, eps, chunk_rows=1024):
    r"""He et al.'s (2019) estimate of :math:`I_q(x; z)` from the posteriors of N rows.

    :math:`\frac{1}{N}\sum_i E_{q(z|x_i)}[\log q(z|x_i)] - \log q(z_i)`, with one
    draw :math:`z_i = \mu_i + \sigma_i \epsilon_i` per row and the aggregate
    posterior :math:`q(z) \approx \frac{1}{N}\sum_j q(z|x_j)`; in expectation
    between 0 and :math:`\log N`. The N x N densities are computed ``chunk_rows`` draws at a time.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> apart = torch.arange(1000.0)[:, None] * torch.ones(1, 2)  # posteriors far apart
    >>> eps = torch.randn(1000, 2)
    >>> mi = posterior_mutual_information(apart, torch.full((1000, 2), -10.0), eps)
    >>> abs(float(mi) - math.log(1000)) < 0.2  # the most that 1,000 rows can show
    True
    """
    n, d = mean.shape
    z = mean + torch.exp(0.5 * logvar) * eps
    neg_entropy = (-0.5 * (d * LOG_2PI + (1.0 + logvar).sum(dim=1))).mean()
    log_marginal = torch.cat(
        [
            torch.logsumexp(
                diagonal_gaussian_log_prob(chunk[:, None, :], mean[None], logvar[None]), dim=1
            )
            for chunk in z.split(chunk_rows)
        ]
    )
    return neg_entropy - (log_marginal - math.log(n)).mean()


def committed_log_variance(rate):
    r"""The largest posterior log-variance that commits every unit to ``rate`` nats of KL.

    For any mean, :math:`KL(N(\mu, s) \| N(0, 1)) \ge (s - 1 - \log s) / 2`,
    which falls as the variance s grows to 1; so a posterior whose variances
    stay below the root :math:`s^* < 1` of :math:`(s - 1 - \log s) / 2 =`
    ``rate`` has a KL of at least ``rate`` in every unit, for every row: the
    delta-VAE's committed rate (Razavi, van den Oord, Poole & Vinyals, 2019).
    :math:`s^* = -W_0(-e^{-1 - 2\,\mathrm{rate}})`, with :math:`W_0` the
    principal branch of Lambert's W.

    Examples
    --------
    >>> import torch
    >>> bound = torch.tensor([committed_log_variance(0.5)])
    >>> round(float(kl_to_standard_normal(torch.zeros(1), bound)), 6)
    0.5
    """
    return float(np.log(-lambertw(-np.exp(-1.0 - 2.0 * rate)).real))


def monte_carlo_kl(prior, z, mean, logvar, condition=None):
    """One-draw estimate of the KL of q(z|x) to a prior without a closed form, per latent unit.

    ``(log q(z|x) - log p(z)) / n_components`` for each unit, at the draws
    ``z``; summed over the units it is the usual single-sample estimate.

    Examples
    --------
    >>> import torch
    >>> z = torch.zeros(3, 2)
    >>> monte_carlo_kl(StandardNormalPrior(2), z, z, z).sum().item()  # q equal to p
    0.0
    """
    total = diagonal_gaussian_log_prob(z, mean, logvar) - prior.log_prob(z, condition)
    return (total / z.shape[-1]).unsqueeze(-1).expand_as(z)


def sample_mixture(means, logvars, log_weights, rng):
    """One draw per row from that row's own mixture of diagonal Gaussians.

    Parameters
    ----------
    means, logvars : ndarray of shape (n, n_mixture_components, d)
    log_weights : ndarray of shape (n, n_mixture_components)
    rng : numpy.random.RandomState

    Examples
    --------
    >>> import numpy as np
    >>> means = np.array([[[0.0], [100.0]], [[0.0], [100.0]]])  # two rows, two Gaussians each
    >>> log_weights = np.array([[-np.inf, 0.0], [0.0, -np.inf]])  # all on one Gaussian
    >>> tiny = np.full_like(means, -50.0)  # log-variances
    >>> sample_mixture(means, tiny, log_weights, np.random.RandomState(0)).round()
    array([[100.],
           [  0.]])
    """
    n, k, d = means.shape
    weights = np.exp(log_weights - log_weights.max(axis=1, keepdims=True))
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    which = np.minimum((cumulative < rng.uniform(size=(n, 1))).sum(axis=1), k - 1)
    rows = np.arange(n)
    return means[rows, which] + np.exp(0.5 * logvars[rows, which]) * rng.standard_normal((n, d))


def em_steps(means, logvars, logits, codes, n_iter):
    """Up to ``n_iter`` EM steps of a diagonal Gaussian mixture on ``codes``, from its parameters.

    Nothing changes when there are fewer codes than Gaussians.

    Each step raises the mean of ``log p(z)`` over the codes, the term of the
    ELBO that the prior's parameters enter (minus a constant): fitted to
    draws from the training rows' posteriors, the prior moves towards their
    aggregate. Training reaches it by gradient steps shared with the
    network; a few EM steps from where training ended finish the job.

    Parameters
    ----------
    means, logvars : torch.Tensor of shape (n_mixture_components, d)
    logits : torch.Tensor of shape (n_mixture_components,)
        The mixture's parameters; updated in place.
    codes : ndarray of shape (n_codes, d)
    n_iter : int

    Examples
    --------
    >>> import numpy as np, torch
    >>> means, logvars, logits = torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1)
    >>> codes = np.random.RandomState(0).normal(3.0, 0.5, size=(500, 2))
    >>> em_steps(means, logvars, logits, codes, n_iter=2)
    >>> means.numpy().round(1), logvars.exp().numpy().round(2)
    (array([[3., 3.]], dtype=float32), array([[0.24, 0.25]], dtype=float32))
    """
    if len(codes) < len(logits):
        return
    means_, logvars_, logits_ = (p.detach().double().cpu() for p in (means, logvars, logits))
    weights = torch.softmax(logits_, dim=-1).numpy()
    mixture = GaussianMixture(
        len(weights),
        covariance_type="diag",
        max_iter=n_iter,
        weights_init=weights,
        means_init=means_.numpy(),
        precisions_init=np.exp(-logvars_.numpy()),
    )
    with warnings.catch_warnings():
        # Stopping before convergence is the point: a few steps from the trained prior.
        warnings.simplefilter("ignore", ConvergenceWarning)
        mixture.fit(codes)
    with torch.no_grad():
        for parameter, value in [
            (means, mixture.means_),
            (logvars, np.log(mixture.covariances_)),
            (logits, np.log(mixture.weights_)),
        ]:
            parameter.copy_(torch.as_tensor(value, dtype=parameter.dtype))


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

    def log_prob(self, z, condition=None):
        return diagonal_gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))

    def kl(self, z, mean, logvar, condition=None):
        return kl_to_standard_normal(mean, logvar).expand_as(z)

    def sample(self, n_samples, rng, condition=None):
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

    def log_prob(self, z, condition=None):
        per_component = diagonal_gaussian_log_prob(z.unsqueeze(-2), self.means, self.logvars)
        return torch.logsumexp(torch.log_softmax(self.logits, dim=0) + per_component, dim=-1)

    def kl(self, z, mean, logvar, condition=None):
        return monte_carlo_kl(self, z, mean, logvar)

    def refit(self, codes, condition, n_iter):
        """EM steps towards ``codes`` (:func:`em_steps`)."""
        em_steps(self.means, self.logvars, self.logits, codes, n_iter)

    def sample(self, n_samples, rng, condition=None):
        with torch.no_grad():
            weights = torch.softmax(self.logits, dim=0).double().cpu().numpy()
            means, stds = self.means.cpu().numpy(), torch.exp(0.5 * self.logvars).cpu().numpy()
        which = rng.choice(len(weights), size=n_samples, p=weights / weights.sum())
        return means[which] + stds[which] * rng.standard_normal((n_samples, self.n_components))


class FlowPrior(nn.Module):
    """A learned masked autoregressive flow over the codes (zuko's MAF); a Monte Carlo KL.

    The flow maps the codes to a standard normal through ``n_transforms``
    autoregressive affine transforms (Papamakarios, Pavlakou & Murray, 2017),
    each a masked network of two hidden layers of 64 units, trained with the
    network. A flow prior is what Chen et al. (2017) recommend against
    posterior collapse: it is as expressive as an inverse autoregressive flow
    on the posterior. ``kl`` returns ``(log q(z|x) - log p(z)) / n_components``
    for each unit, as :class:`MixturePrior` does.

    Parameters
    ----------
    n_components : int
        Latent dimension.
    n_transforms : int
        Depth of the flow.

    Examples
    --------
    >>> import numpy as np, torch
    >>> prior = FlowPrior(2, n_transforms=2)
    >>> prior.log_prob(torch.zeros(4, 7, 2)).shape, prior.sample(3, np.random.RandomState(0)).shape
    (torch.Size([4, 7]), (3, 2))
    """

    def __init__(self, n_components, n_transforms):
        super().__init__()
        try:
            from zuko.flows import MAF
        except ImportError as error:
            raise ImportError(
                "prior='flow' builds its flow with zuko, which is not installed; install it "
                "with `pip install zuko` (or sklearn-ae[flow])."
            ) from error
        self.flow = MAF(n_components, transforms=n_transforms, hidden_features=(64, 64))

    def log_prob(self, z, condition=None):
        return self.flow().log_prob(z)

    def kl(self, z, mean, logvar, condition=None):
        return monte_carlo_kl(self, z, mean, logvar)

    def sample(self, n_samples, rng, condition=None):
        flow = self.flow()
        # The base draws are made on the CPU, so that a model on a GPU samples what its CPU
        # copy samples; the flow maps them to codes on its own device.
        base = torch.randn((n_samples, *flow.base.event_shape), generator=torch_generator(rng))
        with torch.no_grad():
            codes = flow.transform.inv(base.to(next(self.parameters()).device))
        return codes.double().cpu().numpy()


class LabelPrior(nn.Module):
    """p(z|y): a learned mixture of diagonal Gaussians for each label of a conditional VAE.

    Each label's means, log-variances and mixing logits are trained with the
    network. With one Gaussian per label the KL is exact (closed form) and
    the Gaussians start at N(0, I); with more, the means start at random
    and the KL is a one-draw Monte Carlo estimate, as for
    :class:`MixturePrior`. With one prior for all labels, the codes of each
    class must fill the same standard normal, and a code drawn from it is one
    the decoder may have seen only with another label; with a prior per
    label, ``sample(n, y=label)`` draws where that label's codes lie, and a
    mixture follows them where they do not form one Gaussian.

    Parameters
    ----------
    n_components : int
        Latent dimension.
    n_labels : int
        Number of labels (the width of the one-hot condition).
    n_mixture_components : int, default=1
        Gaussians per label.

    Examples
    --------
    >>> import numpy as np
    >>> prior = LabelPrior(2, n_labels=3, n_mixture_components=4)
    >>> prior.sample(4, np.random.RandomState(0), condition=np.eye(3)[[0, 1, 2, 0]]).shape
    (4, 2)
    """

    def __init__(self, n_components, n_labels, n_mixture_components=1):
        super().__init__()
        shape = (n_labels, n_mixture_components, n_components)
        # Distinct starting means let the components of a label split its codes between them.
        start = torch.zeros(shape) if n_mixture_components == 1 else 0.5 * torch.randn(shape)
        self.means = nn.Parameter(start)
        self.logvars = nn.Parameter(torch.zeros(shape))
        self.logits = nn.Parameter(torch.zeros(n_labels, n_mixture_components))

    def _mixtures(self, condition):
        """Each row's mixture, from its one-hot label: means, log-variances, log-weights."""
        label = condition.argmax(dim=-1)
        log_weights = torch.log_softmax(self.logits, dim=-1)[label]
        return self.means[label], self.logvars[label], log_weights

    def log_prob(self, z, condition):
        means, logvars, log_weights = self._mixtures(condition)
        per_component = diagonal_gaussian_log_prob(z.unsqueeze(-2), means, logvars)
        return torch.logsumexp(log_weights + per_component, dim=-1)

    def kl(self, z, mean, logvar, condition):
        if self.logits.shape[1] > 1:
            return monte_carlo_kl(self, z, mean, logvar, condition)
        means, logvars, _ = self._mixtures(condition)
        return kl_between_diagonal_gaussians(mean, logvar, means[:, 0], logvars[:, 0]).expand_as(z)

    def refit(self, codes, condition, n_iter):
        """EM steps of each label's mixture towards its rows' ``codes`` (:func:`em_steps`).

        Rows with no label (a row of zeros, semi-supervised training) are left
        out, and so is a label with fewer codes than Gaussians.
        """
        labeled = condition.sum(axis=1) == 1
        labels = condition.argmax(axis=1)
        parameters = (self.means, self.logvars, self.logits)
        for label in range(len(self.logits)):
            rows = labeled & (labels == label)
            em_steps(*(p.data[label] for p in parameters), codes[rows], n_iter)

    def sample(self, n_samples, rng, condition):
        with torch.no_grad():
            labels = torch.as_tensor(condition, dtype=self.means.dtype, device=self.means.device)
            mixtures = (a.double().cpu().numpy() for a in self._mixtures(labels))
        return sample_mixture(*mixtures, rng)


# ``prior=...`` of the VAE: name -> class built from (n_components, n_prior_components), the
# mixture's Gaussians or the flow's transforms; the label prior from (n_components, n_labels,
# n_prior_components), its Gaussians per label.
PRIORS = {
    "normal": StandardNormalPrior,
    "mixture": MixturePrior,
    "flow": FlowPrior,
    "label": LabelPrior,
}

# n_prior_components=None: the mixture's Gaussians and the flow's transforms (unchanged since the
# mixture and flow priors were measured), and the Gaussians per label. On MNIST-5k's conditional
# VAE, 20 per label drew samples that show their label more often than one per label, at a
# better test ELBO on every seed (benchmarks/results/collapse_cvae.md).
DEFAULT_PRIOR_COMPONENTS = {"normal": None, "mixture": 10, "flow": 10, "label": 20}


def make_prior(kind, n_components, n_prior_components=None, n_labels=0):
    """The prior module for ``prior=kind``, a key of :data:`PRIORS`.

    ``n_prior_components=None`` takes the kind's default,
    :data:`DEFAULT_PRIOR_COMPONENTS`.

    Examples
    --------
    >>> make_prior("normal", 2)
    StandardNormalPrior()
    >>> make_prior("label", 2, n_labels=3).means.shape
    torch.Size([3, 20, 2])
    """
    if n_prior_components is None:
        n_prior_components = DEFAULT_PRIOR_COMPONENTS[kind]
    if kind == "label":
        return LabelPrior(n_components, n_labels, n_prior_components)
    return PRIORS[kind](n_components, n_prior_components)
