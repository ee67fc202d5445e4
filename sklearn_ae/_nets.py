"""skorch nets: each overrides ``get_loss`` only; skorch runs the loop."""

from skorch import NeuralNet


def _inputs(X):
    """The data rows of a skorch batch (conditional batches are dicts)."""
    return X["x"] if isinstance(X, dict) else X


class AutoencoderNet(NeuralNet):
    """skorch net whose loss is reconstruction error plus weighted penalties.

    The module returns ``(decoder_output, codes)``; the criterion gives a
    per-sample reconstruction error (summed over features), averaged here per
    feature and sample, so the squared-error loss is the usual mean squared
    error. Penalties are applied during training only; validation scores the
    reconstruction alone, so early stopping watches what ``score`` measures.
    Each term is recorded in the history (``train_reconstruction``,
    ``train_<penalty name>``).

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`skorch.NeuralNet`.
    penalties : sequence of Penalty, default=()
        Regularisation terms (see ``sklearn_ae._losses``).
    """

    def __init__(self, *args, penalties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.penalties = penalties

    def get_loss(self, y_pred, y_true, X=None, training=False):
        output, codes = y_pred[0], y_pred[1]
        x = _inputs(X)
        loss = self.criterion_(output, x).mean() / x.shape[1]
        if not (training and self.penalties):
            return loss
        self.history.record_batch("train_reconstruction", loss.item())
        for penalty in self.penalties:
            value = penalty.value(self.module_, x, codes)
            self.history.record_batch("train_" + penalty.name, value.item())
            loss = loss + penalty.weight * value
        return loss
