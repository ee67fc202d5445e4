"""A training session: build a skorch net from training settings, run it, report how it ended.

skorch runs the loop. This module adds what a scikit-learn user expects
around it: a seeded run that leaves torch's global generator alone, a held-out
split for early stopping, resuming from a checkpoint, the end of training by
Ctrl-C, divergence or early stopping told apart, and the history turned into
``n_iter_``, ``loss_curve_`` and ``validation_scores_``. ``net.history`` holds
training epochs only, so its length is the epoch number a user sees.
"""

import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, fields
from inspect import signature

import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import PassthroughScoring
from skorch.helper import predefined_split
from skorch.utils import noop

from ._architectures import has_batch_norm
from ._callbacks import (
    DivergenceGuard,
    SubnormalFlush,
    ValidationEarlyStopping,
    best_epoch_restored,
    early_stopper,
)
from ._data import BatchIterator
from ._nets import ObjectiveNet, logged_terms

# ``optimizer=...`` of both estimators. Those that offer a fused step (one kernel for all
# parameters instead of a Python loop over them) use it: on a 455 x 30 table with a (64,)
# network it cut a 200-epoch fit from 0.94 s to 0.80 s with the same test error
# (benchmarks/small_data.py).
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


@contextmanager
def seeded_torch(seed, device="cpu"):
    """Run a block with torch's random generator seeded; restore the previous state after.

    Examples
    --------
    >>> import torch
    >>> with seeded_torch(0):
    ...     a = torch.rand(1)
    >>> with seeded_torch(0):
    ...     b = torch.rand(1)
    >>> bool(a == b)
    True
    """
    device = torch.device(device)
    cuda = [] if device.type == "cpu" else [device.index or 0]
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(int(seed))
        yield


def split_validation(data, fraction, rng):
    """Split a TensorDataset into training rows and ``fraction`` held-out validation rows."""
    n_valid = max(1, round(fraction * len(data)))
    if n_valid >= len(data):
        raise ValueError(
            f"early_stopping with validation_fraction={fraction} leaves no training rows out "
            f"of {len(data)}; lower validation_fraction or pass more rows."
        )
    order = torch.as_tensor(rng.permutation(len(data)), device=data.X.device)
    return data.subset(order[n_valid:]), data.subset(order[:n_valid])


