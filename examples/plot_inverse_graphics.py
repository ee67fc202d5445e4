"""
=======================================================
Latent traversals: the inverse-graphics network's units
=======================================================

``VAETransformer(factor_dims=(1, 1, 1, 1, 1))`` trained with the factors of
:func:`~sklearn_ae.datasets.make_sprites` (shape, scale, rotation, x, y) gives each factor
its own unit: decoding one code while one unit moves from low to high should change one
property of the image. Beside it, a beta-VAE trained on the same images without the factors,
whose units are shown in order of their KL. Below, which unit knows which factor
(:func:`~sklearn_ae.metrics.factor_information`: each unit's share of each factor's entropy);
a factor learned by one unit alone shows as one dark cell in its column. Small images and few rows
keep this example quick; ``benchmarks/inverse_graphics.py`` measures both models at full size.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_ae import VAETransformer
from sklearn_ae.datasets import make_sprites
from sklearn_ae.metrics import factor_information, kl_per_dimension, mutual_information_gap

# Rotations within a quarter turn, which every shape shows (a square looks the same a quarter
# turn on), in groups linked through shared rows: data whose images tell every factor.
SIZE = 24
X, factors = make_sprites(
    2000, image_size=SIZE, linked=True, rotation_range="quarter", random_state=0
)
settings = dict(likelihood="bernoulli", hidden_layer_sizes=(256,), max_iter=150, random_state=0)
# Free bits on the factor units keep each of them in use; the free units may collapse.
dcign = VAETransformer(
    7, factor_dims=(1, 1, 1, 1, 1), free_bits=(1, 1, 1, 1, 1, 0, 0), **settings
).fit(X, factors)
beta_vae = VAETransformer(7, beta=4.0, **settings).fit(X)


def traversal(model, units, code, steps=7):
    """Images decoded from ``code`` with each unit in ``units`` swept over its range."""
    Z = model.transform(X)
    rows = []
    for unit in units:
        low, high = np.percentile(Z[:, unit], [2, 98])
        codes = np.repeat(code[None], steps, axis=0)
        codes[:, unit] = np.linspace(low, high, steps)
        rows.append(np.hstack(model.inverse_transform(codes).reshape(steps, SIZE, SIZE)))
    return np.vstack(rows)


fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
panels = [
    (dcign, range(5), "DC-IGN: shape, scale, rotation, x, y"),
    (beta_vae, np.argsort(-kl_per_dimension(beta_vae, X))[:5], "beta-VAE: units by KL"),
]
for ax, (model, units, title) in zip(axes, panels):
    mig = mutual_information_gap(model.transform(X), factors)
    ax.imshow(traversal(model, units, model.transform(X[:1])[0]), cmap="gray_r")
    ax.set_title(f"{title}\nMIG on these rows {mig:.2f}")
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %%
# Which unit knows which factor, on the same rows.
names = ["shape", "scale", "rotation", "x", "y"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for ax, (model, _, title) in zip(axes, panels):
    information = factor_information(model.transform(X), factors)
    ax.imshow(information, cmap="Greys", vmin=0, vmax=1, aspect="auto")
    for (unit, factor), value in np.ndenumerate(information):
        ax.text(factor, unit, f"{value:.2f}", ha="center", va="center", color="tab:red")
    ax.set_xticks(range(5), names, rotation=30)
    ax.set_yticks(range(7), [f"unit {j}" for j in range(7)])
    ax.set_title(title.split(":")[0])
plt.tight_layout()
plt.show()
