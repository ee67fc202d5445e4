"""The skorch net of both estimators (``get_loss``, ``infer``); skorch runs the loop."""

from skorch import NeuralNet

# The entries of a batch dict that are the module's inputs; the others (a neighbour-graph
# term's neighbours) are for the loss only.
MODULE_INPUTS = ("x", "condition", "factor_groups")


def as_batch(X):
    """A skorch batch as a dict: ``"x"``, and ``"condition"`` and others where present.

    Examples
    --------
    >>> import torch
    >>> sorted(as_batch(torch.zeros(2, 3)))
    ['x']
    """
    return X if isinstance(X, dict) else {"x": X}


def logged_terms(objective, penalties):
    """Names of the loss terms a net logs: all of them when there is more than one.

    Examples
    --------
    >>> from sklearn_ae._objectives import ReconstructionObjective
    >>> logged_terms(ReconstructionObjective(), [])
    []
    """
    names = [*objective.term_names, *(penalty.name for penalty in penalties)]
    return names if len(names) > 1 else []


class ObjectiveNet(NeuralNet):
    """skorch net whose loss is an objective plus weighted penalties.

    Penalties apply during training only (validation scores the objective
    alone, so early stopping watches what ``score`` measures), except those
    that set ``in_validation`` (a neighbour-graph term). In training,
    each term is recorded in the history as ``train_<name>`` (see
    :func:`logged_terms`).

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`skorch.NeuralNet`.
    objective : callable
        ``objective(net, output, x, condition, training) -> (loss, terms)``
        (see ``sklearn_ae._objectives``).
    penalties : sequence of Penalty, default=()
        Regularisation terms (see ``sklearn_ae._penalties``).
    """

    def __init__(self, *args, objective, penalties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.objective = objective
        self.penalties = penalties

    def _set_training(self, training=True):
        # skorch sets the mode of every module for every batch; walking the module tree each
        # time cost ~0.1 ms a batch, as much as a small network's forward pass.
        modules = [getattr(self, name + "_") for name in self._modules + self._criteria]
        if any(getattr(m, "training", training) != training for m in modules):
            super()._set_training(training)

    def infer(self, x, **fit_params):
        if isinstance(x, dict):
            x = {key: value for key, value in x.items() if key in MODULE_INPUTS}
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        batch = as_batch(X)
        loss, terms = self.objective(self, y_pred, batch["x"], batch.get("condition"), training)
        codes = self.objective.codes(y_pred)
        for penalty in self.penalties:
            if training or penalty.in_validation:
                value = penalty.value(self.module_, batch, codes)
                terms[penalty.name] = value
                loss = loss + penalty.weight * value
        if training and len(terms) > 1:
            for name, value in terms.items():
                self.history.record_batch("train_" + name, value.item())
        return loss
