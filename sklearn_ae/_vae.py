"""VAETransformer: the variational autoencoder family as a scikit-learn transformer."""

import numbers

import numpy as np
import pandas as pd
import torch
from sklearn.base import _fit_context
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ._base import BaseAutoencoder, fill_shared_docs
from ._losses import (
    BinaryCrossEntropy,
    GaussianNegativeLogLikelihood,
    elbo_terms,
    importance_weighted_bound,
    log_importance_weights,
)
from ._modules import VariationalAutoencoder
from ._nets import VAENet
from ._noise import make_corruption
from ._priors import make_prior

# Draws decoded together when scoring: a pass decodes this many times CHUNK_ROWS rows, which
# bounds memory whatever n_score_samples is.
_DRAWS_PER_PASS = 32
# Draws per row for the ELBO that ``score`` reports (fixed seed, so deterministic).
_ELBO_DRAWS = 10


def check_labels(labels, name):
    """``labels`` as a 1-D array, or a ValueError for missing labels or a mix of text and numbers.

    Examples
    --------
    >>> check_labels([0, 1, 1], "y")
    array([0, 1, 1])
    >>> import pandas as pd
    >>> check_labels(pd.Series([0, "a"]), "y")
    Traceback (most recent call last):
        ...
    ValueError: y mixes text and numbers as labels; give every label the same type, ...
    """
    labels = column_or_1d(labels)
    if pd.isna(labels).any():
        raise ValueError(
            f"{name} has missing labels (NaN or None); a conditional VAE needs a label for "
            "every row. Drop those rows or give them a label of their own."
        )
    if labels.dtype == object and len({isinstance(v, str) for v in labels}) > 1:
        raise ValueError(
            f"{name} mixes text and numbers as labels; give every label the same type, "
            f"e.g. with {name}.astype(str)."
        )
    return labels


