"""Neighbour-graph terms: keep the k-NN graph of the rows in the codes and in the classifier.

``neighbor_loss="umap"`` adds UMAP's cross-entropy (McInnes, Healy & Melville,
2018) between the fuzzy neighbour graph of the training rows and the
similarities of their codes, as in Parametric UMAP (Sainburg, McInnes & Gentner,
2021), to either estimator's objective. The graph comes from umap-learn
(``fuzzy_simplicial_set``) on scikit-learn's exact k nearest neighbours. Each
training batch carries, for every row, ``POSITIVE_DRAWS`` neighbours drawn from
its graph row in proportion to the membership strengths and, per neighbour,
``NEGATIVE_SAMPLE_RATE`` other rows of the same batch (:class:`NeighborGraph`);
the term attracts the codes of the neighbour pairs and repels those of the
negative pairs. ``neighbor_loss="infonce"`` takes the same draws and contrasts
each neighbour with all other rows of the batch under t-SNE's similarity
instead (:class:`InfoNCENeighborTerm`).

The term counts in the validation loss too, so that early stopping (and the
comparison with the starting network) judges the objective being trained. A
validation row's neighbours are training rows (:func:`reference_neighbor_graph`):
the loss then measures what ``transform`` does with new rows, where a graph
among the few validation rows stopped digits maps after 38 epochs at a test
5-NN accuracy of 0.84. Validation draws are fixed (``seed``): a loss that drew
new pairs every epoch would move by chance, and early stopping would follow
the noise.

A semi-supervised VAE also has :class:`LabelConsistencyTerm`: the classifier's
predictions for a row and its graph neighbours should agree. That graph is
scikit-learn's symmetric k-NN graph of ``CONSISTENCY_NEIGHBORS`` neighbours
(:func:`knn_graph`), so that M2 needs no umap-learn, unless ``neighbor_loss``
asks for UMAP's graph, which then serves both terms.
"""

import functools

import numpy as np
import scipy.sparse
import torch
from sklearn.neighbors import NearestNeighbors, kneighbors_graph
from torch.nn.functional import softplus

from ._inference import map_row_chunks
from ._penalties import Penalty, categorical_kl

# UMAP's defaults: five negative pairs per positive one, and the low-dimensional similarity
# curve 1 / (1 + a d^2b) fitted to min_dist=0.1, spread=1.
NEGATIVE_SAMPLE_RATE = 5
MIN_DIST = 0.1
# UMAP's floor of the squared code distance in its repulsion: coinciding codes push each other
# away with a bounded force.
REPULSION_FLOOR = 1e-3
# Neighbours of a row in the label-consistency term's k-NN graph. UMAP's fuzzy graph of 15
# weights about five nearest rows most; a uniform graph of 15 spreads the labels to farther,
# more often differently labeled rows: M2 on MNIST-5k with 100 labels reached 0.833 (mean of
# 3 seeds) with it, about as without the term (0.831), and 0.863 with 5 (the fuzzy graph: 0.859).
CONSISTENCY_NEIGHBORS = 5
# Rows the InfoNCE term contrasts each neighbour with: its batch's other rows, scaled to this
# many, the number in a batch of 512 (with which its maps were measured).
CONTRAST_ROWS = 511
# UMAP's transform takes steps of a quarter of its fit's, whatever the data: UMAP's curve keeps
# its maps on one scale.
UMAP_PLACEMENT_STEP = 0.25
# The InfoNCE term places new rows with a first step of this fraction of its map's median
# distance from the centre. Test 5-NN accuracy of full-MNIST maps (one fit, seed 0) with steps
# 2, 4, 8: 0.958, 0.962, 0.964; MNIST-5k and digits maps (3 seeds) changed by at most 0.007
# between fractions 0.0625 and 0.15, and 0.125 was the best or within 0.004 of it on each.
PLACEMENT_RADIUS_FRACTION = 0.125
# Neighbours drawn per row and batch. One draw per row gives a few hundred thousand edge samples
# in a fit where UMAP takes millions; four raised the test 5-NN accuracy of a digits map from 0.897
# to 0.925 in the same 100 epochs, for 1.3x the time.
POSITIVE_DRAWS = 4


