"""Reconstruction likelihoods p(x|z), the one mechanism behind both estimators' reconstruction.

A likelihood is an ``nn.Module`` criterion: ``forward(output, x)`` returns each
row's negative log-likelihood (summed over features; leading axes broadcast,
so decoder outputs of shape ``(n_draws, n, d)`` score data of shape ``(n, d)``),
and ``to_data(output)`` maps a decoder output to data space. Its class says
whether it needs data in [0, 1] and builds itself from the training data.

The autoencoder's ``loss`` and the VAE's ``likelihood`` choose from
:data:`AUTOENCODER_LOSSES` and :data:`VAE_LIKELIHOODS`, which share the
Bernoulli criterion; :func:`likelihood_for` builds either choice and checks
the data range once for both.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import in_unit_interval


class Likelihood(nn.Module):
    """Base of the likelihoods: built without data, no range requirement, identity output map."""

    needs_unit_interval = False

    @classmethod
    def for_data(cls, X):
        """The criterion for training data X.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Training data.

        Returns
        -------
        criterion : Likelihood
        """
        return cls()

    def to_data(self, output):
        """Map a decoder output to data space (here the output itself)."""
        return output

    def draw(self, output, generator=None):
        """A draw of p(x|z) from a decoder output (here the output itself: no noise model)."""
        return output


class SquaredError(Likelihood):
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


class BinaryCrossEntropy(Likelihood):
    """Reconstruction as Bernoulli negative log-likelihood; the decoder outputs logits.

    ``forward(logits, x)`` returns the per-sample sum of binary cross-entropies,
    computed from logits for numerical stability. Targets must lie in [0, 1].

    Examples
    --------
    >>> import torch
    >>> BinaryCrossEntropy()(torch.zeros(1, 2), torch.ones(1, 2))
    tensor([1.3863])
    """

    needs_unit_interval = True

    def forward(self, logits, x):
        return F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none"
        ).sum(dim=-1)

    def to_data(self, logits):
        """Map logits to Bernoulli means in [0, 1]."""
        return torch.sigmoid(logits)

    def draw(self, logits, generator=None):
        """Bernoulli draws, 0 or 1, from logits, with a CPU ``generator``.

        Drawn on the CPU, so that a model on a GPU draws what its CPU copy draws.
        """
        probabilities = torch.sigmoid(logits).cpu()
        return torch.bernoulli(probabilities, generator=generator).to(logits.device)


class GaussianNegativeLogLikelihood(Likelihood):
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
        self.min_variance = min_variance
        self.min_log_variance = math.log(min_variance)

    @classmethod
    def for_data(cls, X):
        """The criterion whose variances start at those of the training data X."""
        return cls(X.var(axis=0))

    def start_at(self, variance):
        """Set the features' variances to ``variance`` (one number, or one per
        feature), each kept at or above ``min_variance``."""
        variance = torch.as_tensor(variance, dtype=torch.float32)
        with torch.no_grad():
            self.log_variance.copy_(
                variance.clamp(min=self.min_variance).log().expand_as(self.log_variance)
            )

    def draw(self, mean, generator=None):
        """Gaussian draws around ``mean`` with the learned variances, with a CPU ``generator``.

        The noise is drawn on the CPU, so that a model on a GPU draws what its CPU copy draws.
        """
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype).to(mean.device)
        log_var = self.log_variance.clamp(min=self.min_log_variance)
        return mean + torch.exp(0.5 * log_var) * noise

    def forward(self, mean, x):
        log_var = self.log_variance.clamp(min=self.min_log_variance)
        return 0.5 * (
            math.log(2 * math.pi) + log_var + (x - mean).pow(2) * torch.exp(-log_var)
        ).sum(dim=-1)


# ``AutoencoderTransformer(loss=...)``: a distance between row and reconstruction.
AUTOENCODER_LOSSES = {"mse": SquaredError, "bce": BinaryCrossEntropy}

# ``VAETransformer(likelihood=...)``: a distribution p(x|z) (the Gaussian learns its variances).
VAE_LIKELIHOODS = {"gaussian": GaussianNegativeLogLikelihood, "bernoulli": BinaryCrossEntropy}


def check_data_suits(choices, parameter, name, X):
    """Raise ValueError, in the user's terms, if training data X do not suit ``choices[name]``.

    Parameters
    ----------
    choices : dict
        :data:`AUTOENCODER_LOSSES` or :data:`VAE_LIKELIHOODS`.
    parameter : str
        The estimator parameter that chose ``name``, for the message.
    name : str
        The chosen key.
    X : ndarray of shape (n_samples, n_features)
        Training data.

    Examples
    --------
    >>> import numpy as np
    >>> check_data_suits(AUTOENCODER_LOSSES, "loss", "bce", np.array([[2.0]]))
    Traceback (most recent call last):
        ...
    ValueError: loss='bce' needs X in [0, 1], but X ranges over [2, 2]. ...
    """
    if choices[name].needs_unit_interval and not in_unit_interval(X):
        unbounded = next(key for key, cls in choices.items() if not cls.needs_unit_interval)
        raise ValueError(
            f"{parameter}={name!r} needs X in [0, 1], but X ranges over "
            f"[{X.min():.4g}, {X.max():.4g}]. Rescale it (e.g. MinMaxScaler) or use "
            f"{parameter}={unbounded!r}."
        )
