"""Training on known factors of variation: one-factor-varies groups and clamped units (DC-IGN).

The inverse-graphics network (Kulkarni, Whitney, Kohli & Tenenbaum, 2015)
gives each factor of variation its own latent units. It trains on groups of
rows that share every factor but one; within a group, every unit but the
varying factor's is clamped to its mean over the group, so the decoder can
tell the rows apart only through the varying factor's units, and those units
alone learn what changed. The clamped units get no signal that tells the
group's rows apart: each receives the gradient that reaches the group's mean,
the same for every row of the group, plus its difference from that mean,
which pulls it towards the value the group shares. The paper replaces the
gradient by the pull alone; keeping the shared part makes training descend
one objective: the bound with clamped units, plus the pull.

:func:`one_factor_groups` finds the groups among rows of known factors (a
row may belong to several, one per factor);
:func:`clamp_to_group_mean` is the clamp, applied to the posterior
parameters in training.
"""

import numpy as np
import torch

# Weight of the pull of a clamped unit towards its group's mean, per row, next to a loss in
# nats summed over the features. The paper's gradient is the plain difference (weight 1). A
# strong pull also reaches the encoder's shared layers and teaches them to ignore what varies
# within every group, the varying factor included: at 30, the shape unit carried nothing on
# upright sprites (make_sprites' factors with every rotation 0, MIG 0.41 and 0.42 on seeds 0
# and 1; 0.64 at 10, 0.69 and 0.67 at 3). Weights 1, 3, 10 and 30 were compared on four kinds of
# sprites (the 80/20 split of benchmarks/inverse_graphics.py, seeds 0 and 1, 100 epochs):
# upright, quarter-turn, linked quarter-turn with factor floors (which prefer a strong pull:
# 0.58 and 0.57 at 10, 0.47 and 0.57 at 3) and the default ones (0.38 to 0.40 at any weight);
# 10 had the highest total, and no setting lost more than about 0.05 to its best weight.
PULL_WEIGHT = 10.0


def one_factor_groups(factors):
    """The one-factor-varies groups among rows of known factors: each row's memberships.

    For each factor in turn, rows whose other factors are all equal (and
    known) form a group when the factor itself takes at least two values
    among them. A row belongs to every group it qualifies for, one per factor
    at most: in a grid of renderings, an image lies in a group for each
    factor, and the groups it joins are what carry the clamp's invariance from
    one group to the next. Rows in no group, and rows with a missing (NaN)
    factor, appear once with group -1.

    Parameters
    ----------
    factors : ndarray of shape (n_samples, n_factors)
        Known factor values, NaN where unknown.

    Returns
    -------
    memberships : ndarray of shape (n_memberships, 3), dtype int64
        One line per row and group it belongs to, ordered by row: the row's
        index, the group id (-1: none) and the factor the group varies (-1:
        none). Every row appears at least once.

    Examples
    --------
    >>> import numpy as np
    >>> factors = np.array([[0, 1], [0, 2], [3, 1], [9, 9], [np.nan, 5]])
    >>> one_factor_groups(factors).tolist()  # row 0 varies factor 1 with row 1, factor 0 with row 2
    [[0, 0, 0], [0, 1, 1], [1, 1, 1], [2, 0, 0], [3, -1, -1], [4, -1, -1]]
    """
    n_samples, n_factors = factors.shape
    known = np.flatnonzero(~np.isnan(factors).any(axis=1))
    found, next_id = [], 0
    for j in range(n_factors if len(known) > 1 else 0):
        others = np.delete(factors[known], j, axis=1)
        _, key = np.unique(others, axis=0, return_inverse=True)
        key = key.ravel()
        # Keys whose rows take at least two values of factor j.
        pairs = np.unique(np.column_stack([key, factors[known, j]]), axis=0)
        varies = np.bincount(pairs[:, 0].astype(np.int64), minlength=key.max() + 1) > 1
        ids = np.cumsum(varies) - 1 + next_id
        chosen = varies[key]
        found.append(np.column_stack([known[chosen], ids[key[chosen]], np.full(chosen.sum(), j)]))
        next_id += int(varies.sum())
    grouped = np.concatenate(found) if found else np.empty((0, 3), dtype=np.int64)
    alone = np.setdiff1d(np.arange(n_samples), grouped[:, 0])
    memberships = np.concatenate([grouped, np.column_stack([alone, -np.ones((len(alone), 2))])])
    memberships = memberships.astype(np.int64)
    return memberships[np.lexsort((memberships[:, 2], memberships[:, 0]))]


