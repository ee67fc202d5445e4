"""The parameter constraints both estimators share, checked at the start of ``fit``.

Each string choice comes from the dict that maps it to its objects, next to
those objects, so a new choice is added in one place.
"""

import numbers
import os

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._architectures import ACTIVATIONS, ARCHITECTURES
from ._neighbor_terms import NEIGHBOR_LOSSES
from ._noise import NOISES
from ._penalties import SPARSITY_PENALTIES
from ._session import OPTIMIZERS


def positive(kind):
    return [Interval(kind, 1, None, closed="left")]


def non_negative():
    return [Interval(numbers.Real, 0, None, closed="left")]


SHARED_PARAMETER_CONSTRAINTS = {
    "n_components": positive(numbers.Integral),
    "architecture": [StrOptions(set(ARCHITECTURES)), HasMethods(["trunk", "decoder"])],
    "image_shape": [None, "array-like"],
    "conv_channels": ["array-like"],
    "batch_norm": ["boolean"],
    "hidden_layer_sizes": ["array-like"],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "noise": [None, StrOptions(set(NOISES))],
    "noise_level": non_negative(),
    "sparsity": [None, StrOptions(set(SPARSITY_PENALTIES))],
    "sparsity_weight": non_negative(),
    "sparsity_target": [Interval(numbers.Real, 0, 1, closed="neither")],
    "contractive_weight": non_negative(),
    "neighbor_loss": [None, StrOptions(set(NEIGHBOR_LOSSES))],
    "neighbor_weight": non_negative(),
    "n_neighbors": [Interval(numbers.Integral, 2, None, closed="left")],
    "placement": [StrOptions({"encoder", "neighbors"})],
    "refine_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
    "max_iter": positive(numbers.Integral),
    "batch_size": [*positive(numbers.Integral), StrOptions({"auto"})],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    "optimizer": [StrOptions(set(OPTIMIZERS))],
    "weight_decay": non_negative(),
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_iter_no_change": positive(numbers.Integral),
    "tol": non_negative(),
    "callbacks": [None, list, tuple],
    "device": [str],
    "verbose": ["verbose"],
    "random_state": ["random_state"],
    "warm_start": ["boolean"],
    "checkpoint_dir": [None, str, os.PathLike],
}