def _umap():
    try:
        from umap import umap_
    except ImportError as error:
        raise ImportError(
            "neighbor_loss='umap' builds UMAP's neighbour graph with umap-learn, which is not "
            "installed; install it with `pip install umap-learn` (or sklearn-ae[umap])."
        ) from error
    return umap_


def fuzzy_neighbor_graph(X, n_neighbors, random_state=0):
    """UMAP's symmetric fuzzy neighbour graph of the rows of X, as a CSR matrix.

    Neighbours are exact (scikit-learn's ``NearestNeighbors``, Euclidean), so
    the graph does not depend on an approximate search; ``n_neighbors`` counts
    the row itself, as in UMAP, and is capped at the number of rows.

    Examples
    --------
    >>> import numpy as np
    >>> graph = fuzzy_neighbor_graph(np.random.RandomState(0).rand(30, 4), n_neighbors=5)
    >>> graph.shape, bool(np.allclose(graph.toarray(), graph.toarray().T))
    ((30, 30), True)
    """
    n_neighbors = min(n_neighbors, len(X))
    distances, indices = NearestNeighbors(n_neighbors=n_neighbors).fit(X).kneighbors(X)
    graph, _, _ = _umap().fuzzy_simplicial_set(
        X,
        n_neighbors,
        np.random.RandomState(random_state),
        "euclidean",
        knn_indices=indices,
        knn_dists=distances.astype(np.float32),
    )
    return graph.tocsr()


def knn_graph(X, n_neighbors=CONSISTENCY_NEIGHBORS):
    """Symmetric k-NN connectivity graph of the rows of X, as a CSR matrix of ones.

    Rows i and j are linked when either is among the other's ``n_neighbors``
    nearest rows (the row itself not counted); exact Euclidean neighbours.

    Examples
    --------
    >>> import numpy as np
    >>> graph = knn_graph(np.array([[0.0], [1.0], [5.0], [6.0]]), n_neighbors=1)
    >>> graph.toarray().astype(int).tolist()
    [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]
    """
    graph = kneighbors_graph(X, min(n_neighbors, len(X) - 1), include_self=False)
    return graph.maximum(graph.T).tocsr()


def nearest_neighbor_distance(X, max_rows=2000, random_state=0):
    """Median Euclidean distance from a row of X to its nearest other row.

    A scale of the data that a perturbation can be measured against: moving
    a row by a fraction of it keeps the row nearer to itself than to its
    neighbours. Above ``max_rows`` rows, the median is taken over that many
    rows drawn with ``random_state`` (their neighbours among all rows).

    Examples
    --------
    >>> import numpy as np
    >>> float(nearest_neighbor_distance(np.array([[0.0], [1.0], [3.0], [6.0]])))
    1.5
    """
    rng = np.random.RandomState(random_state)
    queries = X if len(X) <= max_rows else X[rng.choice(len(X), max_rows, replace=False)]
    distances, _ = NearestNeighbors(n_neighbors=2).fit(X).kneighbors(queries)
    # Column 0 is the row itself (or a duplicate of it, at distance 0 either way).
    return np.median(distances[:, 1])


