"""Checks of what a user passes in: arrays, labels, devices, shapes; each error says what to do."""

import math
import numbers
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.utils import column_or_1d
from sklearn.utils.validation import validate_data

FLOAT_DTYPES = [np.float64, np.float32]


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
        return validate_data(estimator, X, dtype=FLOAT_DTYPES, order="C", **kwargs)
    except ValueError as error:
        if "could not convert" not in str(error):
            raise
        raise ValueError(
            f"X must be numeric, but {error}. Encode text and categorical columns first, "
            "e.g. with OneHotEncoder in a ColumnTransformer."
        ) from None


def in_unit_interval(X):
    """Whether every value of X lies in [0, 1] (pixels, MinMax-scaled data).

    Examples
    --------
    >>> import numpy as np
    >>> in_unit_interval(np.array([[0.0, 1.0]])), in_unit_interval(np.array([[-1.0, 0.5]]))
    (True, False)
    """
    return bool(X.min() >= 0 and X.max() <= 1)


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


def check_layer_sizes(sizes, name="hidden_layer_sizes"):
    """Return ``sizes`` as a tuple of positive ints, or raise ValueError naming the parameter.

    Examples
    --------
    >>> check_layer_sizes([64, 32])
    (64, 32)
    """
    checked = tuple(np.ravel(sizes).tolist()) if len(sizes) else ()
    if not all(isinstance(s, numbers.Integral) and s > 0 for s in checked):
        raise ValueError(f"{name} must be a sequence of positive integers, got {sizes!r}.")
    return checked


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


def check_n_columns(Z, expected, method, what):
    """Raise ValueError unless the 2-D array ``Z`` has ``expected`` columns.

    Examples
    --------
    >>> import numpy as np
    >>> check_n_columns(np.zeros((3, 2)), 2, "inverse_transform", "n_components")
    """
    if Z.shape[1] != expected:
        raise ValueError(
            f"{method} expects {expected} columns ({what}), but the input has {Z.shape[1]}."
        )


def check_labels(labels, name):
    """``labels`` as a 1-D array, or a ValueError for missing labels or a mix of text and numbers.

    Examples
    --------
    >>> check_labels([0, 1, 1], "y")
    array([0, 1, 1])
    >>> import pandas as pd
    >>> check_labels(pd.Series([0, "a"]), "y")
    Traceback (most recent call last):
        ...
    ValueError: y mixes text and numbers as labels; give every label the same type, ...
    """
    labels = column_or_1d(labels)
    if pd.isna(labels).any():
        raise ValueError(
            f"{name} has missing labels (NaN or None); a conditional VAE needs a label for "
            "every row. Drop those rows or give them a label of their own."
        )
    if labels.dtype == object and len({isinstance(v, str) for v in labels}) > 1:
        raise ValueError(
            f"{name} mixes text and numbers as labels; give every label the same type, "
            f"e.g. with {name}.astype(str)."
        )
    return labels


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


def torch_generator(rng):
    """A CPU torch random generator seeded by one draw of the RandomState ``rng``.

    On the CPU whatever the model's device, so that draws do not depend on the hardware.

    Examples
    --------
    >>> import numpy as np
    >>> a = torch_generator(np.random.RandomState(0))
    >>> b = torch_generator(np.random.RandomState(0))
    >>> bool(torch.rand(3, generator=a).equal(torch.rand(3, generator=b)))
    True
    """
    return torch.Generator().manual_seed(int(rng.randint(2**31)))
