"""
=============================================
Streaming with partial_fit, and resuming fits
=============================================

``partial_fit`` trains one epoch on one chunk, so rows can come from a memory-mapped file that
is never read whole. Here the digits are saved to disk and streamed back in chunks of 300 rows
for 10 passes; the held-out error is compared with ``fit`` on all rows for 10 epochs.

The second half interrupts a fit (as a crash or Ctrl-C would) and calls ``fit`` again with the
same ``checkpoint_dir``: training resumes where it stopped and ends with the same loss curve as a
fit that was never interrupted.
"""

import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from skorch.callbacks import Callback

from sklearn_ae import AutoencoderTransformer

X = load_digits().data / 16
X_train, X_test = X[:1500], X[1500:]
params = {"n_components": 8, "hidden_layer_sizes": (64,), "random_state": 0}

workdir = Path(tempfile.mkdtemp())
np.save(workdir / "digits.npy", X_train)
rows = np.load(workdir / "digits.npy", mmap_mode="r")  # nothing is read yet

streamed, errors = AutoencoderTransformer(**params), []
for _ in range(10):
    for start in range(0, len(rows), 300):
        streamed.partial_fit(rows[start : start + 300])
    errors.append(-streamed.score(X_test))
whole = AutoencoderTransformer(**params, max_iter=10).fit(X_train)
print(f"held-out MSE after 10 passes: partial_fit {errors[-1]:.4f}, fit {-whole.score(X_test):.4f}")


# %%
# Resume an interrupted fit from its checkpoint.


class StopAtEpoch(Callback):
    """Raise KeyboardInterrupt at the end of an epoch, as Ctrl-C would."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


checkpoints = workdir / "checkpoints"
long_fit = {**params, "max_iter": 30}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    stop = StopAtEpoch(12)
    cut = AutoencoderTransformer(**long_fit, checkpoint_dir=checkpoints, callbacks=[stop])
    cut.fit(X_train)
print(caught[0].message)
resumed = AutoencoderTransformer(**long_fit, checkpoint_dir=checkpoints).fit(X_train)
uninterrupted = AutoencoderTransformer(**long_fit).fit(X_train)
print("same loss curve as an uninterrupted fit:", resumed.loss_curve_ == uninterrupted.loss_curve_)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
axes[0].plot(range(1, 11), errors, marker="o", label="partial_fit, 5 chunks per pass")
axes[0].axhline(-whole.score(X_test), color="k", ls="--", label="fit, 10 epochs")
axes[0].set(xlabel="pass over the data", ylabel="held-out MSE", title="Streaming from a memmap")
axes[0].legend()
axes[1].plot(range(1, 31), uninterrupted.loss_curve_, lw=4, alpha=0.4, label="uninterrupted")
axes[1].plot(range(1, 13), cut.loss_curve_, label="interrupted at epoch 12")
axes[1].plot(range(1, 31), resumed.loss_curve_, ls=":", color="k", label="resumed")
axes[1].set(xlabel="epoch", ylabel="training loss", title="Resuming from a checkpoint")
axes[1].legend()
fig.tight_layout()
plt.show()
