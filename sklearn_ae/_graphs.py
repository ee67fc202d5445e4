"""Neighbour graphs of the rows, and the neighbours and negatives each training batch draws.

The graph behind ``neighbor_loss`` is UMAP's fuzzy neighbour graph (umap-learn's
``fuzzy_simplicial_set`` on scikit-learn's exact k nearest neighbours,
:func:`fuzzy_neighbor_graph`); a semi-supervised VAE without ``neighbor_loss``
uses scikit-learn's symmetric k-NN graph (:func:`knn_graph`), so that it needs
no umap-learn. Each training batch carries, for every row, ``POSITIVE_DRAWS``
neighbours drawn in proportion to their membership and, per neighbour,
``NEGATIVE_SAMPLE_RATE`` other rows of the same batch (:class:`NeighborGraph`).

A validation row's neighbours are training rows (:func:`reference_neighbor_graph`),
so that the validation loss measures what ``transform`` does with new rows, and
its draws are fixed (``seed``) so that early stopping does not follow chance.
"""

import numpy as np
import scipy.sparse
import torch
from sklearn.neighbors import NearestNeighbors, kneighbors_graph

from ._inference import map_row_chunks

# Seeds drawn from a RandomState for numpy and torch: below 2**31.
MAX_SEED = np.iinfo(np.int32).max

# UMAP's default of five negative pairs per positive one.
NEGATIVE_SAMPLE_RATE = 5
# weights about five nearest rows most; a uniform graph of 15 spreads the labels to farther,
# more often differently labeled rows: M2 on MNIST-5k with 100 labels reached 0.833 (mean of
# 3 seeds) with it, about as without the term (0.831), and 0.863 with 5 (the fuzzy graph: 0.859).
CONSISTENCY_NEIGHBORS = 5
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


def with_neighbor_graphs(train, valid, neighbor_loss, n_neighbors, rng, needed_by):
    """Training rows carrying their neighbours among themselves, and validation rows theirs
    among the training rows when the validation loss has a neighbour term.

    Parameters
    ----------
    train, valid : TensorDataset or None
        The training rows and the held-out rows (None without early stopping).
    neighbor_loss : str or None
        With a ``neighbor_loss``, UMAP's fuzzy graph of ``n_neighbors``; without
        one (the label-consistency term), scikit-learn's k-NN graph.
    n_neighbors : int
        Neighbours per row of the fuzzy graph.
    rng : numpy.random.RandomState
        Draws the seeds of the graph and of the validation rows' fixed draws.
    needed_by : str
        What asks for the graph, for the error message.

    Returns
    -------
    train, valid : TensorDataset or None
    """
    if len(train) < 2:
        raise ValueError(
            f"{needed_by} needs a neighbour graph, which needs at least 2 rows, got "
            f"{len(train)}; pass more rows (partial_fit: larger chunks)."
        )
    X = train.X.cpu().numpy()
    if neighbor_loss is None:
        graph = knn_graph(X)
    else:
        graph = fuzzy_neighbor_graph(X, n_neighbors, rng.randint(MAX_SEED))
    train = train.with_neighbors(NeighborGraph(graph, train.X, train.condition))
    if valid is not None and neighbor_loss is not None:
        graph = reference_neighbor_graph(valid.X.cpu().numpy(), X, n_neighbors)
        fixed = NeighborGraph(graph, train.X, train.condition, seed=rng.randint(MAX_SEED))
        valid = valid.with_neighbors(fixed)
    return train, valid
