"""Convolutional vs fully connected autoencoders of similar size on MNIST-5k (and digits).

Test reconstruction MSE (80/20 stratified split, random_state=0) of
``AutoencoderTransformer(architecture="conv")`` against an MLP autoencoder with
a similar parameter count and against the default MLP, next to PCA. Writes
benchmarks/results/conv.md.

    python benchmarks/conv.py
    python benchmarks/conv.py --data digits --epochs 30
"""

import argparse

import numpy as np
from _report import markdown_table, write_result
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.datasets import load_dataset

MODELS = {
    "conv (32, 64)": {"architecture": "conv", "conv_channels": (32, 64)},
    "MLP (128,)": {"hidden_layer_sizes": (128,)},
    "MLP (512, 256) default": {},
}


def n_parameters(model):
    return sum(p.numel() for p in model.net_.module_.parameters())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--components", default="10,32")
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()
    rows = []
    for name in args.data.split(","):
        data = load_dataset(name)
        X_train, X_test = train_test_split(
            data.data, test_size=0.2, random_state=0, stratify=data.target
        )
        for k in map(int, args.components.split(",")):
            pca = PCA(k).fit(X_train)
            pca_mse = np.mean((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2)
            rows.append([name, k, "PCA", "-", f"{pca_mse:.4f}"])
            for label, params in MODELS.items():
                model = AutoencoderTransformer(
                    k, max_iter=args.epochs, random_state=0, **params
                ).fit(X_train)
                rows.append(
                    [
                        name,
                        k,
                        label,
                        f"{n_parameters(model):,}",
                        f"{-model.score(X_test):.4f}",
                    ]
                )
                print(*rows[-1], flush=True)
    header = ["data", "k", "model", "parameters", "test MSE"]
    body = [
        f"80/20 stratified split, random_state=0, {args.epochs} epochs, init='auto' "
        "(MLPs start as PCA, the conv network at random).",
        "",
        *markdown_table(header, rows),
    ]
    print(f"wrote {write_result('conv', 'Convolutional vs fully connected autoencoders', body)}")


if __name__ == "__main__":
    main()
