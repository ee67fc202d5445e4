"""Placing new rows on a trained neighbour map as UMAP's ``transform`` does (``placement``).

An encoder places a new row with one smooth pass. UMAP places it by
optimisation: the row's fuzzy memberships to its nearest training rows attract
its code to theirs, randomly drawn training codes repel it, and the training
codes stay where they are. On a map trained with ``neighbor_loss="umap"`` that
optimisation, started at the encoder's code, places new rows closer to their
neighbours than the encoder does (``docs/neighbor_maps.rst``).

The optimisation is UMAP's (``umap.layouts.optimize_layout_euclidean`` with
``move_other=False``, the schedule of ``UMAP.transform``): each edge is sampled
in proportion to its membership, each sample takes one attracting step and
``NEGATIVE_SAMPLE_RATE`` repelling ones, gradients are clipped at
``GRADIENT_CLIP`` and the step size falls linearly from the term's ``placement_step`` to 0.
It is written out here, vectorised over the rows, because umap-learn's runs
through the edges with one random stream: a row's result would then depend on
the other rows of the call. Here every row takes the same pre-drawn negatives,
so a row's code is a function of the row alone.

A map trained with ``neighbor_loss="infonce"`` is placed the same way, with
that term's similarity curve (t-SNE's) and steps that follow the map's size,
since its maps are drawn on a larger scale that grows with the number of rows
(``NeighborTerm.placement_step``).

The training codes new rows are placed among are the encoder's, refined after the fit
(:func:`refine_codes`, ``refine_epochs``): optimised as free parameters of the map's own
neighbour term, as UMAP and t-SNE optimise their maps.
"""

import numpy as np
import torch

from ._graphs import (
    MAX_SEED,
    NEGATIVE_SAMPLE_RATE,
    NeighborGraph,
    ReferenceRows,
    fuzzy_neighbor_graph,
    membership_strengths,
)
from ._neighbor_terms import (
    CONTRAST_ROWS,
    NEIGHBOR_LOSSES,
    REPULSION_FLOOR,
    UMAPNeighborTerm,
    umap_curve,
)
from ._objectives import labeled_rows
from ._session import seeded_torch
from ._threads import torch_threads_for_task

# UMAP's transform: 100 epochs (it takes 30 for more than 10,000 new rows, which would make a
# row's code depend on how many rows share the call).
PLACEMENT_EPOCHS = 100
GRADIENT_CLIP = 4.0
# The refinement of the training codes: batches of the size the InfoNCE term was measured with,
# each row's Adam step the term's refine_step, falling linearly to 0.
REFINE_BATCH = CONTRAST_ROWS + 1
# The decoder's fit to the refined codes: about DECODER_FIT_STEPS Adam steps of REFINE_BATCH
# rows, at most DECODER_FIT_MAX_EPOCHS epochs. On MNIST-5k 200 steps took the test MSE most of
# the way (0.0421 after 50, 0.0417 after 200, 0.0411 after 600) in a third of 600's time.
DECODER_FIT_STEPS = 600
DECODER_FIT_MAX_EPOCHS = 25
DECODER_FIT_STEP_SIZE = 1e-3
# Negatives drawn per edge and epoch: an edge of membership w is sampled w times per epoch and
# takes NEGATIVE_SAMPLE_RATE negatives per sample, so at most about NEGATIVE_SAMPLE_RATE.
MAX_NEGATIVES = 2 * NEGATIVE_SAMPLE_RATE


