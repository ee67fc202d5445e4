"""How good generated rows are, how close codes are to a prior, and how much a VAE's codes carry.

Generated rows: :func:`sample_precision_recall`; codes against a prior:
:func:`maximum_mean_discrepancy`; posterior collapse (latent units that carry
nothing about the row): :func:`kl_per_dimension`, :func:`active_units` and
:func:`mutual_information`, which read a fitted VAE's ``posterior``; codes
against known factors of variation: :func:`factor_information` and
:func:`mutual_information_gap`.

Every estimator of this package has ``sample``; :func:`sample_precision_recall`
measures what it returns against held-out real rows. Of the measures in use,
it is the one that needs no pretrained network and no second model fitted
per comparison, and it separates the two ways a generator fails:

- **precision**, the fraction of generated rows that fall inside the real
  rows' manifold (realism: noise, or a row mixing unrelated ones, lies
  outside it);
- **recall**, the fraction of real rows that fall inside the generated rows'
  manifold (coverage: a generator that repeats a few kinds of rows, or blurs
  its samples towards a few averages, misses most rows).

Each manifold is the union of k-nearest-neighbour balls around its rows
(Kynkaanniemi, Karras, Laine, Lehtinen & Aila, "Improved precision and recall
metric for assessing generative models", NeurIPS 2019). A classifier
two-sample test gives one number that mixes both failures, and its value
depends on the classifier chosen. The paper takes distances between a
pretrained image network's features, which tables and gene expression do not
have; ``compare`` takes them between the rows as every method sees them
(pixels in [0, 1], other data standardized). A cheaper space can hide the
worst generator: in the PCA(50) space of MNIST-5k's training rows, uniform
noise scored a precision of 0.95 (the noise lies off the principal subspace,
which the projection discards), in the pixel space 0.00.
"""

import numpy as np
import torch
from sklearn.metrics import mutual_info_score, pairwise_distances, pairwise_distances_chunked
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from ._priors import mean_kl_per_unit, posterior_mutual_information


def _two_sets(first, second, first_name, second_name):
    """Both sets of rows validated as finite 2-D arrays with the same features."""
    first = check_array(first, input_name=first_name)
    second = check_array(second, input_name=second_name)
    if first.shape[1] != second.shape[1]:
        raise ValueError(
            f"{first_name} has {first.shape[1]} features and {second_name} "
            f"{second.shape[1]}; both sets need the same features."
        )
    return first, second


def _ball_radii(points, n_neighbors):
    """Distance of each point to its ``n_neighbors``-th nearest other point."""
    distances, _ = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(points).kneighbors(points)
    return distances[:, -1]


def _inside_any_ball(queries, centres, radii):
    """Whether each query lies within ``radii[j]`` of some centre ``j``."""
    inside = [
        (chunk <= radii[None, :]).any(axis=1)
        for chunk in pairwise_distances_chunked(queries, centres)
    ]
    return np.concatenate(inside)


def sample_precision_recall(X_real, X_generated, *, n_neighbors=3, features=None):
    """Improved precision and recall of generated rows against real rows.

    Parameters
    ----------
    X_real : array-like of shape (n_real, n_features)
        Real rows the model did not train on.
    X_generated : array-like of shape (n_generated, n_features)
        Rows from the model's ``sample``; about as many as ``X_real``, since
        both manifold estimates grow with the number of rows.
    n_neighbors : int, default=3
        k of the k-NN balls (3 in Kynkaanniemi et al.).
    features : fitted transformer or None, default=None
        Maps both sets into the space where distances are taken (for
        instance a network's features); the features as given if None.

    Returns
    -------
    precision : float
        Fraction of generated rows inside the real rows' k-NN balls.
    recall : float
        Fraction of real rows inside the generated rows' k-NN balls.

    Raises
    ------
    ValueError
        When either set has no more than ``n_neighbors`` rows, when the sets
        have different numbers of features, or when they hold NaN or inf.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> real = rng.normal(size=(300, 2))
    >>> precision, recall = sample_precision_recall(real, rng.normal(size=(300, 2)))
    >>> precision > 0.9 and recall > 0.9
    True
    >>> precision, recall = sample_precision_recall(real, rng.normal(5, 1, size=(300, 2)))
    >>> precision < 0.1 and recall < 0.1
    True
    """
    X_real, X_generated = _two_sets(X_real, X_generated, "X_real", "X_generated")
    for name, rows in [("X_real", X_real), ("X_generated", X_generated)]:
        if len(rows) <= n_neighbors:
            raise ValueError(
                f"{name} has {len(rows)} rows; k-NN balls with n_neighbors={n_neighbors} "
                f"need at least {n_neighbors + 1}."
            )
    if features is not None:
        X_real, X_generated = features.transform(X_real), features.transform(X_generated)
    precision = _inside_any_ball(X_generated, X_real, _ball_radii(X_real, n_neighbors)).mean()
    recall = _inside_any_ball(X_real, X_generated, _ball_radii(X_generated, n_neighbors)).mean()
    return float(precision), float(recall)


