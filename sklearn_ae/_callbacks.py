"""skorch callbacks for behaviour skorch does not ship."""

import math
from copy import deepcopy

import numpy as np
import torch
from scipy import stats
from skorch.callbacks import Callback, EarlyStopping

from ._nets import as_batch


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


# Values below this are set to zero: 2**-100 (7.9e-31), 2**26 times the smallest normal
# float32. An Adam moment whose gradient is zero shrinks by 0.9 per step, so between two flushes
# 64 steps apart it shrinks by at most 0.9**64 = 1.2e-3 and cannot get from above this bound
# into the subnormal range. Flushing only subnormals let them refill in between: on MNIST-5k
# (k=2) up to 114,000 moments were subnormal at every other epoch's end; with this bound at
# most 310 (after the first epoch, before any flush), and the test MSE was bit-identical.
# Nothing of that size matters to a float32 result: added to any number above 2**-75 it is
# lost to rounding.
FLUSH_BELOW = 2.0**-100


@torch.no_grad()
def flush_near_subnormals(tensors, below=FLUSH_BELOW):
    """Set the entries of each floating-point tensor below ``below`` in magnitude to zero.

    Subnormal entries always go, also where ``below`` is inside a narrow
    type's subnormal range (float16).

    Examples
    --------
    >>> import torch
    >>> t = torch.tensor([1e-40, 1.0, -1e-32, 0.0])
    >>> flush_near_subnormals([t])
    >>> t
    tensor([0., 1., 0., 0.])
    """
    for tensor in tensors:
        if tensor.is_floating_point():
            limit = max(below, torch.finfo(tensor.dtype).tiny)
            tensor.masked_fill_(tensor.abs() < limit, 0)


