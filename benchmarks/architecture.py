"""When do convolutions beat the default MLP? Image size and number of components.

The measurements behind the autoencoder recipe of ``sklearn_ae.compare``. For
the digits (8x8) and MNIST-5k shrunk to 8x8, 12x12 and 16x16 (area averaging)
and at full 28x28, and for n_components in {2, 10, 32}: test reconstruction
MSE relative to PCA and 5-NN test accuracy of the codes, for
AutoencoderTransformer with its defaults (MLP) and with ``architecture="conv"``.
80/20 stratified split and model seed 0, 100 epochs (the default), pixels in
[0, 1]. Writes benchmarks/results/architecture.md; takes about 25 minutes on 2 cores.

    python benchmarks/architecture.py
    python benchmarks/architecture.py --sides 8,12 --components 32
"""

import argparse

import numpy as np
import torch
from _report import markdown_table, write_result

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.compare import compare
from sklearn_ae.datasets import load_dataset


def shrink(images, side):
    """Area-average square images to side x side pixels (flattened rows)."""
    pixels = torch.tensor(images, dtype=torch.float32)
    small = torch.nn.functional.interpolate(pixels[:, None], size=(side, side), mode="area")
    return small.reshape(len(images), -1).numpy().astype(np.float64)


def data_sets(sides):
    digits = load_dataset("digits")
    yield "digits", digits.data, digits.target, (8, 8)
    mnist = load_dataset("mnist")
    images = mnist.data.reshape(-1, *mnist.image_shape)
    for side in sides:
        X = mnist.data if side == 28 else shrink(images, side)
        yield f"mnist {side}x{side}", X, mnist.target, (side, side)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", default="8,12,16,28", help="MNIST image sides")
    parser.add_argument("--components", default="2,10,32")
    args = parser.parse_args()
    rows = []
    for name, X, y, shape in data_sets([int(s) for s in args.sides.split(",")]):
        for k in map(int, args.components.split(",")):
            models = [
                ("mlp", AutoencoderTransformer(k, random_state=0)),
                (
                    "conv",
                    AutoencoderTransformer(
                        k, random_state=0, architecture="conv", image_shape=shape
                    ),
                ),
            ]
            table = compare(X, y, methods=["pca", *models], n_components=k, random_state=0).table
            table = table.set_index("method")
            pca = table.loc["pca"]
            cells = [name, k, f"{pca.knn_accuracy:.3f}"]
            for key, _ in models:
                row = table.loc[key]
                ratio = row.reconstruction_mse / pca.reconstruction_mse
                cells += [f"{ratio:.2f}", f"{row.knn_accuracy:.3f}", f"{row.fit_seconds:.0f}"]
            rows.append(cells)
            print(*cells, flush=True)
    header = [
        "data",
        "k",
        "PCA 5-NN",
        "MLP MSE / PCA",
        "MLP 5-NN",
        "MLP fit s",
        "conv MSE / PCA",
        "conv 5-NN",
        "conv fit s",
    ]
    path = write_result(
        "architecture",
        "MLP or convolutions: image size and number of components",
        [
            "AutoencoderTransformer defaults (MLP (512, 256), PCA start) vs architecture='conv' "
            "(channels (32, 64), random start); 80/20 stratified split, seed 0, 100 epochs, "
            "pixels in [0, 1]. MSE / PCA: test reconstruction MSE divided by PCA's with as "
            "many components (below 1 beats PCA). 5-NN: test accuracy of a 5-NN classifier "
            "on the codes.",
            "",
            *markdown_table(header, rows),
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
