"""Machinery shared by the autoencoder estimators.

The base class owns everything that is not specific to one model: parameter
and input validation, device and seeding, building and training the skorch net,
batched inference, dtype handling, feature names and sampling. A subclass says
which module, criterion and penalties to use and how to draw codes.
"""

import inspect
import math
import numbers
import os
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch.callbacks import PassthroughScoring
from skorch.helper import predefined_split
from skorch.utils import noop

from ._architectures import ACTIVATIONS, ConvArchitecture, MLPArchitecture
from ._callbacks import (
    DivergenceGuard,
    SubnormalFlush,
    ValidationEarlyStopping,
    best_epoch_restored,
    early_stopper,
)
from ._checkpoint import TrainingCheckpoint, checkpoint_file, read_checkpoint
from ._data import BatchIterator, TensorDataset
from ._inference import map_row_chunks
from ._nets import AutoencoderNet
from ._threads import torch_threads_for_task

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}

_FLOAT_DTYPES = [np.float64, np.float32]

_MAX_SEED = np.iinfo(np.int32).max

SHARED_PARAMETERS_DOC = """\
    architecture : {"mlp", "conv"}, default="mlp"
        ``"mlp"``: fully connected layers of ``hidden_layer_sizes``. ``"conv"``:
        for images, 3x3 convolutions of stride 2 with ``conv_channels``
        channels down to a dense code, transposed convolutions back up (any
        image size: odd sizes are rounded up going down and cropped coming back).
        Rows stay flat: give ``image_shape``, or pass a 3-D (n, height, width)
        or 4-D (n, channels, height, width) array, which is flattened.

    image_shape : tuple of int or None, default=None
        (height, width) or (channels, height, width) of one row, for
        ``architecture="conv"``. None takes the shape of a 3-D/4-D input, or
        a square when n_features is a square number (64 is 8x8, 784 is
        28x28), or else a 1 x n_features strip.

    conv_channels : tuple of int, default=(32, 64)
        Channels of the convolutions, input side first (``architecture="conv"``).

    batch_norm : bool, default=False
        Batch normalisation after every convolution (``architecture="conv"``).

    hidden_layer_sizes : tuple of int, default=(512, 256)
        Widths of the encoder's hidden layers, input side first; the decoder
        mirrors them. ``()`` gives a linear autoencoder. The default, with
        ``weight_decay=1e-5``, was chosen on held-out digits and MNIST
        (``benchmarks/reconstruction.py``); smaller nets train faster.

    activation : {"relu", "tanh", "sigmoid", "elu", "gelu", "identity"}, default="relu"
        Activation of the hidden layers.

    noise : {"gaussian", "masking"} or None, default=None
        Corruption of the inputs during training (a denoising model); the
        loss still compares the reconstruction with the clean input, and
        ``transform`` never adds noise. ``"gaussian"`` adds noise of standard
        deviation ``noise_level`` and, when the training data lie in [0, 1],
        clips the result to [0, 1]. ``"masking"`` sets a random fraction
        ``noise_level`` of the inputs to zero.

    noise_level : float, default=0.1
        Standard deviation (``"gaussian"``, in units of the input) or
        fraction of masked inputs (``"masking"``, below 1).

    max_iter : int, default=100
        Number of epochs (passes over the training data) of each ``fit``.

    batch_size : int, default=128
        Rows per gradient step.

    learning_rate : float, default=1e-3
        Step size of the optimizer.

    optimizer : {"adam", "adamw", "sgd", "rmsprop"}, default="adam"
        The ``torch.optim`` optimizer.

    weight_decay : float, default=1e-5
        L2 penalty on the weights, applied by the optimizer. A little of it
        curbs overfitting on small data sets; 1e-4 already stops learning.

    early_stopping : bool, default={early_stopping_default}
        Hold out ``validation_fraction`` of the training rows, stop when the
        validation loss has not improved by a relative ``tol`` for
        ``n_iter_no_change`` epochs, and restore the weights of the best epoch.
        The starting network competes too: the trained weights are kept only
        if their loss on blocks of the validation rows beats the start's in a
        one-sided paired t-test at level 0.05; otherwise the start is restored.
        {early_stopping_note}

    validation_fraction : float, default=0.1
        Fraction of rows held out when ``early_stopping=True``.

    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.

    tol : float, default=1e-4
        Minimum relative improvement of the validation loss that resets the
        patience.

    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks (instances or ``(name, callback)`` tuples) for the
        underlying :class:`skorch.NeuralNet`, e.g. ``skorch.callbacks.ProgressBar()``
        or ``skorch.callbacks.LRScheduler(...)``.

    device : str, default="cpu"
        Torch device to train on: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or
        ``"auto"`` (CUDA when available). A model trained on a GPU loads on a
        CPU-only machine.

    verbose : int, default=0
        0 is silent; 1 or more prints one line of losses per epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the noise, the shuffling, the
        validation split and the code density. With an int, two fits on the
        same data give identical models on CPU. Torch's global random state is
        left untouched.

    warm_start : bool, default=False
        When True, ``fit`` continues training the current network for
        ``max_iter`` more epochs instead of starting anew."""