def optimize_codes(
    start,
    neighbors,
    strengths,
    reference_codes,
    seed,
    n_epochs=PLACEMENT_EPOCHS,
    curve=None,
    initial_step=UMAPNeighborTerm.placement_step_size,
):
    """Codes of new rows optimised against fixed reference codes with UMAP's objective.

    Parameters
    ----------
    start : ndarray of shape (n_rows, n_components)
        Starting codes (the encoder's).
    neighbors : ndarray of shape (n_rows, k)
        Indices into ``reference_codes`` of each row's nearest reference rows.
    strengths : ndarray of shape (n_rows, k)
        Their membership strengths, at most 1 (:func:`membership_strengths`).
    reference_codes : ndarray of shape (n_reference, n_components)
        Codes of the reference rows, which do not move.
    seed : int
        Seed of the negatives, the same for every row.
    n_epochs : int, default=PLACEMENT_EPOCHS
        Epochs of the schedule.
    curve : tuple of (a, b) or None, default=None
        The similarity curve ``1 / (1 + a d^2b)``; None is UMAP's (:func:`umap_curve`).
    initial_step : float, default=0.25
        The step size of the first epoch; it falls linearly to 0.

    Returns
    -------
    codes : ndarray of shape (n_rows, n_components), float64

    Examples
    --------
    >>> import numpy as np
    >>> reference = np.vstack([np.c_[np.zeros(20), np.arange(20)], [[10.0, 0.0]]])
    >>> codes = optimize_codes(np.array([[5.0, 0.0]]), np.array([[20]]), np.array([[1.0]]),
    ...                        reference, seed=0)
    >>> bool(np.linalg.norm(codes[0] - reference[20]) < 1.0)
    True
    """
    a, b = umap_curve() if curve is None else curve
    codes = np.array(start, dtype=np.float64)
    targets = np.asarray(reference_codes, dtype=np.float64)
    strengths = np.where(strengths < 1.0 / n_epochs, 0.0, strengths)
    with np.errstate(divide="ignore"):
        epochs_per_sample = np.where(strengths > 0, 1.0 / strengths, np.inf)
    epochs_per_negative = epochs_per_sample / NEGATIVE_SAMPLE_RATE
    next_sample, next_negative = epochs_per_sample.copy(), epochs_per_negative.copy()
    negatives = np.random.RandomState(seed).randint(
        len(targets), size=(n_epochs, neighbors.shape[1], MAX_NEGATIVES)
    )
    for epoch in range(n_epochs):
        step = initial_step * (1.0 - epoch / n_epochs)
        for slot in range(neighbors.shape[1]):
            rows = np.flatnonzero(next_sample[:, slot] <= epoch)
            if len(rows) == 0:
                continue
            diff = codes[rows] - targets[neighbors[rows, slot]]
            codes[rows] += step * _attraction(diff, a, b)
            next_sample[rows, slot] += epochs_per_sample[rows, slot]
            due = (epoch - next_negative[rows, slot]) / epochs_per_negative[rows, slot]
            n_negatives = np.clip(np.floor(due), 0, MAX_NEGATIVES).astype(int)
            for k, negative in enumerate(negatives[epoch, slot, : n_negatives.max()]):
                taking = rows[n_negatives > k]
                codes[taking] += step * _repulsion(codes[taking] - targets[negative], a, b)
            next_negative[rows, slot] += n_negatives * epochs_per_negative[rows, slot]
    return codes


class RowwiseAdam:
    """Adam on the rows of a code array, each row with its own moments and step count.

    A batch's loss touches a few hundred of the rows; ``torch.optim.Adam``
    would keep moving every other row on its momentum and let its second moment
    decay between the row's draws, so that a row's step grows with the number of
    batches in an epoch (by Adam's arithmetic about four times larger with
    60,000 rows, 118 batches, than with 4,000, 8 batches). Here a row's moments
    and bias corrections advance only on the steps that touch it, so a row
    moves as it would in any data set, as in UMAP's and t-SNE's optimisers.

    Parameters
    ----------
    codes : torch.Tensor of shape (n_rows, n_components)
        The codes, a leaf tensor with ``requires_grad``; :meth:`step` updates it in place.
    betas : tuple of float, default=(0.9, 0.999)
        Adam's decay rates of the first and second moments.
    eps : float, default=1e-8
        Added to the root of the second moment.

    Examples
    --------
    >>> import torch
    >>> codes = torch.zeros(3, 2, requires_grad=True)
    >>> optimizer = RowwiseAdam(codes)
    >>> ((codes - 1) ** 2).sum().backward()
    >>> optimizer.step(torch.tensor([0]), lr=0.1)
    >>> codes.detach()
    tensor([[0.1000, 0.1000],
            [0.0000, 0.0000],
            [0.0000, 0.0000]])
    """

    def __init__(self, codes, betas=(0.9, 0.999), eps=1e-8):
        self.codes = codes
        self.betas = betas
        self.eps = eps
        self._first = torch.zeros_like(codes, requires_grad=False)
        self._second = torch.zeros_like(codes, requires_grad=False)
        self._steps = torch.zeros((len(codes), 1), dtype=codes.dtype, device=codes.device)

    @torch.no_grad()
    def step(self, rows, lr):
        """One Adam step of size ``lr`` on the rows ``rows`` (unique indices), by their gradient."""
        beta1, beta2 = self.betas
        gradient = self.codes.grad[rows]
        first = self._first[rows].mul_(beta1).add_(gradient, alpha=1 - beta1)
        second = self._second[rows].mul_(beta2).addcmul_(gradient, gradient, value=1 - beta2)
        steps = self._steps[rows] + 1
        self._first[rows], self._second[rows], self._steps[rows] = first, second, steps
        mean = first / (1 - beta1**steps)
        scale = (second / (1 - beta2**steps)).sqrt_().add_(self.eps)
        self.codes[rows] -= lr * mean / scale


