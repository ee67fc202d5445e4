"""
======================================
PCA vs autoencoder codes on the digits
======================================

The classic figure: 2-D codes of PCA and of an autoencoder, coloured by digit. The autoencoder
starts as PCA (``init="auto"``) and bends its codes to follow the data, which separates the
classes better and reconstructs better.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from sklearn_ae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0)

models = {
    "PCA": PCA(n_components=2),
    "Autoencoder": AutoencoderTransformer(
        n_components=2, hidden_layer_sizes=(128, 64), max_iter=50, random_state=0
    ),
}
fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
for ax, (name, model) in zip(axes, models.items()):
    Z = model.fit(X_train).transform(X_test)
    mse = np.mean((X_test - model.inverse_transform(Z)) ** 2)
    ax.scatter(Z[:, 0], Z[:, 1], c=y_test, cmap="tab10", s=8)
    ax.set_title(f"{name}: test MSE {mse:.4f}")
plt.tight_layout()
plt.show()