def maximum_mean_discrepancy(A, B, *, bandwidth=None):
    r"""Squared maximum mean discrepancy between two sets of rows, with a Gaussian kernel.

    :math:`\mathrm{MMD}^2 = \mathbb{E}\,k(a, a') + \mathbb{E}\,k(b, b') - 2\,\mathbb{E}\,k(a, b)`
    with :math:`k(u, v) = \exp(-\lVert u - v \rVert^2 / 2\sigma^2)` (Gretton et al., 2012;
    the biased estimate, over all pairs): 0 when both sets are drawn from one distribution,
    up to 2 when they share nothing. It measures how close a model's codes are to the prior
    it samples from (an adversarial autoencoder's codes against draws of its prior).

    Parameters
    ----------
    A : array-like of shape (n_a, n_features)
        First set of rows.
    B : array-like of shape (n_b, n_features)
        Second set of rows.
    bandwidth : float or None, default=None
        The kernel's :math:`\sigma`. None: the median distance between the rows of B,
        so that the kernel suits the scale of the reference set.

    Returns
    -------
    mmd2 : float
        The squared discrepancy.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> prior = rng.normal(size=(500, 2))
    >>> maximum_mean_discrepancy(rng.normal(size=(500, 2)), prior) < 0.01
    True
    >>> maximum_mean_discrepancy(rng.normal(3, 1, size=(500, 2)), prior) > 0.5
    True
    """
    A, B = _two_sets(A, B, "A", "B")
    if bandwidth is None:
        bandwidth = np.median(pairwise_distances(B)[np.triu_indices(len(B), k=1)])
    gamma = 1.0 / (2.0 * bandwidth**2)
    return float(
        rbf_kernel(A, gamma=gamma).mean()
        + rbf_kernel(B, gamma=gamma).mean()
        - 2.0 * rbf_kernel(A, B, gamma=gamma).mean()
    )


def _posterior(estimator, X, y):
    """Means and variances (float64) of a fitted VAE's posterior of the rows X."""
    if not hasattr(estimator, "posterior"):
        raise TypeError(
            f"{type(estimator).__name__} has no posterior q(z|x); these diagnostics take a "
            "fitted VAETransformer."
        )
    mean, std = estimator.posterior(X) if y is None else estimator.posterior(X, y)
    return np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64) ** 2


def kl_per_dimension(estimator, X, y=None):
    r"""Mean over the rows of :math:`KL(q(z_j|x) \,\|\, N(0, 1))` for each latent dimension j.

    A dimension whose KL is near 0 for every row has collapsed: its posterior
    is the prior whatever the row, and the decoder cannot read anything from
    it. The KL is to the standard normal whatever the model's prior, so that
    models with different priors compare on one scale.

    Parameters
    ----------
    estimator : VAETransformer
        A fitted VAE.
    X : array-like of shape (n_samples, n_features)
        Rows, e.g. held-out ones.
    y : array-like of shape (n_samples,), default=None
        Labels, for a conditional VAE.

    Returns
    -------
    kl : ndarray of shape (n_components,)
        Nats per dimension.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_ae import VAETransformer
    >>> X = load_digits().data[:200] / 16
    >>> vae = VAETransformer(4, max_iter=3, random_state=0).fit(X)
    >>> kl_per_dimension(vae, X).shape
    (4,)
    """
    return mean_kl_per_unit(*_posterior(estimator, X, y))


