"""The label-consistency term of the semi-supervised VAE: neighbours should agree on the class.

The classifier's predictions for a row and for its graph neighbours
(``_graphs.NeighborGraph``: scikit-learn's k-NN graph, or UMAP's when
``neighbor_loss`` builds one) are pulled together, as ``LabelSpreading``
spreads labels along a graph.
"""

import torch

from ._graphs import NeighborGraph  # noqa: F401  (used by the doctest)
from ._penalties import Penalty, categorical_kl


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