class ReferenceRows:
    """Exact nearest rows of a fixed set of reference rows, for any rows asked.

    Euclidean neighbours, nearest first, computed in float64 on fixed-size
    chunks of the rows asked (:func:`~sklearn_ae._inference.map_row_chunks`),
    so that a row's neighbours and distances are the same bits whatever other
    rows share the call. The reference rows are held centred, in float64.

    Parameters
    ----------
    reference : ndarray of shape (n_reference, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> reference = ReferenceRows(np.array([[0.0], [1.0], [5.0]]))
    >>> distances, indices = reference.nearest(np.array([[0.9], [5.2]]), n_neighbors=2)
    >>> indices.tolist(), distances.round(2).tolist()
    ([[1, 0], [2, 1]], [[0.1, 0.9], [0.2, 4.2]])
    """

    def __init__(self, reference):
        # Centred, so that the squared distances ||x||^2 - 2 x.r + ||r||^2 do not lose their
        # digits to a large common offset of the features.
        self.center = reference.mean(axis=0, dtype=np.float64)
        self.rows = torch.from_numpy(np.asarray(reference, dtype=np.float64) - self.center)
        self.squared_norms = self.rows.pow(2).sum(1)

    def nearest(self, X, n_neighbors):
        """Distances and indices of the ``n_neighbors`` reference rows nearest to each row of X.

        ``n_neighbors`` is capped at the number of reference rows.
        """
        n_neighbors = min(n_neighbors, len(self.rows))

        def nearest(rows, _):
            squared = rows.pow(2).sum(1, keepdim=True) - 2 * rows @ self.rows.T
            values, indices = torch.topk(
                squared + self.squared_norms, n_neighbors, dim=1, largest=False
            )
            return values.clamp(min=0).sqrt(), indices

        centred = np.asarray(X, dtype=np.float64) - self.center
        return map_row_chunks(nearest, centred, dtype=np.float64)


def membership_strengths(distances, n_neighbors):
    """UMAP's fuzzy membership of each row to each of its neighbours, from their distances.

    ``distances`` is an array of shape (n_rows, k), nearest first (from
    :meth:`ReferenceRows.nearest`); the neighbours are rows of another set
    (UMAP's ``transform``), so no neighbour is taken for the row itself. The
    nearest neighbour has membership 1, farther ones decay with the row's
    own scale, as in UMAP's ``smooth_knn_dist``.

    Examples
    --------
    >>> import numpy as np
    >>> strengths = membership_strengths(np.array([[0.5, 1.0, 2.0]]), n_neighbors=3)
    >>> strengths.shape, float(strengths[0, 0]), bool(strengths[0, 1] > strengths[0, 2])
    ((1, 3), 1.0, True)
    """
    umap_ = _umap()
    distances = np.asarray(distances, dtype=np.float32)
    sigmas, rhos = umap_.smooth_knn_dist(distances, float(n_neighbors))
    placeholder = np.zeros(distances.shape, dtype=np.int64)
    _, _, values, _ = umap_.compute_membership_strengths(
        placeholder, distances, sigmas, rhos, bipartite=True
    )
    return values.reshape(distances.shape)


def reference_neighbor_graph(X, reference, n_neighbors):
    """Membership strengths of the rows of X to their nearest rows of ``reference``, as CSR.

    The one-directional fuzzy set that UMAP's ``transform`` builds for new
    rows: shape ``(len(X), len(reference))``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> reference_neighbor_graph(rng.rand(5, 3), rng.rand(20, 3), n_neighbors=4).shape
    (5, 20)
    """
    distances, indices = ReferenceRows(reference).nearest(X, n_neighbors)
    strengths = membership_strengths(distances, n_neighbors)
    rows = np.repeat(np.arange(len(X)), indices.shape[1])
    return scipy.sparse.csr_matrix(
        (strengths.ravel(), (rows, indices.ravel())), shape=(len(X), len(reference))
    )


