import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seed numpy and torch so that tests which draw random data are repeatable."""
    np.random.seed(0)
    torch.manual_seed(0)
