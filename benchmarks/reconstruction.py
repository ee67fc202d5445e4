"""Test reconstruction MSE of AutoencoderTransformer (default settings) against PCA.

80/20 split (random_state=0, stratified), pixels in [0, 1], n_components in
{2, 10, 32}. Writes benchmarks/results/reconstruction.md.

    python benchmarks/reconstruction.py                   # digits and MNIST-5k
    python benchmarks/reconstruction.py --data digits
"""

import argparse
import time

import numpy as np
from _report import markdown_table, write_result
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.datasets import load_dataset


def test_mse(model, X_test):
    return float(np.mean((X_test - model.inverse_transform(model.transform(X_test))) ** 2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits,mnist", help="comma-separated data sets")
    parser.add_argument("--components", default="2,10,32")
    args = parser.parse_args()
    rows = []
    for name in args.data.split(","):
        data = load_dataset(name)
        X_train, X_test = train_test_split(
            data.data, test_size=0.2, random_state=0, stratify=data.target
        )
        for k in map(int, args.components.split(",")):
            pca_mse = test_mse(PCA(k, random_state=0).fit(X_train), X_test)
            start = time.perf_counter()
            ae = AutoencoderTransformer(k, random_state=0).fit(X_train)
            seconds = time.perf_counter() - start
            ae_mse = test_mse(ae, X_test)
            rows.append(
                [
                    name,
                    k,
                    f"{pca_mse:.4f}",
                    f"{ae_mse:.4f}",
                    f"{ae_mse / pca_mse:.2f}",
                    f"{seconds:.1f}",
                ]
            )
            print(*rows[-1], flush=True)
    header = ["data", "k", "PCA test MSE", "AE test MSE", "AE / PCA", "AE fit seconds"]
    path = write_result(
        "reconstruction",
        "Reconstruction: AutoencoderTransformer (defaults) vs PCA",
        [
            "80/20 stratified split, random_state=0, pixels scaled to [0, 1].",
            "",
            *markdown_table(header, rows),
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