class NeighborGraph:
    """The neighbours of a set of rows, from which each batch draws its rows' neighbours.

    Parameters
    ----------
    graph : scipy.sparse matrix of shape (n_rows, n_neighbor_rows)
        Membership strengths (e.g. from :func:`fuzzy_neighbor_graph`, where
        the neighbours are the rows themselves).
    X : torch.Tensor of shape (n_neighbor_rows, n_features)
        The rows the graph's columns refer to.
    condition : torch.Tensor of shape (n_neighbor_rows, n_conditions) or None, default=None
        Their per-row condition.
    seed : int or None, default=None
        None draws from torch's global generator; an int makes the draws of a
        batch a function of its rows, the same in every epoch.

    Examples
    --------
    >>> import numpy as np, scipy.sparse, torch
    >>> graph = scipy.sparse.csr_matrix(np.array([[0, 1.0, 0], [1.0, 0, 0.5], [0, 0.5, 0]]))
    >>> neighbors = NeighborGraph(graph, torch.eye(3))
    >>> neighbors.draw(torch.tensor([0, 2]), None)[0].unique().tolist()
    [1]
    """

    def __init__(self, graph, X, condition=None, seed=None):
        graph = graph.tocsr()
        degree = np.diff(graph.indptr)
        width = max(1, int(degree.max(initial=0)))
        indices = np.zeros((graph.shape[0], width), dtype=np.int64)
        weights = np.zeros((graph.shape[0], width), dtype=np.float32)
        for row in range(graph.shape[0]):
            start, stop = graph.indptr[row], graph.indptr[row + 1]
            indices[row, : stop - start] = graph.indices[start:stop]
            weights[row, : stop - start] = graph.data[start:stop]
        strength = weights.sum(axis=1)
        # UMAP samples edges in proportion to their strength, so a row is drawn as often as its
        # total membership; here every row of a batch draws as many neighbours, and the row's
        # terms are weighted by its total membership instead (mean 1 over the rows).
        self.row_weights = torch.as_tensor(strength / max(strength.mean(), 1e-12), device=X.device)
        # A row without neighbours draws row 0, with weight 0.
        weights[strength == 0, 0] = 1.0
        self.indices = torch.as_tensor(indices, device=X.device)
        self.weights = torch.as_tensor(weights, device=X.device)
        self.X = X
        self.condition = condition
        self.seed = seed

    def draw(self, rows, generator):
        """``POSITIVE_DRAWS`` neighbours of each of ``rows`` (an array of that many columns)
        drawn with replacement, in proportion to their membership, and the rows' weights."""
        weights = self.weights[rows]
        picks = torch.multinomial(weights, POSITIVE_DRAWS, replacement=True, generator=generator)
        return self.indices[rows[:, None], picks], self.row_weights[rows]

    def draw_pairs(self, rows, generator):
        """:meth:`draw`, and the negatives: for each row, the positions in ``rows`` of
        ``NEGATIVE_SAMPLE_RATE`` rows per drawn neighbour, drawn uniformly."""
        neighbors, weights = self.draw(rows, generator)
        shape = (len(rows), NEGATIVE_SAMPLE_RATE * POSITIVE_DRAWS)
        negatives = torch.randint(len(rows), shape, generator=generator, device=self.X.device)
        return neighbors, weights, negatives

    def neighbor_batch(self, rows):
        """What a batch of ``rows`` carries for the term: neighbours, row weights, negatives."""
        generator = None
        if self.seed is not None:
            generator = torch.Generator(device=self.X.device)
            generator.manual_seed(self.seed + int(rows[0]))
        neighbors, weights, negatives = self.draw_pairs(rows, generator)
        entries = {
            "neighbor_x": self.X[neighbors],
            "neighbor_weight": weights,
            "negatives": negatives,
        }
        if self.condition is not None:
            entries["neighbor_condition"] = self.condition[neighbors]
        return entries


@functools.cache
def umap_curve():
    """``(a, b)`` of UMAP's low-dimensional similarity curve ``1 / (1 + a d^2b)`` for ``MIN_DIST``.

    Fitted by umap-learn on first use, so that a saved model loads without it.

    Examples
    --------
    >>> a, b = umap_curve()
    >>> round(a, 2), round(b, 2)
    (1.58, 0.9)
    """
    return tuple(float(v) for v in _umap().find_ab_params(1.0, MIN_DIST))


def umap_similarity_log_odds(squared_distance, a, b):
    """``log((1 - q) / q)`` for UMAP's code similarity ``q = 1 / (1 + a d^(2b))``.

    Written as ``log(a) + b log(d^2)`` so that both cross-entropy terms below
    are softplus functions of it, finite for large d; d^2 is floored at ``REPULSION_FLOOR``,
    as in UMAP's repulsive gradient, so that two coinciding codes do not push
    each other away with an unbounded force.

    Examples
    --------
    >>> import torch
    >>> umap_similarity_log_odds(torch.tensor([1.0]), a=1.0, b=1.0)
    tensor([0.])
    """
    return np.log(a) + b * torch.log(squared_distance.clamp(min=REPULSION_FLOOR))