@fill_shared_docs
class VAETransformer(BaseAutoencoder):
    r"""Variational autoencoder as a transformer, with the classic extensions as parameters.

    The encoder gives a diagonal Gaussian posterior
    :math:`q(z|x) = N(\mu(x), \mathrm{diag}\,\sigma^2(x))`; codes are drawn as
    :math:`z = \mu + \sigma \odot \epsilon` (reparameterisation) and decoded into
    the parameters of :math:`p(x|z)`. Training minimises, averaged over the batch,

    .. math::

        -\mathbb{E}_{q(z|x)}[\log p(x|z)] + \beta_t\,\sum_j \max(\lambda, KL_j)

    where :math:`KL_j` is the batch-mean KL of latent unit j to the prior,
    :math:`\beta_t = \beta \min(1, t / T_{warmup})` at epoch t and
    :math:`\lambda` is ``free_bits``. With ``n_importance_samples=K > 1`` it
    maximises the importance-weighted bound
    :math:`\mathbb{E}\log\frac{1}{K}\sum_k p(x|z_k)\,p(z_k)/q(z_k|x)` instead.

    Parameters
    ----------
    n_components : int, default=2
        Latent dimension.

    {shared_parameters}

    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Decoder distribution p(x|z). ``"gaussian"`` suits real-valued data:
        the decoder outputs the mean and one variance per feature is learned
        with the network (starting at the data variance, floored at 1e-3).
        ``"bernoulli"`` (decoder logits) suits data in [0, 1] such as pixel
        intensities, and raises an error for other data.

    beta : float, default=1.0
        Weight of the KL term: above 1 favours disentangled, smoother codes
        (beta-VAE), below 1 sharper reconstructions.

    kl_warmup : int, default=0
        Epochs over which the KL weight rises linearly to ``beta``. Use it
        when the decoder is strong and codes collapse to the prior early
        (posterior collapse); 0 disables it.

    free_bits : float, default=0.0
        Minimum KL in nats charged per latent unit, so the optimiser gains
        nothing by pushing a unit's KL below it: keeps units in use against
        collapse without changing beta. With the mixture prior the floor
        applies to the total KL divided evenly across units.

    prior : {"normal", "mixture"}, default="normal"
        ``"normal"``: standard Gaussian, exact KL. ``"mixture"``: a learned
        mixture of ``n_prior_components`` diagonal Gaussians (KL by a
        one-draw Monte Carlo estimate), better for clustered data.

    n_prior_components : int, default=10
        Components of the mixture prior.

    n_importance_samples : int, default=1
        Draws per row during training; above 1 trains on the
        importance-weighted bound (IWAE), which is tighter but costs K decoder
        passes per row.

    n_score_samples : int, default=200
        Importance draws per row used by ``score_samples`` to estimate log p(x).

    conditional : bool, default=False
        Conditional VAE: encoder and decoder also receive the one-hot label,
        ``fit(X, y)`` needs y, and ``transform``, ``inverse_transform`` and
        ``sample`` take ``y=``. When False, y is ignored, so the VAE works in
        a supervised Pipeline.

    Attributes
    ----------
    {shared_attributes}

    classes_ : ndarray of shape (n_classes,)
        Labels seen in ``fit``; only when ``conditional=True``.

    See Also
    --------
    AutoencoderTransformer : Deterministic autoencoder with the classic regularisers.

    Notes
    -----
    ``transform`` returns posterior means, as scikit-learn requires a
    deterministic transform. ``posterior(X)`` gives means and standard
    deviations; a posterior draw is ``mean + std * rng.standard_normal(mean.shape)``.
    ``score`` is the mean ELBO per row in nats (higher is better, so
    ``GridSearchCV`` needs no scorer); ``score_samples`` is a tighter
    importance-sampled estimate of each row's log-likelihood. With the
    Bernoulli likelihood on grey levels these are log-likelihoods of the
    Bernoulli model, not of a density on [0, 1].

    References
    ----------
    Kingma & Welling, "Auto-encoding variational Bayes", ICLR 2014.
    Higgins et al., "beta-VAE", ICLR 2017. Bowman et al., "Generating sentences
    from a continuous space", CoNLL 2016 (KL annealing). Kingma et al.,
    "Improved variational inference with inverse autoregressive flow", NeurIPS
    2016 (free bits). Tomczak & Welling, "VAE with a VampPrior", AISTATS 2018
    (learned mixture priors). Sohn et al., "Learning structured output
    representation using deep conditional generative models", NeurIPS 2015.
    Burda et al., "Importance weighted autoencoders", ICLR 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_ae import VAETransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> vae = VAETransformer(2, likelihood="bernoulli", max_iter=3, random_state=0).fit(X)
    >>> vae.transform(X).shape, vae.sample(5, random_state=0).shape
    ((1797, 2), (5, 64))
    >>> cvae = VAETransformer(2, conditional=True, max_iter=3, random_state=0).fit(X, y)
    >>> cvae.sample(10, y=[3] * 10, random_state=0).shape
    (10, 64)
    """

    _net_class = VAENet

    _early_stopping_note = """Off by default: the KL term already regularises the
        codes, and the VAE has no PCA start to fall back to."""

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "likelihood": [StrOptions({"gaussian", "bernoulli"})],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "kl_warmup": [Interval(numbers.Integral, 0, None, closed="left")],
        "free_bits": [Interval(numbers.Real, 0, None, closed="left")],
        "prior": [StrOptions({"normal", "mixture"})],
        "n_prior_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_importance_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_score_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "conditional": ["boolean"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        architecture="mlp",
        image_shape=None,
        conv_channels=(32, 64),
        batch_norm=False,
        hidden_layer_sizes=(512, 256),
        activation="relu",
        likelihood="gaussian",
        beta=1.0,
        kl_warmup=0,
        free_bits=0.0,
        prior="normal",
        n_prior_components=10,
        n_importance_samples=1,
        n_score_samples=200,
        conditional=False,
        noise=None,
        noise_level=0.1,
        max_iter=100,
        batch_size=128,
        learning_rate=1e-3,
        optimizer="adam",
        weight_decay=1e-5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        device="cpu",
        verbose=0,
        random_state=None,
        warm_start=False,
        checkpoint_dir=None,
    ):
        self.n_components = n_components
        self.architecture = architecture
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.batch_norm = batch_norm
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.likelihood = likelihood
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.prior = prior
        self.n_prior_components = n_prior_components
        self.n_importance_samples = n_importance_samples
        self.n_score_samples = n_score_samples
        self.conditional = conditional
        self.noise = noise
        self.noise_level = noise_level
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.callbacks = callbacks
        self.device = device
        self.verbose = verbose
        self.random_state = random_state
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir

    # ---- hooks of the base class ---------------------------------------------------

    def _check_training_data(self, X):
        if self.likelihood == "bernoulli" and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                f"likelihood='bernoulli' needs X in [0, 1], but X ranges over "
                f"[{X.min():.4g}, {X.max():.4g}]. Rescale it (e.g. MinMaxScaler) or use "
                "likelihood='gaussian'."
            )

    def _condition(self, y, n_samples, fitting=False, classes=None):
        if not self.conditional:
            return None
        if y is None:
            raise ValueError(
                "conditional=True needs the labels y: call fit(X, y), transform(X, y=y), "
                "inverse_transform(Z, y=y) or sample(n, y=labels)."
            )
        y = check_labels(np.broadcast_to(y, (n_samples,)) if np.ndim(y) == 0 else y, "y")
        check_consistent_length(np.empty(n_samples), y)
        if fitting:
            self.classes_ = np.unique(y if classes is None else check_labels(classes, "classes"))
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains labels not seen in fit: {unknown.tolist()}; "
                f"known labels are {self.classes_.tolist()}. When training with partial_fit, "
                "give every label as classes= in the first call."
            )
        return (y[:, None] == self.classes_).astype(np.float32)

    def _module_spec(self, X):
        in_unit_range = X.min() >= 0 and X.max() <= 1
        return VariationalAutoencoder, {
            "n_features": X.shape[1],
            "n_components": self.n_components,
            "architecture": self._architecture(),
            "n_conditions": len(self.classes_) if self.conditional else 0,
            "corruption": make_corruption(
                self.noise, self.noise_level, clip=(0.0, 1.0) if in_unit_range else None
            ),
            "prior": make_prior(self.prior, self.n_components, self.n_prior_components),
        }

    def _criterion(self, X):
        if self.likelihood == "bernoulli":
            return BinaryCrossEntropy()
        return GaussianNegativeLogLikelihood(X.var(axis=0))

    def _objective(self):
        params = {
            "beta": self.beta,
            "kl_warmup": self.kl_warmup,
            "free_bits": self.free_bits,
            "n_importance_samples": self.n_importance_samples,
        }
        return params, ["reconstruction", "kl"]

    def _sample_codes(self, n_samples, rng):
        return self.net_.module_.prior.sample(n_samples, rng)

    # ---- public API --------------------------------------------------------------

    def fit_transform(self, X, y=None):
        """Fit, then return the posterior means of X (labels y for a conditional VAE).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Labels; required when ``conditional=True``, ignored otherwise.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Posterior means.
        """
        return self.fit(X, y).transform(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None):
        """Train on one chunk of rows: one epoch (one pass) over X.

        Calling it once per chunk trains on data that need not fit in memory
        (a ``numpy.memmap``, a generator of chunks, or a dask array through
        ``dask_ml.wrappers.Incremental``). The first call builds the network
        from its chunk; later calls continue training it. ``max_iter``, early
        stopping and ``checkpoint_dir`` do not apply: save the estimator
        between chunks instead.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One chunk of training data, no NaN or infinity.
        y : array-like of shape (n_samples,), default=None
            Labels of the chunk; required when ``conditional=True``, ignored otherwise.
        classes : array-like of shape (n_classes,), default=None
            Every label the stream contains, for a conditional VAE whose first
            chunk may not show them all; read on the first call only. None
            takes the labels of the first chunk.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        return self._fit(X, y, partial=True, classes=classes)

    def _validated(self, X, y):
        X = self._validate_rows(X)
        return X, self._condition(y, len(X))

    def transform(self, X, y=None):
        """Posterior means of X (deterministic codes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.
        y : array-like of shape (n_samples,), default=None
            Labels; required when ``conditional=True``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Posterior means, in X's float dtype.
        """
        return self._encode(*self._validated(X, y))

    def posterior(self, X, y=None):
        """Mean and standard deviation of the Gaussian posterior q(z|x) of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.
        y : array-like of shape (n_samples,), default=None
            Labels; required when ``conditional=True``.

        Returns
        -------
        mean, std : ndarrays of shape (n_samples, n_components)
            Draw from the posterior with ``mean + std * rng.standard_normal(mean.shape)``.
        """
        X, condition = self._validated(X, y)

        def mean_and_std(x, c):
            mean, logvar = self.net_.module_.posterior_parameters(x, c)
            return mean, torch.exp(0.5 * logvar)

        return self._map_batches(mean_and_std, X, condition)

    def inverse_transform(self, Z, y=None):
        """Decode codes to the mean of p(x|z).

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)
            Codes.
        y : array-like of shape (n_samples,), default=None
            Labels; required when ``conditional=True``.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features)
            Decoded means, in Z's float dtype.
        """
        check_is_fitted(self)
        Z = self._validate_codes(Z, "inverse_transform")
        return self._decode(Z, self._condition(y, len(Z)))

    def sample(self, n_samples=1, random_state=None, y=None):
        """Decode draws from the fitted prior.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.
        y : label or array-like of shape (n_samples,), default=None
            Labels of the rows to generate; required when ``conditional=True``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Means of p(x|z) for the drawn codes (float64).
        """
        return self._generate(n_samples, random_state, y)

    def score_samples(self, X, y=None):
        """Importance-sampled estimate of log p(x) for each row, in nats.

        Uses ``n_score_samples`` draws from q(z|x) per row (the IWAE bound,
        which is at least the ELBO and tightens as the number of draws grows),
        in batches so that memory stays bounded. Deterministic: the draws use a
        fixed seed, the same for every row, so a row's score does not depend on
        the other rows. Low values flag unusual rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : array-like of shape (n_samples,), default=None
            Labels; required when ``conditional=True``.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
        """
        X, condition = self._validated(X, y)
        module, criterion = self.net_.module_, self.net_.criterion_
        noise = self._scoring_noise(self.n_score_samples)

        def bound(x, c):
            mean, logvar = module.posterior_parameters(x, c)
            log_weights = [
                sum(log_importance_weights(module, criterion, x, c, mean, logvar, eps))
                for eps in noise.split(_DRAWS_PER_PASS)
            ]
            return importance_weighted_bound(torch.cat(log_weights))

        return self._map_batches(bound, X, condition).astype(np.float64)

    def score(self, X, y=None):
        """Mean evidence lower bound (ELBO) per row, in nats; higher is better.

        Estimated with 10 draws per row and a fixed seed, so it is
        deterministic.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : array-like of shape (n_samples,), default=None
            Labels; required when ``conditional=True``, ignored otherwise.

        Returns
        -------
        elbo : float
        """
        X, condition = self._validated(X, y)
        module, criterion = self.net_.module_, self.net_.criterion_
        eps = self._scoring_noise(_ELBO_DRAWS)

        def elbo(x, c):
            mean, logvar = module.posterior_parameters(x, c)
            reconstruction, kl = elbo_terms(module, criterion, x, c, mean, logvar, eps)
            return -(reconstruction + kl.sum(dim=-1))

        return float(np.mean(self._map_batches(elbo, X, condition)))

    def _scoring_noise(self, n_draws):
        """Standard-normal draws (n_draws, 1, n_components) that every row of a call shares.

        A fixed seed makes scores deterministic, and sharing the draws makes a
        row's score independent of the other rows (both measured by scikit-learn's
        estimator checks).
        """
        generator = torch.Generator().manual_seed(0)
        eps = torch.randn((n_draws, 1, self.n_components), generator=generator)
        return eps.to(self.net_.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self.conditional
        return tags
