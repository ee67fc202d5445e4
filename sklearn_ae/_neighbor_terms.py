"""Neighbour-graph terms of the loss: the codes keep the rows' neighbourhoods.

``neighbor_loss="umap"`` adds UMAP's cross-entropy (McInnes, Healy & Melville,
2018) between the fuzzy neighbour graph of the training rows and the
similarities of their codes, as in Parametric UMAP (Sainburg, McInnes & Gentner,
2021); ``neighbor_loss="infonce"`` contrasts each drawn neighbour with all other
rows of the batch under t-SNE's similarity (Damrich, Boehm, Hamprecht & Kobak,
2023). The draws come with the batch (``_graphs.NeighborGraph``). Each term
also says how maps drawn with it are refined and how new rows are placed on
them (``_placement``): its similarity curve and step sizes.

The terms count in the validation loss too, so that early stopping judges the
objective being trained.
"""

import functools

import numpy as np
import torch
from torch.nn.functional import softplus

from ._graphs import _umap
from ._penalties import Penalty

# UMAP's low-dimensional similarity curve 1 / (1 + a d^2b) is fitted to min_dist=0.1, spread=1.
MIN_DIST = 0.1
# away with a bounded force.
REPULSION_FLOOR = 1e-3
# many, the number in a batch of 512 (with which its maps were measured).
CONTRAST_ROWS = 511


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
    # UMAP's transform takes steps of a quarter of its fit's, whatever the data: UMAP's curve
    # keeps its maps on one scale.
    placement_step_size = 0.25
    # The refinement's row-wise Adam step: 0.35 of the placement step of a MNIST-5k map. On full
    # MNIST 0.4 to 1.0 for the InfoNCE term gave the same maps.
    refine_step = 0.35 * placement_step_size

    @classmethod
    def placement_step(cls, codes):
        """The first step size of placing new rows on the map of the training ``codes``.

        UMAP's transform's, ``placement_step_size``, whatever the map.
        """
        return cls.placement_step_size

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

    # New rows are placed with a first step of this fraction of the map's median distance from
    # the centre. Test 5-NN accuracy of full-MNIST maps (one fit, seed 0) with steps 2, 4, 8:
    # 0.958, 0.962, 0.964; MNIST-5k and digits maps (3 seeds) changed by at most 0.007 between
    # fractions 0.0625 and 0.15, and 0.125 was the best or within 0.004 of it on each.
    placement_radius_fraction = 0.125

    @classmethod
    def placement_step(cls, codes):
        """A step of ``placement_radius_fraction`` of the map's median distance from its centre.

        Its maps grow with the number of rows, as t-SNE's do (median distance 30
        on MNIST-5k, 64 on full MNIST), and its curve's attraction falls as
        ``2 / d`` with the distance ``d``: with a fixed step, a new row
        started far from its neighbours on a large map has not reached them
        when the schedule ends.
        """
        codes = np.asarray(codes, dtype=np.float64)
        return cls.placement_radius_fraction * float(
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


# ``neighbor_loss=...`` of both estimators.
NEIGHBOR_LOSSES = {"umap": UMAPNeighborTerm, "infonce": InfoNCENeighborTerm}
