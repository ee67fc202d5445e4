"""
======================
Denoising noisy digits
======================

A convolutional denoising autoencoder is trained to reconstruct clean digits from digits with
Gaussian noise (standard deviation 0.5, clipped to [0, 1]); at ``transform`` time it receives noisy
test digits and returns cleaned ones.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_ae import AutoencoderTransformer

X = load_digits().data / 16
X_train, X_test = X[:1500], X[1500:]
rng = np.random.RandomState(0)
noisy = np.clip(X_test + 0.5 * rng.randn(*X_test.shape), 0, 1)

dae = AutoencoderTransformer(
    n_components=16,
    architecture="conv",
    conv_channels=(16, 32),
    image_shape=(8, 8),
    noise="gaussian",
    noise_level=0.5,
    max_iter=25,
    random_state=0,
).fit(X_train)
cleaned = dae.inverse_transform(dae.transform(noisy))
print(
    f"MSE to the clean digits: noisy input {np.mean((noisy - X_test) ** 2):.4f}, "
    f"denoised {np.mean((cleaned - X_test) ** 2):.4f}"
)

fig, axes = plt.subplots(3, 8, figsize=(8, 3.3))
for row, (title, images) in zip(axes, [("noisy", noisy), ("denoised", cleaned), ("clean", X_test)]):
    for ax, image in zip(row, images):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(title)
plt.tight_layout()
plt.show()