def active_units(estimator, X, y=None, *, threshold=0.01):
    """Number of latent units whose posterior mean varies across the rows of X.

    Burda, Grosse & Salakhutdinov (2016): unit j is active when the variance
    over rows of :math:`E_{q(z|x)}[z_j]` exceeds ``threshold``. An inactive
    unit gives every row the same code, so the decoder cannot use it.

    Parameters
    ----------
    estimator : VAETransformer
        A fitted VAE.
    X : array-like of shape (n_samples, n_features)
        Rows, e.g. held-out ones.
    y : array-like of shape (n_samples,), default=None
        Labels, for a conditional VAE.
    threshold : float, default=0.01
        The variance above which a unit counts as active (the paper's 0.01,
        against the prior's variance of 1).

    Returns
    -------
    n_active : int
        The number of active units, at most ``n_components``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_ae import VAETransformer
    >>> X = load_digits().data[:200] / 16
    >>> vae = VAETransformer(4, max_iter=3, random_state=0).fit(X)
    >>> 0 <= active_units(vae, X) <= 4
    True
    """
    mean, _ = _posterior(estimator, X, y)
    return int((mean.var(axis=0) > threshold).sum())


def mutual_information(estimator, X, y=None, *, random_state=None):
    r"""Estimate of the mutual information :math:`I_q(x; z)` between the rows X and their codes.

    The estimate of He, Spokoyny, Neubig & Berg-Kirkpatrick (2019), under the
    encoder's joint distribution with x uniform over the rows:

    .. math::

        I_q = \frac{1}{N}\sum_i \Big(E_{q(z|x_i)}[\log q(z|x_i)]
        - \log q(z_i)\Big), \qquad
        q(z) \approx \frac{1}{N}\sum_j q(z|x_j),

    with one draw :math:`z_i \sim q(z|x_i)` per row. It is 0 when the codes
    ignore the rows (posterior collapse) and up to about :math:`\log N`.

    Parameters
    ----------
    estimator : VAETransformer
        A fitted VAE.
    X : array-like of shape (n_samples, n_features)
        Rows, e.g. held-out ones.
    y : array-like of shape (n_samples,), default=None
        Labels, for a conditional VAE.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws of the codes.

    Returns
    -------
    mi : float
        Nats.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_ae import VAETransformer
    >>> X = load_digits().data[:200] / 16
    >>> vae = VAETransformer(4, max_iter=3, random_state=0).fit(X)
    >>> bool(0 <= mutual_information(vae, X, random_state=0) <= np.log(200))
    True
    """
    mean, variance = _posterior(estimator, X, y)
    eps = check_random_state(random_state).standard_normal(mean.shape)
    as_tensor = torch.from_numpy
    mi = posterior_mutual_information(as_tensor(mean), as_tensor(np.log(variance)), as_tensor(eps))
    return float(mi)


def _discretized(values, n_bins):
    """Integer labels: the distinct values if there are at most ``n_bins``, else equal bins."""
    distinct, labels = np.unique(values, return_inverse=True)
    if len(distinct) <= n_bins:
        return labels
    edges = np.linspace(values.min(), values.max(), n_bins + 1)[1:-1]
    return np.digitize(values, edges)