class NeighborTerm(Penalty):
    """A neighbour-graph term: attract the codes of graph neighbours, repel those of other rows.

    The batch carries each row's drawn neighbours, their weights and the
    negatives (:meth:`NeighborGraph.neighbor_batch`); a subclass says what a
    row's term is (:meth:`per_row`) and which similarity curve
    ``1 / (1 + a d^2b)`` its maps are drawn with (:meth:`similarity_curve`),
    which ``placement="neighbors"`` optimises new rows with, with steps of
    :meth:`placement_step`, and with which the refinement (``refine_epochs``)
    takes Adam steps of ``refine_step``.

    Parameters
    ----------
    weight : float
        Multiplier of the term in the loss.

    Examples
    --------
    >>> import numpy as np
    >>> angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    >>> circle = 10 * np.c_[np.cos(angles), np.sin(angles)]
    >>> round(InfoNCENeighborTerm.placement_step(circle), 6), InfoNCENeighborTerm.similarity_curve()
    (1.25, (1.0, 1.0))
    """

    in_validation = True
    # The refinement's row-wise Adam step: 0.35 of the placement step of a MNIST-5k map. On full
    # MNIST 0.4 to 1.0 for the InfoNCE term gave the same maps.
    refine_step = 0.35 * UMAP_PLACEMENT_STEP

    @staticmethod
    def placement_step(codes):
        """The first step size of placing new rows on the map of the training ``codes``.

        UMAP's transform's, ``UMAP_PLACEMENT_STEP``, whatever the map.
        """
        return UMAP_PLACEMENT_STEP

    @staticmethod
    def similarity_curve():
        """``(a, b)`` of the curve ``1 / (1 + a d^2b)`` the term compares codes with."""
        raise NotImplementedError

    def per_row(self, codes, neighbor_codes, batch):
        """The term of each row, an array of shape ``(n_rows,)``."""
        raise NotImplementedError

    def value(self, module, batch, codes):
        """The batch mean of the rows' terms, each weighted by its total membership."""
        neighbor_x = batch["neighbor_x"]
        neighbor_condition = batch.get("neighbor_condition")
        if neighbor_condition is not None:
            neighbor_condition = neighbor_condition.flatten(0, 1)
        neighbor_codes = module.encode(neighbor_x.flatten(0, 1), neighbor_condition)
        neighbor_codes = neighbor_codes.reshape(len(codes), -1, codes.shape[1])
        return (batch["neighbor_weight"] * self.per_row(codes, neighbor_codes, batch)).mean()

    def _log_odds(self, z, other):
        return umap_similarity_log_odds((z - other).pow(2).sum(-1), *self.similarity_curve())


