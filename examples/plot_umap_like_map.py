"""
==============================================
A UMAP-like map that inverts and maps new rows
==============================================

UMAP draws a clear 2-D map of the digits, but its map is a picture: it places new rows only
approximately and cannot turn a point of the map back into an image. An autoencoder trained
with UMAP's neighbour-graph loss next to its reconstruction loss
(``neighbor_loss="umap"``) draws a map of the same kind from a network, and
``inverse_transform`` decodes any point of the map back into a digit. ``transform`` places new
rows with one pass through the encoder, or, with ``placement="neighbors"``, as UMAP's own
``transform`` does: starting from the encoder's code, it optimises each new row's position
among the codes of its nearest training rows. Those training codes are themselves the
encoder's, refined after the fit as free parameters of the same loss (``refine_epochs``), as
UMAP optimises its own map; the decoder is then fitted to the refined codes, so that the grid
below decodes the map as drawn.

Below: UMAP's map of the training digits, the autoencoder's map with the held-out digits
placed by ``transform`` (the titles give the 5-NN test accuracy of both placements), and the
digits decoded from a grid over the autoencoder's map.
"""

import copy

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from umap import UMAP

from sklearn_ae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.2, random_state=0, stratify=y
)

umap = UMAP(random_state=0).fit(X_train)
# The user guide's longer schedule: without early stopping, larger batches.
ae = AutoencoderTransformer(
    n_components=2,
    neighbor_loss="umap",
    placement="neighbors",
    early_stopping=False,
    max_iter=150,
    batch_size=512,
    learning_rate=3e-3,
    random_state=0,
).fit(X_train)
# The same fitted model, placing new rows with the encoder alone.
encoder_only = copy.deepcopy(ae).set_params(placement="encoder")


def knn_accuracy(model, train_codes):
    knn = KNeighborsClassifier(5).fit(train_codes, y_train)
    return knn.score(model.transform(X_test), y_test)


fig, axes = plt.subplots(1, 3, figsize=(15, 5))
axes[0].scatter(*umap.embedding_.T, c=y_train, cmap="tab10", s=3)
axes[0].set_title(f"UMAP (5-NN test accuracy {knn_accuracy(umap, umap.embedding_):.3f})")
Z_train, Z_test = ae.placement_.codes, ae.transform(X_test)
axes[1].scatter(*Z_train.T, c=y_train, cmap="tab10", s=3, alpha=0.3)
axes[1].scatter(*Z_test.T, c=y_test, cmap="tab10", s=12, edgecolors="k", linewidths=0.3)
axes[1].set_title(
    f"AE + UMAP loss, new rows ringed\n(placed by neighbours {knn_accuracy(ae, Z_train):.3f}, "
    f"by the encoder {knn_accuracy(encoder_only, Z_train):.3f})"
)

# Decode a 12 x 12 grid over the central part of the map.
low, high = np.percentile(Z_train, [5, 95], axis=0)
side = 12
grid = np.stack(np.meshgrid(np.linspace(low[0], high[0], side), np.linspace(high[1], low[1], side)))
images = ae.inverse_transform(grid.reshape(2, -1).T).reshape(side, side, 8, 8)
# A blank pixel around each digit keeps the cells apart; points between the clusters decode
# to values beyond the pixels' [0, 1], so the colours show that range.
cells = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
mosaic = cells.transpose(0, 2, 1, 3).reshape(side * 10, side * 10)
axes[2].imshow(mosaic, cmap="gray_r", vmin=0, vmax=1)
axes[2].set_title("The map decoded with inverse_transform")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()
