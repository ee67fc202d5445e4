"""skorch callbacks for behaviour skorch does not ship."""

import math

import torch
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


@torch.no_grad()
def flush_subnormals(tensors):
    """Set the subnormal entries (0 < |x| < the smallest normal float) of each tensor to zero.

    Examples
    --------
    >>> import torch
    >>> t = torch.tensor([1e-40, 1.0, -1e-39, 0.0])
    >>> flush_subnormals([t])
    >>> t
    tensor([0., 1., 0., 0.])
    """
    for tensor in tensors:
        if tensor.is_floating_point():
            tensor.masked_fill_(tensor.abs() < torch.finfo(tensor.dtype).tiny, 0)


class SubnormalFlush(Callback):
    """Every ``every`` training steps, set subnormal weights and optimizer state to zero.

    Why: weights fed by inputs that are always zero (the border pixels of
    images) get no gradient from the data, so weight decay drives them, and
    Adam's moment estimates with them, towards zero and into the subnormal
    range (measured on 10,000 MNIST rows: 118,000 weights and 535,000 Adam
    values after 30 epochs). On many x86 CPUs every arithmetic operation on a
    subnormal float takes a slow microcode path, and epochs became 5-9x slower
    halfway through a fit. Zero is where those values are going anyway, and it
    is absorbing (a zero weight with zero gradient and moments stays zero), so
    flushing changes nothing but values below 1.2e-38. ``torch.set_flush_denormal``
    would do it in hardware, but it is a process-wide setting and covers only
    the calling thread (measured: half the results of a 2-thread elementwise
    operation stayed subnormal), which would also make results depend on the
    thread count. Flushing costs about 5 ms per million values x 3 (weights
    and two Adam moments): about 2% of training time at ``every=64``.

    The steps are counted from the history (epoch number, batch in the epoch),
    so a fit resumed from a checkpoint flushes at the same steps as one that
    was never interrupted. With fewer than ``every`` batches per epoch, it
    flushes at the end of every ``ceil(every / batches)``-th epoch instead. It
    also flushes when training ends, so that a fitted model holds no
    subnormal weights (they would slow ``transform`` too).
    """

    def __init__(self, every=64):
        self.every = every

    def _flush(self, net):
        state = [
            value
            for param_state in net.optimizer_.state.values()
            for value in param_state.values()
            if torch.is_tensor(value)
        ]
        flush_subnormals([param for _, param in net.get_all_learnable_params()] + state)

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history[-1, "batches"]) % self.every == 0:
            self._flush(net)

    def on_epoch_end(self, net, **kwargs):
        batches = len(net.history[-1, "batches"])
        if 0 < batches < self.every and len(net.history) % math.ceil(self.every / batches) == 0:
            self._flush(net)

    def on_train_end(self, net, **kwargs):
        self._flush(net)


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
