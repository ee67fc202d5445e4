import pathlib

import numpy as np
import pytest
import torch


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
