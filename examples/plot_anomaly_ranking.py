"""
==================================
Anomaly ranking with score_samples
==================================

``score_samples`` is each row's negative reconstruction error for the autoencoder and an
importance-sampled log-likelihood for the VAE; low values flag unusual rows. Both models are
trained on digits only and then score held-out digits mixed with 20 random-noise images and 20
digits turned upside down.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

from sklearn_ae import AutoencoderTransformer, VAETransformer

X = load_digits().data / 16
X_train, X_test = X[:1500], X[1500:]
rng = np.random.RandomState(0)
odd = np.vstack([rng.rand(20, 64), X_test[:20].reshape(20, 8, 8)[:, ::-1].reshape(20, 64)])
X_mixed = np.vstack([X_test, odd])
is_odd = np.r_[np.zeros(len(X_test)), np.ones(len(odd))]

fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
for ax, model in zip(
    axes,
    [
        AutoencoderTransformer(8, hidden_layer_sizes=(128,), max_iter=40, random_state=0),
        VAETransformer(
            8,
            likelihood="bernoulli",
            hidden_layer_sizes=(128,),
            max_iter=40,
            n_score_samples=100,
            random_state=0,
        ),
    ],
):
    scores = model.fit(X_train).score_samples(X_mixed)
    auc = roc_auc_score(is_odd, -scores)
    ax.hist([scores[is_odd == 0], scores[is_odd == 1]], bins=30, label=["digits", "odd rows"])
    ax.set_title(f"{type(model).__name__}: ROC AUC {auc:.3f}")
    ax.set_xlabel("score_samples")
    ax.legend()
plt.tight_layout()
plt.show()