SHARED_ATTRIBUTES_DOC = """\
    net_ : skorch.NeuralNet
        The trained network; ``net_.module_`` is the ``torch.nn.Module`` and
        ``net_.history`` the per-epoch log.

    n_iter_ : int
        Number of epochs trained so far (all ``fit`` calls of a warm start).

    loss_curve_ : list of float
        Training loss of every epoch.

    validation_scores_ : list of float
        Negative validation loss of every epoch; only with ``early_stopping=True``.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features seen during ``fit``, when X has string column names.

    image_shape_ : tuple of int or None
        (channels, height, width) of one row as the model sees it; None for
        ``architecture="mlp"`` without image input."""


def fill_shared_docs(cls):
    """Insert the shared parameter and attribute docs into ``cls.__doc__``.

    ``cls._early_stopping_note`` completes the ``early_stopping`` entry, whose
    default differs between the estimators.
    """
    parameters = SHARED_PARAMETERS_DOC.replace(
        "{early_stopping_default}", str(inspect.signature(cls).parameters["early_stopping"].default)
    ).replace("{early_stopping_note}", cls._early_stopping_note)
    cls.__doc__ = cls.__doc__.replace("    {shared_parameters}", parameters).replace(
        "    {shared_attributes}", SHARED_ATTRIBUTES_DOC
    )
    return cls