class UMAPNeighborTerm(NeighborTerm):
    r"""UMAP's fuzzy cross-entropy between the neighbour graph and the codes.

    For a row i with drawn neighbours j and negatives m drawn from the batch,
    with :math:`q(z, z') = (1 + a\|z - z'\|^{2b})^{-1}`:

    .. math::
        -\sum_j \log q(z_i, z_j) - \sum_m \log(1 - q(z_i, z_m)),

    weighted by the row's total membership strength and averaged over the
    batch.

    Parameters
    ----------
    weight : float
        Multiplier of the term in the loss.

    Examples
    --------
    >>> import torch
    >>> term = UMAPNeighborTerm(1.0)
    >>> near = term.cross_entropy(torch.zeros(4, 2), torch.zeros(4, 2) + 0.1, torch.ones(4, 2))
    >>> far = term.cross_entropy(torch.zeros(4, 2), torch.zeros(4, 2) + 3.0, torch.ones(4, 2))
    >>> bool(near.mean() < far.mean())
    True
    """

    name = "neighbors_umap"

    @staticmethod
    def similarity_curve():
        """``(a, b)`` of UMAP's similarity curve for ``MIN_DIST``."""
        return umap_curve()

    def cross_entropy(self, codes, neighbor_codes, negative_codes):
        """Per-row attraction to ``neighbor_codes`` plus repulsion from ``negative_codes``.

        ``codes`` has shape ``(n, d)``; ``neighbor_codes`` holds one or more
        neighbours per row, ``(n * n_neighbors, d)`` in row order, and
        ``negative_codes`` has shape ``(n, n_negatives, d)`` or ``(n, d)``.
        """
        neighbor_codes = neighbor_codes.reshape(len(codes), -1, codes.shape[1])
        attract = self._log_odds(codes[:, None, :], neighbor_codes)
        negatives = negative_codes if negative_codes.dim() == 3 else negative_codes[:, None]
        repel = self._log_odds(codes[:, None, :], negatives)
        # -log q = softplus(log-odds); -log(1 - q) = softplus(-log-odds).
        return softplus(attract).sum(1) + softplus(-repel).sum(1)

    def per_row(self, codes, neighbor_codes, batch):
        """The cross-entropy of each row with its drawn neighbours and negatives."""
        return self.cross_entropy(codes, neighbor_codes, codes[batch["negatives"]])


class InfoNCENeighborTerm(NeighborTerm):
    r"""A t-SNE-like contrastive term: each neighbour against all other rows of the batch.

    InfoNCE with t-SNE's Cauchy similarity :math:`q(z, z') = (1 + \|z - z'\|^2)^{-1}`
    (Damrich, Böhm, Hamprecht & Kobak, 2023, "From t-SNE to UMAP with
    contrastive learning"): for a row i with drawn neighbours j,

    .. math::
        -\sum_j \log \frac{q(z_i, z_j)}{q(z_i, z_j) + \sum_{m \ne i} q(z_i, z_m)},

    where m runs over the other rows of the batch, their sum scaled to
    ``CONTRAST_ROWS`` rows whatever the batch size. Normalising over hundreds
    of rows, where UMAP's term repels a handful one by one, draws maps closer
    to t-SNE's: tighter, farther apart clusters, which classify better by
    their nearest neighbours, on a larger scale.

    Parameters
    ----------
    weight : float
        Multiplier of the term in the loss.

    Examples
    --------
    >>> import torch
    >>> term = InfoNCENeighborTerm(1.0)
    >>> codes = torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    >>> near = term.contrast(codes, codes[:, None, :] + 0.1)
    >>> far = term.contrast(codes, codes[[1, 2, 0]][:, None, :])
    >>> bool((near < far).all())
    True
    """

    name = "neighbors_infonce"
    # Its maps spread over about eight times UMAP's scale (coordinates' standard deviation 26-29
    # against 3-4 on MNIST-5k): 0.35 of the placement step such a map had before that step
    # followed the map's size (2.0).
    refine_step = 0.35 * 2.0

    @staticmethod
    def placement_step(codes):
        """A step of ``PLACEMENT_RADIUS_FRACTION`` of the map's median distance from its centre.

        Its maps grow with the number of rows, as t-SNE's do (median distance 30
        on MNIST-5k, 64 on full MNIST), and its curve's attraction falls as
        ``2 / d`` with the distance ``d``: with a fixed step, a new row
        started far from its neighbours on a large map has not reached them
        when the schedule ends.
        """
        codes = np.asarray(codes, dtype=np.float64)
        return PLACEMENT_RADIUS_FRACTION * float(
            np.median(np.linalg.norm(codes - codes.mean(axis=0), axis=1))
        )

    @staticmethod
    def similarity_curve():
        """t-SNE's Cauchy curve, ``a = b = 1``."""
        return (1.0, 1.0)

    def contrast(self, codes, neighbor_codes):
        """Per-row InfoNCE of ``neighbor_codes`` (shape ``(n, k, d)``) against the other rows."""
        log_q = -softplus(self._log_odds(codes[:, None, :], neighbor_codes))
        if len(codes) < 2:
            # No other row to contrast with: the neighbour takes all the mass.
            return torch.zeros(len(codes), device=codes.device)
        others = -softplus(self._log_odds(codes[:, None, :], codes[None, :, :]))
        others = others.masked_fill(
            torch.eye(len(codes), dtype=torch.bool, device=codes.device), -torch.inf
        )
        # The other rows' similarities, scaled to CONTRAST_ROWS of them, so that the term's
        # value does not depend on the batch size: early stopping compares the validation loss
        # of epochs with that of the starting network, computed on blocks of other sizes.
        scale = np.log(CONTRAST_ROWS / (len(codes) - 1))
        negatives = torch.logsumexp(others, dim=1, keepdim=True) + scale
        return (torch.logaddexp(log_q, negatives) - log_q).sum(1)

    def per_row(self, codes, neighbor_codes, batch):
        """The InfoNCE of each row's drawn neighbours against the rest of its batch."""
        return self.contrast(codes, neighbor_codes)


