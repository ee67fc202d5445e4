import pathlib

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seed numpy and torch so that tests which draw random data are repeatable."""
    np.random.seed(0)
    torch.manual_seed(0)


class _CreatesAFile:
    """Unpickling this creates a file: it stands for any code a planted pickle could run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.fixture
def code_payload(tmp_path):
    """An object whose unpickling creates a marker file, and the marker's path."""
    marker = tmp_path / "code-ran"
    return _CreatesAFile(marker), marker


@pytest.fixture(scope="module")
def digits_split():
    """The digits, pixels in [0, 1], split 70/30 (stratified, random_state 0): X_train, X_test,
    y_train, y_test."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)
