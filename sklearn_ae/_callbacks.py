"""skorch callbacks for behaviour skorch does not ship."""

import math

from skorch.callbacks import Callback, EarlyStopping


class DivergenceGuard(Callback):
    """Stop training when the loss stops being finite, keeping the last good weights.

    The weights are saved at the start of every epoch, so the snapshot always
    holds the last complete epoch (or the state a resumed fit starts from).
    When a training batch yields a NaN or infinite loss, the snapshot is
    restored, the unfinished epoch is dropped from the history, the optimizer
    is reset and training stops (skorch ends a fit cleanly on
    ``KeyboardInterrupt``, as its ``EarlyStopping`` does). The estimator reads
    ``diverged_epoch_`` to warn or raise, and ``weights_`` after a user's
    interrupt.

    Attributes
    ----------
    diverged_epoch_ : int or None
        1-based epoch in which the loss became non-finite, or None.
    weights_ : dict
        ``state_dict`` of the module at the start of the current epoch.
    """

    def on_train_begin(self, net, **kwargs):
        self.diverged_epoch_ = None

    def on_epoch_begin(self, net, **kwargs):
        self.weights_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        # skorch has already recorded this batch's loss as a float: no second device sync.
        if not training or math.isfinite(net.history[-1, "batches", -1, "train_loss"]):
            return
        self.diverged_epoch_ = len(net.history)
        net.history.pop()
        net.module_.load_state_dict(self.weights_)
        net.initialize_optimizer()
        raise KeyboardInterrupt


class ValidationEarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping`` that sits out epochs without a validation score.

    ``partial_fit`` trains without held-out rows (as scikit-learn's MLP does), also
    on a network first fitted with ``early_stopping=True``. It also copes with a
    history left empty by :class:`DivergenceGuard`.
    """

    def on_epoch_end(self, net, **kwargs):
        if self.monitor in net.history[-1]:
            super().on_epoch_end(net, **kwargs)

    def on_train_end(self, net, **kwargs):
        # The divergence guard may have dropped the only epoch.
        if len(net.history):
            super().on_train_end(net, **kwargs)


def early_stopper(net):
    """The net's early-stopping callback, or None when it trains without one."""
    return dict(net.callbacks_).get("early_stopping")


def best_epoch_restored(net):
    """The epoch whose weights early stopping loaded at the end of training, or None.

    None also when early stopping is on but never saw a validation score.
    """
    stopper = early_stopper(net)
    if stopper is None or getattr(stopper, "best_model_weights_", None) is None:
        return None
    return stopper.best_epoch_