class SubnormalFlush(Callback):
    """Every ``every`` training steps, set tiny weights and optimizer state to zero.

    Why: weights fed by inputs that are always zero (the border pixels of
    images) get no gradient from the data, so weight decay drives them, and
    Adam's moment estimates with them, towards zero and into the subnormal
    range (measured on 10,000 MNIST rows: 118,000 weights and 535,000 Adam
    values after 30 epochs). On many x86 CPUs every arithmetic operation on a
    subnormal float takes a slow microcode path, and epochs became 5-9x slower
    halfway through a fit. Zero is where those values are going anyway, and it
    is absorbing (a zero weight with zero gradient and moments stays zero).
    The values set to zero are those below :data:`FLUSH_BELOW`, a bound far
    enough above the subnormal range that none gets there before the next
    flush. ``torch.set_flush_denormal``
    would do it in hardware, but it is a process-wide setting and covers only
    the calling thread (measured: half the results of a 2-thread elementwise
    operation stayed subnormal), which would also make results depend on the
    thread count.

    A flush costs 2-4 ms per million values (the weights and each Adam moment
    count once): 5% of an epoch on the digits if done every epoch, so it runs
    at batches ``every``, ``2 * every``, ... of an epoch and, when an epoch has
    fewer batches, at the end of every ``ceil(every / batches)``-th epoch. The
    flush points come from the history, so a fit resumed from a checkpoint
    flushes at the same steps as one that was never interrupted. It also
    flushes when training ends, so that a fitted model holds no subnormal
    weights (they would slow ``transform`` too).
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
        flush_near_subnormals([param for _, param in net.get_all_learnable_params()] + state)

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history[-1, "batches"]) % self.every == 0:
            self._flush(net)

    def on_epoch_end(self, net, **kwargs):
        batches = len(net.history[-1, "batches"])
        if 0 < batches < self.every and len(net.history) % math.ceil(self.every / batches) == 0:
            self._flush(net)

    def on_train_end(self, net, **kwargs):
        self._flush(net)


# The validation rows are scored in up to this many blocks for the paired test of
# ValidationEarlyStopping; one-sided level of that test.
_TEST_BLOCKS = 20
_TEST_LEVEL = 0.05


def validation_loss(net, dataset):
    """The loss skorch would record as ``valid_loss`` for ``dataset``, for the current weights."""
    total, rows = 0.0, 0
    for batch in net.get_iterator(dataset, training=False):
        step = net.validation_step(batch)
        n = len(as_batch(batch[0])["x"])
        total, rows = total + step["loss"].item() * n, rows + n
    return total / rows


def block_losses(net, dataset):
    """Validation loss of each of up to ``_TEST_BLOCKS`` consecutive blocks of ``dataset``,
    and the number of rows in each."""
    blocks = np.array_split(np.arange(len(dataset)), min(_TEST_BLOCKS, len(dataset)))
    losses = [validation_loss(net, dataset.subset(rows)) for rows in blocks]
    return np.array(losses), np.array([len(rows) for rows in blocks])


def significantly_lower(losses, baseline):
    """Whether paired block ``losses`` are below ``baseline`` by more than their noise.

    A one-sided paired t-test at level 0.05; never with fewer than 2 blocks.

    Examples
    --------
    >>> import numpy as np
    >>> baseline = np.array([1.0, 1.1, 0.9, 1.0])
    >>> bool(significantly_lower(baseline - [0.1, 0.12, 0.09, 0.11], baseline))
    True
    >>> bool(significantly_lower(baseline + [-0.2, 0.1, -0.1, 0.15], baseline))
    False
    """
    # Written out rather than scipy.stats.ttest_rel, which warns when all gains are equal
    # (e.g. zero: a network that never left its start).
    gain = np.asarray(baseline) - np.asarray(losses)
    if len(gain) < 2:
        return False
    spread = gain.std(ddof=1) / np.sqrt(len(gain))
    if spread == 0:
        return bool(gain.mean() > 0)
    return bool(gain.mean() / spread > stats.t.ppf(1 - _TEST_LEVEL, len(gain) - 1))


class ValidationEarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping`` that can keep the starting network and sits out epochs
    without a validation score.

    A fresh network is scored on the validation rows before the first epoch
    ("epoch 0") and competes with the trained epochs. The best trained epoch is
    kept only if it beats the start significantly: its loss on blocks of the
    validation rows is lower than the start's in a one-sided paired t-test at
    level 0.05. Otherwise the starting weights are restored. With the PCA start
    of ``AutoencoderTransformer`` this keeps PCA wherever training only fits
    the training rows better (small data, many components), while on a few
    validation rows a lucky epoch cannot win by chance.

    ``partial_fit`` trains without held-out rows (as scikit-learn's MLP does), also
    on a network first fitted with ``early_stopping=True``. It also copes with a
    history left empty by :class:`DivergenceGuard`.

    Attributes
    ----------
    kept_start_ : bool
        Whether the last fit ended with the starting weights.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.kept_start_ = False
        self.start_weights_ = self.start_losses_ = None
        self._valid = net.get_split_datasets(X, y)[1]
        if len(net.history) or self._valid is None:
            return
        self.start_weights_ = deepcopy(net.module_.state_dict())
        self.start_losses_, rows = block_losses(net, self._valid)
        # The start's validation loss is the row-weighted mean of its block losses.
        start_loss = float(np.average(self.start_losses_, weights=rows))
        self.dynamic_threshold_ = self._calc_new_threshold(start_loss)
        self.best_model_weights_ = self.start_weights_

    def on_epoch_end(self, net, **kwargs):
        if self.monitor in net.history[-1]:
            super().on_epoch_end(net, **kwargs)

    def on_train_end(self, net, **kwargs):
        # The divergence guard may have dropped the only epoch.
        if not len(net.history):
            return
        super().on_train_end(net, **kwargs)
        # Neither the validation rows nor a second copy of the weights belong to the model.
        valid, self._valid = self._valid, None
        start, self.start_weights_ = self.start_weights_, None
        if start is None:
            return
        if self.best_epoch_ == 0 or not significantly_lower(
            block_losses(net, valid)[0], self.start_losses_
        ):
            net.module_.load_state_dict(start)
            self.best_epoch_, self.kept_start_ = 0, True


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
