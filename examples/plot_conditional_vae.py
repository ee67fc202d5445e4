"""
==================================
Conditional VAE: samples per class
==================================

A conditional VAE receives the label with every digit; ``sample(n, y=c)`` then draws new digits
of class ``c``. A logistic regression trained on real digits checks that the samples look like
their label.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from sklearn_ae import VAETransformer

X, y = load_digits(return_X_y=True)
X = X / 16
cvae = VAETransformer(
    n_components=2,
    conditional=True,
    likelihood="bernoulli",
    hidden_layer_sizes=(128,),
    max_iter=40,
    random_state=0,
).fit(X, y)
labels = np.repeat(np.arange(10), 8)
samples = cvae.sample(len(labels), y=labels, random_state=0)
accuracy = np.mean(LogisticRegression(max_iter=2000).fit(X, y).predict(samples) == labels)
print(f"samples classified as their label: {accuracy:.0%}")

fig, axes = plt.subplots(10, 8, figsize=(5, 6.5))
for ax, image in zip(axes.ravel(), samples):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()
