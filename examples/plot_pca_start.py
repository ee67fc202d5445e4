"""
===================================================
A VAE that uses the dimensions it is asked for
===================================================

Asked for 32 dimensions of the digits, a Gaussian VAE trained from a random start carries
information in only a few of them: the others keep their posterior at the prior for every row
(posterior collapse), and its reconstructions are far worse than PCA's at 32 components.
The default, ``init="auto"``, checks the trained model: where a unit carries less than 0.1 nats
of KL on the training rows, it trains again from probabilistic PCA (``init="pca"``), the model
every unit starts in use, and keeps that one; ``init_`` says which start the model kept.
``init="random"`` keeps the random start.

The plot shows each unit's KL on held-out rows, largest first; the printout, the units in use,
the reconstruction error relative to PCA's and the importance-sampled test log-likelihood. See
the user guide's section on posterior collapse for the measurements over many data sets,
including those where the random start is kept.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from sklearn_ae import VAETransformer
from sklearn_ae.metrics import kl_per_dimension

X = load_digits().data / 16
X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)


def test_mse(model):
    return np.mean((X_test - model.inverse_transform(model.transform(X_test))) ** 2)


pca_mse = test_mse(PCA(32).fit(X_train))
fig, ax = plt.subplots(figsize=(6, 3.5))
for init in ["random", "auto"]:
    vae = VAETransformer(n_components=32, init=init, random_state=0).fit(X_train)
    kl = np.sort(kl_per_dimension(vae, X_test))[::-1]
    print(
        f"init={init!r} (kept the {vae.init_} start): {np.sum(kl > 0.1)} of 32 units over "
        f"0.1 nats, test MSE {test_mse(vae) / pca_mse:.2f} x PCA's, test log-likelihood "
        f"{vae.score_samples(X_test).mean():.1f} nats a row"
    )
    ax.step(np.arange(1, 33), kl, where="mid", label=f'init="{init}"')
ax.axhline(0.1, color="grey", linestyle=":", label="0.1 nats")
ax.set_yscale("log")
ax.set_xlabel("latent unit, by its KL")
ax.set_ylabel("KL on the test rows (nats)")
ax.legend()
plt.tight_layout()
plt.show()