def symmetric_kl(log_p, log_q):
    """``(KL(p || q) + KL(q || p)) / 2`` over the last axis, from log-probabilities.

    Examples
    --------
    >>> import torch
    >>> p = torch.tensor([[0.5, 0.5]]).log()
    >>> symmetric_kl(p, p).tolist(), bool(symmetric_kl(p, torch.tensor([[0.9, 0.1]]).log()) > 0)
    ([0.0], True)
    """
    return (categorical_kl(log_p, log_q) + categorical_kl(log_q, log_p)) / 2


class LabelConsistencyTerm(Penalty):
    r"""Agreement of the classifier q(y|x) between graph neighbours (semi-supervised VAE).

    For a row i and its drawn neighbours j, the symmetric KL divergence
    between :math:`q(y|x_i)` and :math:`q(y|x_j)`, weighted by the row's
    total membership and averaged over the batch: a graph regulariser of the
    classifier (manifold regularisation, Belkin, Niyogi & Sindhwani, 2006),
    which spreads the few labels along the neighbour graph as
    ``LabelSpreading`` does, while the bound trains the classifier through
    the generative model. It does not favour confident predictions by
    itself: entropy minimisation lowered M2's MNIST-5k accuracy.

    Parameters
    ----------
    weight : float
        Multiplier of the term in the loss.

    Examples
    --------
    >>> import scipy.sparse, torch
    >>> from sklearn_ae._architectures import MLPArchitecture
    >>> from sklearn_ae._modules import VariationalAutoencoder
    >>> module = VariationalAutoencoder(4, 2, MLPArchitecture((8,)), n_conditions=3, n_classes=3)
    >>> graph = NeighborGraph(scipy.sparse.csr_matrix(torch.ones(5, 5).numpy()), torch.rand(5, 4))
    >>> batch = {"x": graph.X, **graph.neighbor_batch(torch.arange(5))}
    >>> bool(LabelConsistencyTerm(1.0).value(module, batch, None) >= 0)
    True
    """

    name = "label_consistency"

    def value(self, module, batch, codes):
        """The row-weighted batch mean of the divergences from the drawn neighbours."""
        x = batch["x"]
        log_q = torch.log_softmax(module.classify(x), dim=1)
        neighbor_x = batch["neighbor_x"].flatten(0, 1)
        neighbor_log_q = torch.log_softmax(module.classify(neighbor_x), dim=1)
        neighbor_log_q = neighbor_log_q.reshape(len(x), -1, log_q.shape[1])
        per_row = symmetric_kl(log_q[:, None, :], neighbor_log_q).sum(dim=1)
        return (batch["neighbor_weight"] * per_row).mean()


# ``neighbor_loss=...`` of both estimators.
NEIGHBOR_LOSSES = {"umap": UMAPNeighborTerm, "infonce": InfoNCENeighborTerm}