def clamped_units(varying, factor_dims, n_components):
    """Which units each row clamps: all but those of the factor its group varies.

    Parameters
    ----------
    varying : torch.Tensor of shape (n,), int64
        The factor each row's group varies, -1 for rows in no group.
    factor_dims : sequence of int
        Units per factor, in order, from unit 0; the units after them are free.
    n_components : int
        Latent units in all.

    Returns
    -------
    clamp : torch.Tensor of shape (n, n_components), bool
        True where a unit is clamped; rows in no group clamp nothing.

    Examples
    --------
    >>> import torch
    >>> clamped_units(torch.tensor([1, -1]), (1, 2), 4).int().tolist()
    [[1, 0, 0, 1], [0, 0, 0, 0]]
    """
    ends = torch.tensor(np.cumsum(factor_dims), device=varying.device)
    unit = torch.arange(n_components, device=varying.device)
    # The factor each unit belongs to; free units get len(factor_dims).
    owner = torch.searchsorted(ends, unit, right=True)
    grouped = (varying >= 0)[:, None]
    return grouped & (owner[None, :] != varying[:, None])


def _group_means(values, inverse, n_groups):
    """Each row's mean of ``values`` over the rows of its group (``inverse``: group indices)."""
    sums = values.new_zeros(n_groups, values.shape[1]).index_add_(0, inverse, values)
    counts = torch.bincount(inverse, minlength=n_groups).to(values.dtype)
    return (sums / counts[:, None])[inverse]


class _ClampToGroupMean(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values, group, clamp):
        ids, inverse = torch.unique(group, return_inverse=True)
        means = _group_means(values, inverse, len(ids))
        ctx.n_groups = len(ids)
        ctx.save_for_backward(values - means, clamp, inverse)
        return torch.where(clamp, means, values)

    @staticmethod
    def backward(ctx, grad_output):
        deviation, clamp, inverse = ctx.saved_tensors
        # The gradient of the mean over rows of half the squared distance to the group's mean.
        pull = PULL_WEIGHT * deviation / len(deviation)
        # What reaches the group's mean reaches each of its rows alike (a group clamps the
        # same units in every row).
        shared = _group_means(torch.where(clamp, grad_output, 0.0), inverse, ctx.n_groups)
        return torch.where(clamp, pull + shared, grad_output), None, None


def clamp_to_group_mean(values, group, clamp):
    """Clamp ``values`` to their mean over each group where ``clamp`` says, as DC-IGN does.

    Forward: a clamped entry takes the mean of its unit over the rows of its
    group. Backward: a clamped entry receives the gradient that reaches its
    group's mean, the same for every row of the group, plus ``PULL_WEIGHT``
    times its difference from that mean divided by the number of rows (the
    gradient of ``PULL_WEIGHT / 2`` times the squared distance to the mean,
    averaged over rows); other entries pass their gradient through.

    Parameters
    ----------
    values : torch.Tensor of shape (n, d)
        Per-row values (a posterior's means or log-variances).
    group : torch.Tensor of shape (n,), int64
        Each row's group id.
    clamp : torch.Tensor of shape (n, d), bool
        Entries to clamp (see :func:`clamped_units`).

    Returns
    -------
    clamped : torch.Tensor of shape (n, d)

    Examples
    --------
    >>> import torch
    >>> values = torch.tensor([[1.0, 5.0], [3.0, 7.0]], requires_grad=True)
    >>> clamp = torch.tensor([[True, False], [True, False]])
    >>> out = clamp_to_group_mean(values, torch.tensor([0, 0]), clamp)
    >>> out.tolist()
    [[2.0, 5.0], [2.0, 7.0]]
    >>> out.sum().backward()
    >>> ((values.grad[:, 0] - 1) / PULL_WEIGHT).tolist()  # shared 1, pulled towards 2
    [-0.5, 0.5]
    >>> values.grad[:, 1].tolist()  # the free unit's gradient passes through
    [1.0, 1.0]
    """
    return _ClampToGroupMean.apply(values, group, clamp)
