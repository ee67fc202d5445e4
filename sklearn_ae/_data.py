"""Whole-tensor datasets and a slicing batch iterator for skorch.

skorch's default ``Dataset`` + ``DataLoader`` fetch one sample at a time and
collate the batch in Python, which costs more than the forward pass of a small
net. Our data always fit in one tensor, so a batch is a single indexing
operation. Both classes plug into skorch through its ``dataset`` and
``iterator_train``/``iterator_valid`` parameters; the training loop itself is
skorch's.
"""

import torch

from ._objectives import labeled_rows


class TensorDataset(torch.utils.data.Dataset):
    """Rows of a 2-D tensor, optionally with a per-row condition tensor.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
        Inputs, already on the training device.
    condition : torch.Tensor of shape (n_samples, n_conditions), default=None
        Extra input given to the module with every row (one-hot labels of a
        conditional model).
    neighbors : NeighborGraph or None, default=None
        A neighbour graph over these rows (``sklearn_ae._graphs``): every
        batch then also carries one drawn neighbour of each row.
    graph_rows : torch.Tensor of shape (n_samples,) or None, default=None
        The rows' indices in ``neighbors``, for a subset of the rows the graph
        was built on; None when they are the same rows in the same order.
    factor_groups : torch.Tensor of shape (n_samples, 2) or None, default=None
        Each row's one-factor-varies group id and the factor it varies, -1
        for none (``sklearn_ae._factor_groups.one_factor_groups``); given to
        the module with every row, and kept together by a shuffling
        :class:`BatchIterator`.

    Examples
    --------
    >>> import torch
    >>> ds = TensorDataset(torch.zeros(5, 3))
    >>> len(ds), ds.batch(torch.tensor([0, 1]))[0].shape
    (5, torch.Size([2, 3]))
    """

    def __init__(self, X, condition=None, neighbors=None, graph_rows=None, factor_groups=None):
        self.X = X
        self.condition = condition
        self.neighbors = neighbors
        self.graph_rows = graph_rows
        self.factor_groups = factor_groups

    @classmethod
    def from_arrays(cls, X, condition, device, factor_groups=None):
        """The rows X (float32), their condition and factor groups (or None) on ``device``."""

        def tensor(array, **kwargs):
            return None if array is None else torch.tensor(array, device=device, **kwargs)

        return cls(
            tensor(X, dtype=torch.float32), tensor(condition), None, None, tensor(factor_groups)
        )

    def __len__(self):
        return len(self.X)

    def batch(self, index):
        """Return the skorch batch ``(inputs, None)`` for the rows in ``index``.

        Without a condition or neighbours the inputs are a tensor; otherwise
        they are a dict whose ``"x"`` and ``"condition"`` skorch passes to
        ``module.forward`` as keyword arguments.
        """
        if self.condition is None and self.neighbors is None and self.factor_groups is None:
            return self.X[index], None
        batch = {"x": self.X[index]}
        if self.condition is not None:
            batch["condition"] = self.condition[index]
        if self.factor_groups is not None:
            batch["factor_groups"] = self.factor_groups[index]
        if self.neighbors is not None:
            rows = self._graph_rows()[index]
            batch.update(self.neighbors.neighbor_batch(rows))
        return batch, None

    def __getitem__(self, i):
        return self.batch(i)

    def _graph_rows(self):
        if self.graph_rows is None:
            return torch.arange(len(self.X), device=self.X.device)
        return self.graph_rows

    def subset(self, index):
        """Return a dataset of the rows in ``index`` (keeping their neighbour graph)."""

        def rows(values):
            return None if values is None else values[index]

        graph_rows = None if self.neighbors is None else self._graph_rows()[index]
        return TensorDataset(
            self.X[index],
            rows(self.condition),
            self.neighbors,
            graph_rows,
            rows(self.factor_groups),
        )

    def with_neighbors(self, neighbors):
        """Return these rows with the neighbour graph ``neighbors`` built on them."""
        return TensorDataset(self.X, self.condition, neighbors, None, self.factor_groups)


