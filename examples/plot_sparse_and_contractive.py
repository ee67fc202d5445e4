"""
=============================================
What sparsity and contraction do to the codes
=============================================

Three autoencoders with 8 codes on the digits: plain, sparse (KL penalty towards a mean
activation of 0.05, sigmoid codes) and contractive (penalty on the encoder's Jacobian). Sparsity
pushes most code activations towards zero; contraction makes the codes change less when the input
changes, measured here as the code's displacement under small input noise.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_ae import AutoencoderTransformer

X = load_digits().data / 16
common = {"n_components": 8, "hidden_layer_sizes": (64,), "max_iter": 20, "random_state": 0}
models = {
    "plain": AutoencoderTransformer(**common),
    "sparse (KL)": AutoencoderTransformer(sparsity="kl", sparsity_weight=0.1, **common),
    "contractive": AutoencoderTransformer(contractive_weight=0.05, **common),
}
nudged = X + 0.05 * np.random.RandomState(0).randn(*X.shape)
fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
for ax, (name, model) in zip(axes, models.items()):
    Z = model.fit(X).transform(X)
    shift = np.linalg.norm(model.transform(nudged) - Z, axis=1).mean()
    ax.hist(np.abs(Z).ravel(), bins=40)
    ax.set_title(f"{name}\nmean |code| {np.abs(Z).mean():.2f}, shift {shift:.3f}")
    ax.set_xlabel("|code activation|")
plt.tight_layout()
plt.show()
