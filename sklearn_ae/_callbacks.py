"""skorch callbacks for behaviour skorch does not ship."""

import math

from skorch.callbacks import Callback


class DivergenceGuard(Callback):
    """Stop training when the loss stops being finite, keeping the last good weights.

    The weights are saved at the start of training and after every epoch. When
    a training batch yields a NaN or infinite loss, the weights of the last
    complete epoch are restored, the unfinished epoch is dropped from the
    history, the optimizer is reset and training stops (skorch ends a fit
    cleanly on ``KeyboardInterrupt``, as its ``EarlyStopping`` does). The
    estimator reads ``diverged_epoch_`` to warn or raise.

    Attributes
    ----------
    diverged_epoch_ : int or None
        1-based epoch in which the loss became non-finite, or None.
    """

    def on_train_begin(self, net, **kwargs):
        self.diverged_epoch_ = None
        self._save(net)

    def on_epoch_end(self, net, **kwargs):
        self._save(net)

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        # skorch has already recorded this batch's loss as a float: no second device sync.
        if not training or math.isfinite(net.history[-1, "batches", -1, "train_loss"]):
            return
        self.diverged_epoch_ = len(net.history)
        net.history.pop()
        net.module_.load_state_dict(self.weights_)
        net.initialize_optimizer()
        raise KeyboardInterrupt

    def _save(self, net):
        self.weights_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