class BatchIterator:
    """Iterate over a :class:`TensorDataset` in batches, one slice per batch.

    Parameters
    ----------
    dataset : TensorDataset
        The data to iterate over.
    batch_size : int
        Rows per batch; the last batch may be smaller.
    shuffle : bool, default=False
        Draw a new permutation of the rows for every pass, from torch's global
        random generator (which the estimators seed and restore around ``fit``).
    min_batch_size : int, default=1
        A last batch smaller than this joins the one before it (batch
        normalisation cannot train on a single row).
    labeled_fraction : float, default=0.0
        Above 0, and when the data mix labeled rows (a condition that is not
        all zeros) with unlabeled ones (a condition of zeros), this share of
        every batch, or the labeled rows' share of the data if larger, is
        labeled rows, taken in turns from their own shuffled order, and the
        rest are unlabeled rows; an epoch is then one pass over the unlabeled
        rows. Semi-supervised training uses it so that a few labeled rows
        reach every batch instead of one in forty.

    Examples
    --------
    >>> import torch
    >>> batches = BatchIterator(TensorDataset(torch.arange(10.0).reshape(5, 2)), batch_size=2)
    >>> len(batches), [xb.shape[0] for xb, _ in batches]
    (3, [2, 2, 1])
    >>> batches.min_batch_size = 2
    >>> len(batches), [xb.shape[0] for xb, _ in batches]
    (2, [2, 3])
    >>> labels = torch.eye(2)[[0, 1, 0, 0, 0, 0, 0, 0]]
    >>> labels[2:] = 0  # rows 2-7 unlabeled
    >>> mixed = BatchIterator(TensorDataset(torch.zeros(8, 2), labels), 4, labeled_fraction=0.5)
    >>> [int((xb["condition"].sum(1) > 0).sum()) for xb, _ in mixed]
    [2, 2, 2]
    """

    def __init__(self, dataset, batch_size, shuffle=False, min_batch_size=1, labeled_fraction=0.0):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.min_batch_size = min_batch_size
        self.labeled_fraction = labeled_fraction

    def _labeled(self):
        """Indices of the labeled and of the unlabeled rows when batches mix them, else None."""
        condition = self.dataset.condition
        if self.labeled_fraction <= 0 or condition is None:
            return None
        labeled = labeled_rows(condition)
        if labeled.all() or not labeled.any():
            return None
        return labeled.nonzero().flatten(), (~labeled).nonzero().flatten()

    def _bounds(self, n, step):
        starts = list(range(0, n, step))
        if len(starts) > 1 and n - starts[-1] < self.min_batch_size:
            starts.pop()
        return list(zip(starts, [*starts[1:], n], strict=True))

    def _n_labeled(self, n_labeled_rows):
        share = max(self.labeled_fraction, n_labeled_rows / len(self.dataset))
        # At least one row of each kind per batch.
        return min(max(1, round(share * self.batch_size)), self.batch_size - 1)

    def __len__(self):
        split = self._labeled()
        if split is None:
            return len(self._bounds(len(self.dataset), self.batch_size))
        labeled, unlabeled = split
        return len(self._bounds(len(unlabeled), self.batch_size - self._n_labeled(len(labeled))))

    def __iter__(self):
        split = self._labeled()
        if split is not None:
            yield from self._mixed_batches(*split)
            return
        order = None
        if self.shuffle:
            order = self._shuffled_order()
        for start, stop in self._bounds(len(self.dataset), self.batch_size):
            rows = slice(start, stop) if order is None else order[start:stop]
            yield self.dataset.batch(rows)

    def _mixed_batches(self, labeled, unlabeled):
        n_labeled = self._n_labeled(len(labeled))
        bounds = self._bounds(len(unlabeled), self.batch_size - n_labeled)
        unlabeled = self._shuffled(unlabeled)
        # Labeled rows in turns: whole passes over them, each pass in its own order.
        passes = -(-len(bounds) * n_labeled // len(labeled))
        turns = torch.cat([self._shuffled(labeled) for _ in range(passes)])
        for i, (start, stop) in enumerate(bounds):
            rows = torch.cat([turns[i * n_labeled : (i + 1) * n_labeled], unlabeled[start:stop]])
            yield self.dataset.batch(rows)

    def _shuffled_order(self):
        """A random order of the rows; the rows of a factor group stay next to each other."""
        device = self.dataset.X.device
        order = torch.randperm(len(self.dataset), device=device)
        if self.dataset.factor_groups is None:
            return order
        # Rows in no group are groups of their own; the groups come in a random order.
        group = self.dataset.factor_groups[order, 0]
        alone = group < 0
        group = torch.where(alone, group.max() + 1 + torch.arange(len(group), device=device), group)
        _, group = torch.unique(group, return_inverse=True)
        rank = torch.randperm(int(group.max()) + 1, device=device)[group]
        return order[torch.sort(rank, stable=True).indices]

    def _shuffled(self, rows):
        if not self.shuffle:
            return rows
        return rows[torch.randperm(len(rows), device=rows.device)]
