"""Checkpoints that let an interrupted ``fit`` resume where it stopped.

A fit with ``checkpoint_dir`` set saves its training state after every epoch to
a file named after a hash of the estimator's parameters, the training data and
the starting weights. Calling ``fit`` again with the same settings and data
finds that file and trains only the epochs that are left, so parallel fits
(a grid search) can share one directory. The file is removed once the fit
completes.
"""

import os

import joblib
import numpy as np
import torch
from skorch.callbacks import Callback

from ._callbacks import early_stopper

# Parameters that do not change what is learned: a resumed fit may differ in them.
_NOT_FINGERPRINTED = {"checkpoint_dir", "callbacks", "verbose", "device"}


def checkpoint_file(directory, model_name, params, X, condition, net=None):
    """Path of the checkpoint of fitting a model on X (from ``net``'s weights, if given).

    Parameters
    ----------
    directory : str or path
        The folder of the checkpoints (``checkpoint_dir``).
    model_name : str
        The estimator's class name, which starts the file name.
    params : dict
        The estimator's parameters; those that do not change what is learned
        (the folder, callbacks, verbosity, device) are left out of the hash.
    X, condition : ndarray or None
        The training rows and their per-row condition.
    net : skorch.NeuralNet or None, default=None
        The network a warm start continues from.

    Returns
    -------
    path : str

    Examples
    --------
    >>> import numpy as np
    >>> params = {"max_iter": 5, "verbose": 0}
    >>> path = checkpoint_file("ckpt", "AutoencoderTransformer", params, np.zeros((4, 2)), None)
    >>> path.startswith("ckpt") and path.endswith(".pt")
    True
    """
    fingerprinted = {key: value for key, value in params.items() if key not in _NOT_FINGERPRINTED}
    start = None if net is None else (net.module_.state_dict(), len(net.history))
    digest = joblib.hash((model_name, fingerprinted, X, condition, start))
    return os.path.join(os.fspath(directory), f"{model_name}-{digest}.pt")


def read_checkpoint(path):
    """The training state saved at ``path``, or None when there is none.

    Examples
    --------
    >>> read_checkpoint("no/such/file.pt") is None
    True
    """
    if not os.path.exists(path):
        return None
    try:
        # weights_only: the file holds tensors and plain Python data only, and torch's
        # restricted unpickler refuses anything else, so a file planted in a shared
        # checkpoint_dir cannot run code. Loaded to the CPU: random generator states must stay
        # there, and load_state_dict copies weights and optimizer state onto the device.
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(
            f"Could not read the checkpoint {path}: it is damaged, or holds more than tensors "
            f"and plain data, which a checkpoint of sklearn-ae never does ({reason}). Delete it "
            "to start the fit afresh."
        ) from None


# Early-stopping state that a resumed fit needs to stop where an uninterrupted one would.
_EARLY_STOPPING_STATE = (
    "misses_",
    "dynamic_threshold_",
    "best_epoch_",
    "best_model_weights_",
    "start_weights_",
    "start_losses_",
)


def plain_data(value):
    """``value`` with numpy scalars and arrays turned into Python numbers and lists.

    What torch's restricted loader (``weights_only=True``) reads back: tensors,
    containers and Python scalars, nothing that names a class.

    Examples
    --------
    >>> import numpy as np
    >>> plain_data({"loss": np.float64(0.5), "blocks": np.array([1.0, 2.0])})
    {'loss': 0.5, 'blocks': [1.0, 2.0]}
    """
    if isinstance(value, dict):
        return {key: plain_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain_data(item) for item in value)
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return value


class TrainingCheckpoint(Callback):
    """Save the whole training state after every epoch, and restore it when resuming.

    One file holds the module, criterion and optimizer states, the history,
    the random generator states and the early-stopping state, so a resumed
    fit continues exactly where the saved one was: on CPU it ends with the
    same weights as a fit that was never interrupted. The file is written to
    a temporary name and renamed, so a crash while saving leaves the previous
    checkpoint intact. (skorch's ``Checkpoint`` writes several files in turn
    and does not save random states.)

    The estimator calls :meth:`start` before training and :meth:`stop` after;
    outside a fit the callback is inert.

    Examples
    --------
    >>> TrainingCheckpoint().path is None
    True
    """

    def __init__(self):
        self.path = None
        self.pending = None

    def start(self, path, state=None):
        """Save to ``path`` during the next training run, after restoring ``state`` if given."""
        self.path, self.pending = path, state

    def stop(self):
        """Stop saving (the estimator pickles the net; the path is not part of the model)."""
        self.path = self.pending = None

    def on_train_begin(self, net, **kwargs):
        # Runs after every other callback's on_train_begin (it is the last one), so the
        # restored early-stopping state is not reset again.
        if self.pending is None:
            return
        state, self.pending = self.pending, None
        net.module_.load_state_dict(state["module"])
        net.criterion_.load_state_dict(state["criterion"])
        net.optimizer_.load_state_dict(state["optimizer"])
        net.history.clear()
        net.history.extend(state["history"])
        stopper = early_stopper(net)
        if stopper is not None:
            for name in _EARLY_STOPPING_STATE:
                setattr(stopper, name, state["early_stopping"][name])
            if stopper.start_losses_ is not None:
                stopper.start_losses_ = np.asarray(stopper.start_losses_)
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], device=net.device)

    def on_epoch_end(self, net, **kwargs):
        if self.path is None:
            return
        stopper = early_stopper(net)
        cuda = torch.device(net.device).type == "cuda"
        state = {
            "module": net.module_.state_dict(),
            "criterion": net.criterion_.state_dict(),
            "optimizer": net.optimizer_.state_dict(),
            "history": plain_data(list(net.history)),
            "early_stopping": None
            if stopper is None
            else plain_data({name: getattr(stopper, name) for name in _EARLY_STOPPING_STATE}),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(net.device) if cuda else None,
        }
        partial = f"{self.path}.partial"
        torch.save(state, partial)
        os.replace(partial, self.path)