def resolve_device(device):
    """Return the torch device string for the ``device`` parameter, or raise ValueError.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:N' or 'auto'."
        ) from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but PyTorch finds no CUDA GPU on this "
            "machine. Use device='cpu', or device='auto' to use a GPU only when present."
        )
    return device


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


def check_layer_sizes(hidden_layer_sizes):
    """Return ``hidden_layer_sizes`` as a tuple of positive ints, or raise ValueError.

    Examples
    --------
    >>> check_layer_sizes([64, 32])
    (64, 32)
    """
    sizes = tuple(np.ravel(hidden_layer_sizes).tolist()) if len(hidden_layer_sizes) else ()
    if not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
        raise ValueError(
            "hidden_layer_sizes must be a sequence of positive integers, "
            f"got {hidden_layer_sizes!r}."
        )
    return sizes


def as_rows(X):
    """Flatten a 3-D (n, H, W) or 4-D (n, C, H, W) image array to rows; return it and the shape.

    Examples
    --------
    >>> import numpy as np
    >>> rows, shape = as_rows(np.zeros((5, 8, 8)))
    >>> rows.shape, shape
    ((5, 64), (8, 8))
    """
    if getattr(X, "ndim", 2) in (3, 4):
        return np.reshape(X, (X.shape[0], -1)), tuple(X.shape[1:])
    return X, None


def resolve_image_shape(image_shape, n_features):
    """(channels, height, width) from the ``image_shape`` parameter, or a default for n_features.

    Examples
    --------
    >>> resolve_image_shape(None, 784), resolve_image_shape((8, 8), 64)
    ((1, 28, 28), (1, 8, 8))
    >>> resolve_image_shape(None, 5)
    (1, 1, 5)
    """
    if image_shape is None:
        side = math.isqrt(n_features)
        image_shape = (side, side) if side * side == n_features else (1, n_features)
    shape = tuple(int(s) for s in np.ravel(image_shape))
    shape = (1, *shape) if len(shape) == 2 else shape
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            "image_shape must be (height, width) or (channels, height, width) of positive "
            f"integers, got {image_shape!r}."
        )
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape {shape} has {math.prod(shape)} pixels, but X has {n_features} features."
        )
    return shape


def validate_numeric(estimator, X, **kwargs):
    """``validate_data`` to float rows; a column of text gets an error that says what to do.

    Examples
    --------
    >>> from sklearn_ae import AutoencoderTransformer
    >>> validate_numeric(AutoencoderTransformer(), [[0, 1], [2, 3]]).dtype
    dtype('float64')
    """
    try:
        # order="C": torch cannot wrap arrays with negative strides (X[::-1]).
        return validate_data(estimator, X, dtype=_FLOAT_DTYPES, order="C", **kwargs)
    except ValueError as error:
        if "could not convert" not in str(error):
            raise
        raise ValueError(
            f"X must be numeric, but {error}. Encode text and categorical columns first, "
            "e.g. with OneHotEncoder in a ColumnTransformer."
        ) from None


def warn_if_constant(X):
    """Warn once, in the user's terms, when every training row is the same.

    Examples
    --------
    >>> import numpy as np, warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_if_constant(np.zeros((5, 3)))
    >>> print(caught[0].message)
    All 5 training rows are the same (X has no variance): ...
    """
    if len(X) > 1 and not np.ptp(X, axis=0).any():
        warnings.warn(
            f"All {len(X)} training rows are the same (X has no variance): the model can only "
            "learn to output that row, and its codes carry no information.",
            UserWarning,
            stacklevel=5,
        )


def training_epochs(history):
    """The rows of a skorch history that record training epochs (pretraining rows have a "phase").

    Examples
    --------
    >>> training_epochs([{"phase": "pretrain layer 1"}, {"train_loss": 0.1}])
    [{'train_loss': 0.1}]
    """
    return [row for row in history if "phase" not in row]


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
    return len(training_epochs(net.history)) < target_epochs and not (stopped or diverged)


def check_n_columns(Z, expected, method, what):
    """Raise ValueError unless the 2-D array ``Z`` has ``expected`` columns."""
    if Z.shape[1] != expected:
        raise ValueError(
            f"{method} expects {expected} columns ({what}), but the input has {Z.shape[1]}."
        )


class BaseAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base of the autoencoder estimators; not for direct use.

    Subclasses implement ``_module_spec`` (the ``nn.Module`` and its
    arguments), ``_criterion`` (the reconstruction likelihood), ``_objective``
    (the net's loss parameters and the loss terms it logs) and
    ``_sample_codes``; they may override ``_check_training_data``,
    ``_condition`` (per-row inputs besides X, e.g. one-hot labels) and
    ``_after_fit``.
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "architecture": [StrOptions({"mlp", "conv"})],
        "image_shape": [None, "array-like"],
        "conv_channels": ["array-like"],
        "batch_norm": ["boolean"],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "noise": [None, StrOptions({"gaussian", "masking"})],
        "noise_level": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "callbacks": [None, list, tuple],
        "device": [str],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "checkpoint_dir": [None, str, os.PathLike],
    }

    _net_class = AutoencoderNet

    # ---- fitting -------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; at least 2 rows, no NaN or infinity.
        y : None
            Ignored; present for Pipeline compatibility.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, partial=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train on one chunk of rows: one epoch (one pass) over X.

        Calling it once per chunk trains on data that need not fit in memory:
        chunks read from a ``numpy.memmap``, yielded by a generator, or the
        blocks of a dask array through ``dask_ml.wrappers.Incremental``. The
        first call builds the network from its chunk as ``fit`` would (the PCA
        start and greedy pretraining use that chunk); later calls continue
        training it, whatever ``warm_start`` says. ``max_iter`` and early
        stopping do not apply (there are no held-out rows), nor does
        ``checkpoint_dir``: save the estimator between chunks instead. With an
        int ``random_state`` each call draws its own shuffle and noise,
        reproducibly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One chunk of training data, no NaN or infinity.
        y : None
            Ignored; present for API compatibility.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        return self._fit(X, y, partial=True)

    def _fit(self, X, y, partial, classes=None):
        """Validate, build the network unless continuing, and train (one epoch if ``partial``)."""
        continuing = hasattr(self, "net_") and (partial or self.warm_start)
        X, seen_shape = as_rows(X)
        X = validate_numeric(self, X, ensure_min_samples=1 if partial else 2, reset=not continuing)
        warn_if_constant(X)
        self._check_training_data(X)
        condition = self._condition(y, len(X), fitting=not continuing, classes=classes)
        check_layer_sizes(self.hidden_layer_sizes)
        if not continuing:
            self.image_shape_ = self._image_shape(X.shape[1], seen_shape)
        if self.noise == "masking" and self.noise_level >= 1:
            raise ValueError(f"noise='masking' needs noise_level below 1, got {self.noise_level}.")
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        seed = rng.randint(_MAX_SEED)
        if partial and continuing:
            # With an int random_state every call draws the same seed; offset it so that
            # each chunk gets its own shuffle and noise.
            seed = (seed + self.n_iter_) % _MAX_SEED
        data = TensorDataset(
            torch.tensor(X, dtype=torch.float32, device=device),
            None if condition is None else torch.tensor(condition, device=device),
        )
        train, valid = (data, None) if partial else self._split(data, rng)
        if self._uses_batch_norm() and min(self.batch_size, len(train)) < 2:
            raise ValueError(
                "batch_norm=True needs at least 2 rows per training batch, but batch_size is "
                f"{self.batch_size} and there are {len(train)} training rows; raise them or "
                "set batch_norm=False."
            )
        checkpoint, state = None, None
        if self.checkpoint_dir is not None and not partial:
            checkpoint = checkpoint_file(self, X, condition, self.net_ if continuing else None)
            state = read_checkpoint(checkpoint)
        with seeded_torch(seed, device), torch_threads_for_task():
            if not continuing:
                self.net_ = self._build_net(X, device, self.early_stopping and not partial)
            try:
                if not continuing and state is None:
                    self._initialize_module(self.net_, X)
            except KeyboardInterrupt:
                self._record_history(valid)
                self._warn_interrupted("while initialising the network; it was not trained")
            else:
                self._train(train, valid, 1 if partial else self.max_iter, checkpoint, state)
        self._after_fit(X, condition, rng)
        return self

    def _split(self, data, rng):
        """Split off the early-stopping validation rows."""
        if not self.early_stopping:
            return data, None
        n_valid = max(1, round(self.validation_fraction * len(data)))
        if n_valid >= len(data):
            raise ValueError(
                f"early_stopping with validation_fraction={self.validation_fraction} leaves no "
                f"training rows out of {len(data)}; lower validation_fraction or pass more rows."
            )
        order = torch.as_tensor(rng.permutation(len(data)), device=data.X.device)
        return data.subset(order[n_valid:]), data.subset(order[:n_valid])

    def _uses_batch_norm(self):
        return self.architecture == "conv" and self.batch_norm

    def _image_shape(self, n_features, seen_shape):
        shape = self.image_shape if self.image_shape is not None else seen_shape
        if shape is None and self.architecture == "mlp":
            return None
        return resolve_image_shape(shape, n_features)

    def _architecture(self):
        """The network body for the architecture parameters."""
        if self.architecture == "conv":
            channels = check_layer_sizes(self.conv_channels)
            if not channels:
                raise ValueError("architecture='conv' needs at least one entry in conv_channels.")
            return ConvArchitecture(self.image_shape_, channels, self.activation, self.batch_norm)
        return MLPArchitecture(check_layer_sizes(self.hidden_layer_sizes), self.activation)

    def _build_net(self, X, device, early_stopping):
        """The initialized skorch net, before any data-dependent initialisation."""
        module, module_params = self._module_spec(X)
        objective_params, logged = self._objective()
        net = self._make_net(
            module,
            module_params,
            self._criterion(X),
            objective_params,
            device,
            max_epochs=self.max_iter,
            logged=logged,
            early_stopping=early_stopping,
            # Last, so that it saves what every other callback did in the epoch.
            extra_callbacks=[*(self.callbacks or []), ("checkpoint", TrainingCheckpoint())],
        )
        return net.initialize()

    def _make_net(
        self,
        module,
        module_params,
        criterion,
        objective_params,
        device,
        max_epochs,
        logged=(),
        early_stopping=False,
        extra_callbacks=(),
    ):
        """A skorch net with this estimator's training settings (not yet initialized)."""
        callbacks = [("divergence_guard", DivergenceGuard()), ("subnormal_flush", SubnormalFlush())]
        callbacks += [
            (f"train_{name}", PassthroughScoring(f"train_{name}", on_train=True)) for name in logged
        ]
        if early_stopping:
            stopper = ValidationEarlyStopping(
                patience=self.n_iter_no_change,
                threshold=self.tol,
                load_best=True,
                sink=print if self.verbose else noop,
            )
            callbacks.append(("early_stopping", stopper))
        return self._net_class(
            module,
            **{f"module__{key}": value for key, value in module_params.items()},
            criterion=criterion,
            **objective_params,
            optimizer=OPTIMIZERS[self.optimizer],
            optimizer__weight_decay=self.weight_decay,
            lr=self.learning_rate,
            max_epochs=max_epochs,
            batch_size=self.batch_size,
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_train__min_batch_size=2 if self._uses_batch_norm() else 1,
            iterator_valid=BatchIterator,
            train_split=None,
            callbacks=callbacks + list(extra_callbacks),
            device=device,
            verbose=self.verbose,
        )

    def _train(self, train, valid, epochs, checkpoint=None, state=None):
        """Train ``epochs`` more epochs, or what is left of them after the saved ``state``."""
        net = self.net_
        epochs_before = len(net.history)
        target = len(training_epochs(net.history)) + epochs
        if state is not None:
            epochs = target - len(training_epochs(state["history"]))
            if self.verbose:
                print(f"Resuming from {checkpoint}: {epochs} of {self.max_iter} epochs left.")
        callbacks = dict(net.callbacks_)
        saver = callbacks["checkpoint"]
        if checkpoint is not None:
            os.makedirs(os.path.dirname(checkpoint), exist_ok=True)
            saver.start(checkpoint, state)
        net.set_params(train_split=None if valid is None else predefined_split(valid))
        try:
            net.partial_fit(train, epochs=epochs)
        finally:
            saver.stop()
            # The validation rows are not part of the model: do not pickle them.
            net.set_params(train_split=None)
        interrupted = settle_after_training(net, target, validated=valid is not None)
        self._record_history(valid)
        if interrupted:
            self._warn_interrupted(
                f"after {self.n_iter_} epochs",
                "Calling fit again with the same settings and data resumes from the "
                f"checkpoint {checkpoint}."
                if checkpoint
                else "",
            )
        elif checkpoint is not None and os.path.exists(checkpoint):
            os.remove(checkpoint)
        self._report_divergence(callbacks["divergence_guard"], epochs_before)

    def _record_history(self, valid):
        """Set ``n_iter_``, ``loss_curve_`` and ``validation_scores_`` from the net's history."""
        history = training_epochs(self.net_.history)
        self.n_iter_ = len(history)
        self.loss_curve_ = [row["train_loss"] for row in history]
        if valid is not None:
            self.validation_scores_ = [
                -float(row["valid_loss"]) for row in history if "valid_loss" in row
            ]

    def _warn_interrupted(self, when, advice=""):
        best_epoch = best_epoch_restored(self.net_)
        if best_epoch == 0:
            kept = "its starting weights, which no trained epoch beat on validation"
        elif best_epoch is not None:
            kept = f"the weights of epoch {best_epoch}, the best on validation"
        elif self.n_iter_:
            kept = f"the weights of epoch {self.n_iter_}, the last complete one"
        else:
            kept = "its initial weights"
        warnings.warn(
            f"Training was interrupted (KeyboardInterrupt) {when}. The estimator is usable "
            f"and keeps {kept}. {advice}".rstrip(),
            ConvergenceWarning,
            stacklevel=4,
        )

    def _report_divergence(self, guard, epochs_before):
        if guard.diverged_epoch_ is None:
            return
        advice = (
            f"Lower learning_rate (now {self.learning_rate}) or scale X, "
            "e.g. with StandardScaler or MinMaxScaler."
        )
        if len(self.net_.history) == epochs_before:
            del self.net_
            raise ValueError(
                f"Training diverged: the loss became NaN or infinite in epoch "
                f"{guard.diverged_epoch_}, before any epoch completed. {advice}"
            )
        warnings.warn(
            f"Training diverged in epoch {guard.diverged_epoch_} (the loss became NaN or "
            f"infinite); stopped and kept the weights of epoch {len(self.net_.history)}. {advice}",
            ConvergenceWarning,
            stacklevel=3,
        )

    # ---- hooks for subclasses --------------------------------------------------

    def _check_training_data(self, X):
        """Raise ValueError if X does not suit the model (e.g. range for BCE)."""

    def _initialize_module(self, net, X):
        """Set data-dependent initial weights of the freshly built ``net.module_`` (e.g. PCA)."""

    def _condition(self, y, n_samples, fitting=False, classes=None):
        """Per-row condition array passed to the module with X, or None (y is ignored)."""
        return None

    def _after_fit(self, X, condition, rng):
        """Fit whatever the model needs besides the network (e.g. a code density)."""

    # ---- inference -------------------------------------------------------------

    def _map_batches(self, fn, A, condition=None):
        """``fn(rows, condition_rows)`` over A in eval mode, row by row independent of the call."""
        self.net_.module_.eval()
        return map_row_chunks(fn, A, condition, self.net_.device)

    def _encode(self, X, condition=None):
        """Codes of the validated array X."""
        return self._map_batches(self.net_.module_.encode, X, condition)

    def _decode(self, Z, condition=None):
        """Rows in data space for the validated code array Z."""
        module, criterion = self.net_.module_, self.net_.criterion_
        return self._map_batches(lambda z, c: criterion.to_data(module.decode(z, c)), Z, condition)

    def _validate_rows(self, X):
        """Validate rows (or image arrays) to transform against what fit saw."""
        check_is_fitted(self)
        return validate_numeric(self, as_rows(X)[0], reset=False)

    def _validate_codes(self, Z, method):
        Z = check_array(Z, dtype=_FLOAT_DTYPES)
        check_n_columns(Z, self._n_features_out, method, "n_components")
        return Z

    def transform(self, X):
        """Encode X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            The codes, in X's float dtype.
        """
        return self._encode(self._validate_rows(X))

    def inverse_transform(self, Z):
        """Decode codes back to the input space.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)
            Codes, e.g. from ``transform`` (a DataFrame from ``set_output`` works).

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features)
            Decoded rows, in Z's float dtype.
        """
        check_is_fitted(self)
        return self._decode(self._validate_codes(Z, "inverse_transform"))

    def sample(self, n_samples=1, random_state=None):
        """Generate new rows by decoding random codes.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the draw of codes.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Generated rows (float64).
        """
        return self._generate(n_samples, random_state)

    def _generate(self, n_samples, random_state, y=None):
        """Decode ``n_samples`` codes drawn by ``_sample_codes`` (with labels y if conditional)."""
        check_is_fitted(self)
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        condition = self._condition(y, int(n_samples))
        Z = self._sample_codes(int(n_samples), check_random_state(random_state))
        return self._decode(np.asarray(Z, dtype=np.float64), condition)

    @property
    def _n_features_out(self):
        # Raises AttributeError before fit, which get_feature_names_out reports as NotFittedError.
        return self.net_.module_.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
