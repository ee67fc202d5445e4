"""Convolutional vs fully connected autoencoders of similar size on MNIST-5k (and digits).

Test reconstruction MSE (80/20 stratified split, random_state=0) of
``AutoencoderTransformer(architecture="conv")`` against an MLP autoencoder with
a similar parameter count and against the default MLP, next to PCA. Writes
benchmarks/results/conv.md.

    python benchmarks/conv.py
    python benchmarks/conv.py --data digits --epochs 30
"""

import argparse

from _report import markdown_table, write_result

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.compare import compare
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
        for k in map(int, args.components.split(",")):
            models = [
                (label, AutoencoderTransformer(k, max_iter=args.epochs, random_state=0, **params))
                for label, params in MODELS.items()
            ]
            result = compare(data.data, data.target, methods=["pca", *models], n_components=k)
            for key, mse in zip(
                result.table["method"], result.table["reconstruction_mse"], strict=True
            ):
                size = "-" if key == "pca" else f"{n_parameters(result.estimators[key]):,}"
                rows.append([name, k, "PCA" if key == "pca" else key, size, f"{mse:.4f}"])
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