def auto_batch_size(n_rows):
    """The rows per step of ``batch_size="auto"``: a 32nd of the rows, from 16 to 128.

    Why: an epoch of 128-row batches is one step on 120 rows, so a fit of
    100 epochs on a small table takes 100 steps and ends far from converged;
    a 32nd of the rows gives every epoch at least 32 steps (on up to 4,096
    rows), and larger data keep 128. The floor of 16 keeps a step's gradient
    from resting on a handful of rows.

    Examples
    --------
    >>> auto_batch_size(120), auto_batch_size(1437), auto_batch_size(60000)
    (16, 44, 128)
    """
    return min(128, max(16, n_rows // 32))


@dataclass(frozen=True)
class TrainingSettings:
    """The estimator parameters a training session reads; the other parameters build the model.

    Examples
    --------
    >>> TrainingSettings.from_params({"max_iter": 5, "batch_size": 32, "unused": 1}).max_iter
    5
    >>> TrainingSettings.from_params({"batch_size": "auto"}, n_rows=1437).batch_size
    44
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 128
    max_iter: int = 100
    n_iter_no_change: int = 10
    tol: float = 1e-4
    verbose: int = 0

    @classmethod
    def from_params(cls, params, n_rows=None):
        """The settings among ``params`` (an estimator's ``get_params()``); others keep defaults.

        ``batch_size="auto"`` becomes :func:`auto_batch_size` of ``n_rows``, the rows passed to fit.
        """
        settings = {f.name: params[f.name] for f in fields(cls) if f.name in params}
        if settings.get("batch_size") == "auto":
            settings["batch_size"] = auto_batch_size(n_rows)
        return cls(**settings)


def make_net(settings, module, module_params, criterion, objective, penalties=(), **options):
    """An uninitialised :class:`ObjectiveNet` trained with ``settings``.

    Parameters
    ----------
    settings : TrainingSettings
        The optimizer, learning rate, weight decay, batch size, epochs,
        verbosity and early-stopping patience.
    module : type
        The ``nn.Module`` class; ``module_params`` are its arguments.
    module_params : dict
        Arguments of ``module``.
    criterion : nn.Module
        The reconstruction likelihood.
    objective : callable
        See ``sklearn_ae._objectives``.
    penalties : sequence of Penalty, default=()
        See ``sklearn_ae._penalties``.
    **options
        ``device``, ``max_epochs`` (default ``settings.max_iter``),
        ``early_stopping`` (bool), ``min_batch_size`` and ``callbacks``
        (extra, after the built-in ones).

    Returns
    -------
    net : ObjectiveNet
    """
    callbacks = [("divergence_guard", DivergenceGuard()), ("subnormal_flush", SubnormalFlush())]
    callbacks += [
        (f"train_{name}", PassthroughScoring(f"train_{name}", on_train=True))
        for name in logged_terms(objective, penalties)
    ]
    if options.get("early_stopping"):
        stopper = ValidationEarlyStopping(
            patience=settings.n_iter_no_change,
            threshold=settings.tol,
            load_best=True,
            sink=print if settings.verbose else noop,
        )
        callbacks.append(("early_stopping", stopper))
    optimizer = OPTIMIZERS[settings.optimizer]
    fused = {"optimizer__fused": True} if "fused" in signature(optimizer).parameters else {}
    # Without verbose output, no PrintLog: it formats a table every epoch even when silent.
    silent = {} if settings.verbose else {"callbacks__print_log": None}
    return ObjectiveNet(
        module,
        **{f"module__{key}": value for key, value in module_params.items()},
        criterion=criterion,
        objective=objective,
        penalties=list(penalties),
        optimizer=optimizer,
        **fused,
        **silent,
        optimizer__weight_decay=settings.weight_decay,
        lr=settings.learning_rate,
        max_epochs=options.get("max_epochs", settings.max_iter),
        batch_size=settings.batch_size,
        iterator_train=BatchIterator,
        iterator_train__shuffle=True,
        iterator_train__min_batch_size=options.get("min_batch_size", 1),
        iterator_train__labeled_fraction=getattr(objective, "labeled_fraction", 0.0),
        iterator_valid=BatchIterator,
        train_split=None,
        callbacks=callbacks + list(options.get("callbacks", ())),
        device=options.get("device", "cpu"),
        verbose=settings.verbose,
    )


def check_trainable(net, n_train):
    """Raise ValueError when ``net`` cannot train on ``n_train`` rows in its batches.

    Batch normalisation needs two rows per batch, and mixes the rows of a
    batch, which a penalty that needs independent rows cannot allow.
    """
    if not has_batch_norm(net.module_):
        return
    if min(net.batch_size, n_train) < 2:
        raise ValueError(
            "batch_norm=True needs at least 2 rows per training batch, but batch_size is "
            f"{net.batch_size} and there are {n_train} training rows; raise them or "
            "set batch_norm=False."
        )
    if any(penalty.needs_independent_rows for penalty in net.penalties):
        raise ValueError(
            "contractive_weight needs rows that do not interact, but batch_norm mixes the "
            "rows of a batch; set batch_norm=False."
        )


@dataclass
class TrainingOutcome:
    """How a call of :func:`train` ended.

    Attributes
    ----------
    interrupted : bool
        The user stopped it (Ctrl-C, or a callback raising KeyboardInterrupt).
    diverged_epoch : int or None
        The epoch whose loss became NaN or infinite.
    epochs_before, epochs_after : int
        Length of the history before and after.
    checkpoint : str or None
        The checkpoint file, kept after an interrupt.
    """

    interrupted: bool
    diverged_epoch: int | None
    epochs_before: int
    epochs_after: int
    checkpoint: str | None = None


def settle_after_training(net, target_epochs, validated):
    """Tidy up after skorch's training loop returned; return True if the user interrupted it.

    skorch ends training quietly on ``KeyboardInterrupt``, which early stopping,
    the divergence guard and the user (Ctrl-C) all raise. An epoch cut short is
    dropped from the history and the weights it started from are restored
    (early stopping has already restored its best weights, when it has any). The
    user stopped training when fewer epochs than asked ran while neither early
    stopping nor the divergence guard ended it.
    """
    guard, stopper = dict(net.callbacks_)["divergence_guard"], early_stopper(net)
    last = net.history[-1] if len(net.history) else None
    if last is not None and ("train_loss" not in last or (validated and "valid_loss" not in last)):
        net.history.pop()
        if best_epoch_restored(net) is None:
            net.module_.load_state_dict(guard.weights_)
    stopped = stopper is not None and getattr(stopper, "misses_", 0) >= stopper.patience
    diverged = guard.diverged_epoch_ is not None
    return len(net.history) < target_epochs and not (stopped or diverged)


def train(net, train_data, valid_data, epochs, checkpoint=None, state=None):
    """Train an initialised net ``epochs`` more epochs, or what is left of them after ``state``.

    Parameters
    ----------
    net : ObjectiveNet
        Initialised; its ``"checkpoint"`` callback saves to ``checkpoint``.
    train_data, valid_data : TensorDataset
        Training rows, and validation rows or None.
    epochs : int
        Epochs to add to the history.
    checkpoint : str or None, default=None
        File to save the training state to after every epoch; removed when
        training completes.
    state : dict or None, default=None
        A saved training state to resume from (see ``sklearn_ae._checkpoint``).

    Returns
    -------
    outcome : TrainingOutcome
    """
    epochs_before = len(net.history)
    target = epochs_before + epochs
    if state is not None:
        epochs = target - len(state["history"])
        if net.verbose:
            print(f"Resuming from {checkpoint}: {epochs} of {target - epochs_before} epochs left.")
    saver = dict(net.callbacks_)["checkpoint"]
    if checkpoint is not None:
        os.makedirs(os.path.dirname(checkpoint), exist_ok=True)
        saver.start(checkpoint, state)
    net.set_params(train_split=None if valid_data is None else predefined_split(valid_data))
    try:
        net.partial_fit(train_data, epochs=epochs)
    finally:
        saver.stop()
        # The validation rows are not part of the model: do not pickle them.
        net.set_params(train_split=None)
    interrupted = settle_after_training(net, target, validated=valid_data is not None)
    if not interrupted and checkpoint is not None and os.path.exists(checkpoint):
        os.remove(checkpoint)
    guard = dict(net.callbacks_)["divergence_guard"]
    return TrainingOutcome(
        interrupted, guard.diverged_epoch_, epochs_before, len(net.history), checkpoint
    )


def history_attributes(net, validated):
    """``n_iter_``, ``loss_curve_`` and, when validated, ``validation_scores_`` from the history.

    Examples
    --------
    >>> class Net:
    ...     history = [{"train_loss": 0.5, "valid_loss": 0.7}]
    >>> history_attributes(Net(), validated=True)
    {'n_iter_': 1, 'loss_curve_': [0.5], 'validation_scores_': [-0.7]}
    """
    attributes = {
        "n_iter_": len(net.history),
        "loss_curve_": [row["train_loss"] for row in net.history],
    }
    if validated:
        attributes["validation_scores_"] = [
            -float(row["valid_loss"]) for row in net.history if "valid_loss" in row
        ]
    return attributes


def initialize_and_train(net, initialize, train_data, valid_data, epochs, checkpoint, state):
    """Run ``initialize()`` (a new network's data-dependent start, or None), then :func:`train`.

    Returns the :class:`TrainingOutcome`, or None when the user interrupted the
    initialisation, which leaves the network untrained (with a warning).
    """
    try:
        if initialize is not None:
            initialize()
    except KeyboardInterrupt:
        warn_interrupted(net, "while initialising the network; it was not trained")
        return None
    return train(net, train_data, valid_data, epochs, checkpoint, state)


def warn_interrupted(net, when, advice=""):
    """Warn that training was interrupted ``when``, naming the weights the model keeps."""
    best_epoch = best_epoch_restored(net)
    if best_epoch == 0:
        kept = "its starting weights, which no trained epoch beat on validation"
    elif best_epoch is not None:
        kept = f"the weights of epoch {best_epoch}, the best on validation"
    elif len(net.history):
        kept = f"the weights of epoch {len(net.history)}, the last complete one"
    else:
        kept = "its initial weights"
    warnings.warn(
        f"Training was interrupted (KeyboardInterrupt) {when}. The estimator is usable "
        f"and keeps {kept}. {advice}".rstrip(),
        ConvergenceWarning,
        stacklevel=4,
    )


def report(outcome, net):
    """Warn about an interrupt or a divergence; raise ValueError if no epoch completed.

    Parameters
    ----------
    outcome : TrainingOutcome or None
        What :func:`train` returned; None (an interrupted initialisation,
        already reported) does nothing.
    net : ObjectiveNet
        The trained net.
    """
    if outcome is None:
        return
    if outcome.interrupted:
        advice = (
            "Calling fit again with the same settings and data resumes from the "
            f"checkpoint {outcome.checkpoint}."
            if outcome.checkpoint
            else ""
        )
        warn_interrupted(net, f"after {outcome.epochs_after} epochs", advice)
    if outcome.diverged_epoch is None:
        return
    advice = (
        f"Lower learning_rate (now {net.lr}) or scale X, e.g. with StandardScaler or MinMaxScaler."
    )
    if outcome.epochs_after == outcome.epochs_before:
        raise ValueError(
            f"Training diverged: the loss became NaN or infinite in epoch "
            f"{outcome.diverged_epoch}, before any epoch completed. {advice}"
        )
    warnings.warn(
        f"Training diverged in epoch {outcome.diverged_epoch} (the loss became NaN or "
        f"infinite); stopped and kept the weights of epoch {outcome.epochs_after}. {advice}",
        ConvergenceWarning,
        stacklevel=4,
    )