def refine_codes(codes, graph, loss, seed, n_epochs):
    """Training codes optimised as free parameters with the neighbour term of their map.

    The encoder draws the map's large-scale layout, but a smooth function of the
    rows cannot put every row exactly among its neighbours; UMAP and t-SNE
    optimise each row's code directly. Here the encoder's codes are the start
    of that optimisation: every epoch draws each row's neighbours from
    ``graph`` and takes the term's gradient on the codes alone, with
    :class:`RowwiseAdam`, whose step falls linearly to 0.

    Parameters
    ----------
    codes : ndarray of shape (n_rows, n_components)
        The encoder's codes of the rows.
    graph : NeighborGraph
        The rows' neighbour graph (its ``X`` gives the device).
    loss : {"umap", "infonce"}
        The ``neighbor_loss`` the map was trained with.
    seed : int
        Seed of the batches and the draws.
    n_epochs : int
        Passes over the rows.

    Returns
    -------
    codes : ndarray of shape (n_rows, n_components), of the dtype of ``codes``

    Examples
    --------
    >>> import numpy as np, scipy.sparse, torch
    >>> from sklearn_ae._graphs import NeighborGraph
    >>> pairs = scipy.sparse.csr_matrix(np.kron(np.eye(2), np.ones((2, 2))) - np.eye(4))
    >>> graph = NeighborGraph(pairs, torch.zeros(4, 1))
    >>> start = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
    >>> codes = refine_codes(start, graph, "umap", seed=0, n_epochs=50)
    >>> distance = lambda i, j: np.linalg.norm(codes[i] - codes[j])
    >>> bool(distance(0, 1) < 4.0 and distance(2, 3) < 4.0)
    True
    """
    term = NEIGHBOR_LOSSES[loss](1.0)
    device = graph.X.device
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    # float32, as the network trains: twice as fast as float64 on a CPU.
    free = torch.tensor(codes, dtype=torch.float32, device=device, requires_grad=True)
    optimizer = RowwiseAdam(free)
    initial_step = term.refine_step
    n_steps = n_epochs * -(-len(free) // REFINE_BATCH)
    done = 0
    for _ in range(n_epochs):
        order = torch.randperm(len(free), generator=generator, device=device)
        for rows in order.split(REFINE_BATCH):
            neighbors, weights, negatives = graph.draw_pairs(rows, generator)
            per_row = term.per_row(free[rows], free[neighbors], {"negatives": negatives})
            free.grad = None
            (weights * per_row).mean().backward()
            # The negatives are rows of the batch: the rows and their neighbours hold every
            # code the loss saw.
            touched = torch.unique(torch.cat([rows, neighbors.flatten()]))
            optimizer.step(touched, initial_step * (1 - done / n_steps))
            done += 1
    return free.detach().cpu().numpy().astype(np.asarray(codes).dtype)


def fit_decoder(module, criterion, codes, data, seed):
    """Fit the decoding half of ``module`` to map ``codes`` back to their rows.

    The refinement moves the training codes away from where the decoder learned
    to invert them; a short fit of the decoder alone on the refined codes brings
    ``inverse_transform`` back in line with the map. Only the parameters the decoding
    uses receive gradients, so the encoder is unchanged.

    Parameters
    ----------
    module : torch.nn.Module
        The trained network, with ``decode(z, condition)``.
    criterion : callable
        The net's criterion: ``criterion(decoded, x)`` is each row's loss.
    codes : ndarray of shape (n_rows, n_components)
        The rows' codes on the map.
    data : TensorDataset
        The rows (and their conditions) on the training device.
    seed : int
        Seed of the batches.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_ae._data import TensorDataset
    >>> module = torch.nn.Linear(1, 2)
    >>> module.decode = lambda z, condition, x=None: module(z)
    >>> squared_error = lambda decoded, x: ((decoded - x) ** 2).sum(-1)
    >>> codes = np.linspace(-1, 1, 50)[:, None]
    >>> data = TensorDataset(torch.tensor(np.c_[codes, -codes], dtype=torch.float32))
    >>> def error():
    ...     with torch.no_grad():
    ...         return float(squared_error(module.decode(data.X[:, :1], None), data.X).mean())
    >>> before = error()
    >>> fit_decoder(module, squared_error, codes, data, seed=0)
    >>> bool(error() < before)
    True
    """
    device = data.X.device
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    codes = torch.as_tensor(codes, dtype=torch.float32, device=device)
    rows_to_fit = torch.arange(len(codes), device=device)
    if data.condition is not None:
        # A semi-supervised model's unlabeled rows have a condition of zeros, which its
        # decoder never decodes with.
        rows_to_fit = rows_to_fit[labeled_rows(data.condition)]
    optimizer = torch.optim.Adam(module.parameters(), lr=DECODER_FIT_STEP_SIZE)
    module.train()
    n_batches = -(-len(rows_to_fit) // REFINE_BATCH)
    for _ in range(min(-(-DECODER_FIT_STEPS // max(n_batches, 1)), DECODER_FIT_MAX_EPOCHS)):
        order = rows_to_fit[torch.randperm(len(rows_to_fit), generator=generator, device=device)]
        for rows in order.split(REFINE_BATCH):
            if len(rows) < 2:
                continue  # batch normalisation cannot train on one row
            condition = None if data.condition is None else data.condition[rows]
            loss = criterion(
                module.decode(codes[rows], condition, data.X[rows]), data.X[rows]
            ).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    module.eval()


def _attraction(diff, a, b):
    """UMAP's clipped attracting gradient step for code differences ``diff`` (rows)."""
    squared = (diff**2).sum(axis=1)
    powered = squared**b
    with np.errstate(divide="ignore", invalid="ignore"):
        coefficient = np.where(squared > 0, -2 * a * b * powered / squared / (a * powered + 1), 0)
    return np.clip(coefficient[:, None] * diff, -GRADIENT_CLIP, GRADIENT_CLIP)


def _repulsion(diff, a, b):
    """UMAP's clipped repelling gradient step; a coinciding code is pushed by the clip value."""
    squared = (diff**2).sum(axis=1)
    coefficient = 2 * b / ((REPULSION_FLOOR + squared) * (a * squared**b + 1))
    step = np.clip(coefficient[:, None] * diff, -GRADIENT_CLIP, GRADIENT_CLIP)
    return np.where(squared[:, None] > 0, step, GRADIENT_CLIP)


class NeighborPlacement:
    """Places new rows among the training rows of a neighbour map (``placement="neighbors"``).

    Parameters
    ----------
    rows : ndarray of shape (n_train, n_features)
        The training rows.
    codes : ndarray of shape (n_train, n_components)
        Their codes.
    n_neighbors : int
        Training rows each new row is attracted to.
    seed : int
        Seed of the negatives.
    loss : {"umap", "infonce"}, default="umap"
        The ``neighbor_loss`` the map was trained with, whose similarity curve
        and step size the placement takes.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> rows = rng.rand(40, 3)
    >>> placement = NeighborPlacement(rows, rows[:, :2] * 10, n_neighbors=5, seed=0)
    >>> placement.place(rows[:3] + 0.01, start=np.zeros((3, 2))).shape
    (3, 2)
    """

    def __init__(self, rows, codes, n_neighbors, seed, loss="umap"):
        self.rows = rows
        self.codes = codes
        self.n_neighbors = n_neighbors
        self.seed = seed
        self.loss = loss
        self._reference = None

    def place(self, X, start):
        """Codes of the rows X, starting from ``start`` (float64)."""
        if self._reference is None:
            # Prepared on first use and kept: a call of one row should not pay for it.
            self._reference = ReferenceRows(self.rows)
        distances, neighbors = self._reference.nearest(X, self.n_neighbors)
        strengths = membership_strengths(distances, self.n_neighbors)
        term = NEIGHBOR_LOSSES[self.loss]
        return optimize_codes(
            start,
            neighbors,
            strengths,
            self.codes,
            self.seed,
            curve=term.similarity_curve(),
            initial_step=term.placement_step(self.codes),
        )

    def __getstate__(self):
        # The prepared copy of the rows is rebuilt when needed, not pickled.
        return {**self.__dict__, "_reference": None}


def fit_placement(net, X, codes, data, graph, loss, n_neighbors, refine_epochs, rng):
    """The placement of new rows on the map of the training rows X (``placement="neighbors"``).

    The map is the encoder's ``codes`` of X, refined for ``refine_epochs`` as
    free parameters of the ``loss`` term (:func:`refine_codes`), after which
    the decoder of ``net`` is fitted to the refined codes (:func:`fit_decoder`).

    Parameters
    ----------
    net : ObjectiveNet
        The trained network.
    X : ndarray of shape (n_samples, n_features)
        The training rows; the placement keeps a copy, so that the model does
        not change when the caller edits their array.
    codes : ndarray of shape (n_samples, n_components)
        The encoder's codes of X.
    data : TensorDataset
        X as tensors (with its per-row condition).
    graph : NeighborGraph or None
        The neighbour graph over all of X; None builds it (the training graph
        leaves out validation rows, which the map holds too).
    loss : {"umap", "infonce"}
        The map's ``neighbor_loss``.
    n_neighbors : int
        Neighbours of each row in the graph and in the placement.
    refine_epochs : int
        Epochs of the refinement; 0 keeps the encoder's codes and the decoder.
    rng : numpy.random.RandomState
        Draws the seeds of the graph, the refinement and the placement.

    Returns
    -------
    placement : NeighborPlacement
    """
    if refine_epochs > 0:
        if graph is None:
            rows = fuzzy_neighbor_graph(X, n_neighbors, rng.randint(MAX_SEED))
            graph = NeighborGraph(rows, data.X)
        seed = rng.randint(MAX_SEED)
        with torch_threads_for_task(), seeded_torch(seed, graph.X.device):
            codes = refine_codes(codes, graph, loss, seed, refine_epochs)
            fit_decoder(net.module_, net.criterion_, codes, data, seed)
    return NeighborPlacement(X.copy(), codes, n_neighbors, rng.randint(MAX_SEED), loss)


def check_placement(placement, neighbor_loss):
    """Raise ValueError when ``placement="neighbors"`` comes without a neighbour map."""
    if placement == "neighbors" and neighbor_loss is None:
        raise ValueError(
            "placement='neighbors' places new rows by optimising a neighbour objective "
            "against the codes of the training rows, which suits only a map trained with "
            "one; set neighbor_loss='umap' or 'infonce' as well, or keep "
            "placement='encoder'."
        )


def place_rows(placement, X, codes):
    """The encoder's ``codes`` of rows X moved onto the map by ``placement`` (a fitted
    :class:`NeighborPlacement`, or None for a model fitted without one), in ``codes``' dtype."""
    if placement is None:
        raise ValueError(
            "placement='neighbors' places rows among the training rows, which this model "
            "did not keep: it was fitted with placement='encoder'. Fit it again with "
            "placement='neighbors', or set placement='encoder'."
        )
    return placement.place(X, codes).astype(codes.dtype, copy=False)