def factor_information(codes, factors, *, n_bins=20):
    r"""Which code unit knows which factor: each unit's mutual information with each factor.

    Entry :math:`(j, k)` is :math:`I(z_j; v_k) / H(v_k)`, the share of factor
    :math:`v_k`'s entropy that unit :math:`z_j` carries, from 0 (the unit
    tells nothing of the factor) to 1 (it determines it). The
    :func:`mutual_information_gap` of a factor is the gap between the two
    largest entries of its column; the whole matrix also shows where a
    factor's information went when its gap is small: into no unit, or split
    over several. Discretized as in :func:`mutual_information_gap`.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_components)
        Codes of the rows, e.g. from ``transform``.
    factors : array-like of shape (n_samples, n_factors)
        The known factors of the same rows, e.g. from
        :func:`sklearn_ae.datasets.make_sprites`.
    n_bins : int, default=20
        Bins of each continuous unit or factor.

    Returns
    -------
    information : ndarray of shape (n_components, n_factors)
        Between 0 and 1; NaN in the column of a factor that is constant over
        the rows (it has no entropy to share).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> factors = rng.randint(5, size=(5000, 2))
    >>> codes = np.column_stack([factors[:, 1], rng.normal(size=5000)])
    >>> factor_information(codes, factors).round(1)  # unit 0 copies factor 1
    array([[0., 1.],
           [0., 0.]])
    """
    codes = check_array(codes, input_name="codes")
    factors = check_array(factors, input_name="factors")
    if len(codes) != len(factors):
        raise ValueError(
            f"codes and factors must describe the same rows, got {len(codes)} and "
            f"{len(factors)} rows."
        )
    code_bins = [_discretized(column, n_bins) for column in codes.T]
    information = np.full((codes.shape[1], factors.shape[1]), np.nan)
    for k, column in enumerate(factors.T):
        factor = _discretized(column, n_bins)
        entropy = mutual_info_score(factor, factor)
        if entropy > 0:
            information[:, k] = [mutual_info_score(factor, code) / entropy for code in code_bins]
    return information


def mutual_information_gap(codes, factors, *, n_bins=20):
    r"""Mutual information gap: how much each known factor lives in one code unit alone.

    For each factor :math:`v_k`, the mutual information between it and each
    code unit :math:`z_j`; the gap between the largest and the second largest,
    divided by the factor's entropy; the mean over the factors (Chen, Li,
    Grosse & Duvenaud, 2018):

    .. math::

        \mathrm{MIG} = \frac{1}{K}\sum_k \frac{I(z_{j^{(k)}}; v_k)
        - \max_{j \ne j^{(k)}} I(z_j; v_k)}{H(v_k)},
        \qquad j^{(k)} = \arg\max_j I(z_j; v_k).

    1 when each factor is copied by one unit and no other unit knows it, about
    0 when the units mix the factors or ignore them. Both sides are
    discretized, as in Locatello et al.'s reference implementation: a unit
    or factor with at most ``n_bins`` distinct values keeps them, others are
    cut into ``n_bins`` bins of equal width over their range. The estimate of
    each mutual information from finite rows is biased upwards by about
    (bins - 1)^2 / (2 n) nats, so use thousands of rows. The codes are taken
    as given: the posterior mean of a collapsed VAE unit (its posterior the
    prior for every row) still varies a little from row to row, and bins
    spread over that small range can find a factor in it, where Chen et al.'s
    estimate from the posterior would find none; read the gap beside
    :func:`kl_per_dimension` or :func:`active_units`.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_components)
        Codes of the rows, e.g. from ``transform``.
    factors : array-like of shape (n_samples, n_factors)
        The known factors of the same rows, e.g. from
        :func:`sklearn_ae.datasets.make_sprites`.
    n_bins : int, default=20
        Bins of each continuous unit or factor.

    Returns
    -------
    mig : float
        Between 0 and 1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> factors = rng.randint(5, size=(5000, 2))
    >>> round(mutual_information_gap(factors[:, ::-1] + 0.0, factors), 2)  # copies
    1.0
    >>> mutual_information_gap(rng.normal(size=(5000, 3)), factors) < 0.02  # noise
    True
    """
    codes = check_array(codes, input_name="codes")
    if codes.shape[1] < 2:
        raise ValueError("The gap compares code units: codes need at least 2 columns.")
    information = factor_information(codes, factors, n_bins=n_bins)
    # A constant factor has nothing to disentangle.
    information = information[:, ~np.isnan(information).any(axis=0)]
    if information.shape[1] == 0:
        raise ValueError("Every factor is constant over these rows; nothing to measure.")
    top_two = np.sort(information, axis=0)[-2:]
    return float(np.mean(top_two[1] - top_two[0]))
