"""The skorch net of both estimators: it overrides ``get_loss`` only; skorch runs the loop."""

from skorch import NeuralNet


def batch_rows(X):
    """The data rows of a skorch batch (conditional batches are dicts)."""
    return X["x"] if isinstance(X, dict) else X


def batch_condition(X):
    """The per-row condition of a skorch batch, or None."""
    return X["condition"] if isinstance(X, dict) else None


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

    Penalties apply during training only; validation scores the objective
    alone, so early stopping watches what ``score`` measures. In training,
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

    def get_loss(self, y_pred, y_true, X=None, training=False):
        x, condition = batch_rows(X), batch_condition(X)
        loss, terms = self.objective(self, y_pred, x, condition, training)
        if not training:
            return loss
        codes = self.objective.codes(y_pred)
        for penalty in self.penalties:
            value = penalty.value(self.module_, x, condition, codes)
            terms[penalty.name] = value
            loss = loss + penalty.weight * value
        if len(terms) > 1:
            for name, value in terms.items():
                self.history.record_batch("train_" + name, value.item())
        return loss
