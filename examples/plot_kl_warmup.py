"""
=================================
Posterior collapse and KL warm-up
=================================

With a large ``beta`` the KL term dominates from the first epoch and the latent units collapse to
the prior: their posterior standard deviation stays near 1 and they carry no information. KL
warm-up (``kl_warmup``) changes the path of training: while the KL weight is small the codes
take up information, but here, once the weight reaches ``beta=4``, they collapse all the same.
Free bits change the optimum: a unit is charged at least ``free_bits`` nats whatever its KL, so
collapsing it gains nothing and all units stay in use. The plot shows the KL per epoch from
``net_.history``, and the legend the number of active units (mean posterior standard deviation
below 0.5). Warm-up helps when ``beta`` is moderate and the problem is an early collapse.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from sklearn_ae import VAETransformer

X = load_digits().data / 16
common = {
    "n_components": 8,
    "likelihood": "bernoulli",
    "beta": 4.0,
    "hidden_layer_sizes": (128,),
    "max_iter": 40,
    "random_state": 0,
}
variants = {
    "beta 4": {},
    "beta 4 + 20-epoch warm-up": {"kl_warmup": 20},
    "beta 4 + 1 free bit per unit": {"free_bits": 1.0},
}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, params in variants.items():
    vae = VAETransformer(**common, **params).fit(X)
    kl = [row["train_kl"] for row in vae.net_.history]
    active = int((vae.posterior(X)[1].mean(axis=0) < 0.5).sum())
    print(f"{name}: {active} of 8 units active, final KL {kl[-1]:.1f} nats")
    ax.plot(range(1, len(kl) + 1), kl, label=f"{name} ({active} active)")
ax.set_xlabel("epoch")
ax.set_ylabel("KL per digit (nats)")
ax.legend()
plt.tight_layout()
plt.show()
