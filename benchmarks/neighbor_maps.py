"""2-D maps with a neighbour-graph term (``neighbor_loss="umap"``) against UMAP, over seeds.

One 80/20 stratified split (``compare``'s, random_state=0, pixels in [0, 1]);
each seed refits UMAP, ``AutoencoderTransformer(2, neighbor_loss="umap")`` and
``VAETransformer(2, neighbor_loss="umap", likelihood="bernoulli")`` and
``AutoencoderTransformer(2, neighbor_loss="infonce")`` with
``random_state=seed``, otherwise with their defaults. Reports the mean and
range over the seeds of the test rows' 5-NN accuracy, trustworthiness and
reconstruction MSE, and the seconds of the fit and of transforming the test
rows. Writes
benchmarks/results/neighbor_maps.md (needs umap-learn).

    python benchmarks/neighbor_maps.py
    python benchmarks/neighbor_maps.py --data digits --seeds 0
    python benchmarks/neighbor_maps.py --methods "AE + UMAP loss" --tag long \
        --ae-params '{"early_stopping": false, "max_iter": 150, "batch_size": 512,
                      "learning_rate": 0.003}'

``--ae-params`` and ``--vae-params`` (JSON) add parameters to the autoencoder rows
with a neighbour term ("AE + UMAP loss", "AE + InfoNCE loss") and to "VAE + UMAP
loss"; ``--methods`` keeps only the named rows; ``--tag`` suffixes the results
file.

Two more columns tell apart what limits a map on the test rows. "train map
5-NN" is the 5-fold cross-validated 5-NN accuracy among the training rows'
codes: the map itself. "placed 5-NN" places each test row at the mean code of
its 5 nearest training rows (in the input space) instead of through
``transform``: the map with a placement that ignores the encoder. A low test
accuracy next to a high "placed" one is the encoder generalizing poorly; a low
"train map" one is the map.
"""

import argparse
import json
from collections import defaultdict

import numpy as np
from _report import markdown_table, write_result
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from umap import UMAP

from sklearn_ae import AutoencoderTransformer, VAETransformer
from sklearn_ae.compare import compare, split_and_scale
from sklearn_ae.datasets import load_dataset

MEASURES = [
    "knn_accuracy",
    "train_map_knn",
    "placed_knn",
    "trustworthiness",
    "reconstruction_mse",
    "fit_seconds",
    "transform_seconds",
]


def models(seed, ae_params=None, vae_params=None):
    """The methods of one seed, as ``compare`` takes them."""
    ae_params, vae_params = ae_params or {}, vae_params or {}
    return [
        ("PCA", PCA(2)),
        ("UMAP", UMAP(n_components=2, random_state=seed)),
        ("Autoencoder", AutoencoderTransformer(2, random_state=seed)),
        (
            "AE + UMAP loss",
            AutoencoderTransformer(2, neighbor_loss="umap", random_state=seed, **ae_params),
        ),
        (
            "VAE + UMAP loss",
            VAETransformer(
                2, neighbor_loss="umap", likelihood="bernoulli", random_state=seed, **vae_params
            ),
        ),
        (
            "AE + InfoNCE loss",
            AutoencoderTransformer(2, neighbor_loss="infonce", random_state=seed, **ae_params),
        ),
    ]


def map_diagnosis(estimator, X_train, X_test, y_train, y_test, k=5):
    """5-NN accuracy of the training codes (5-fold) and of test rows placed by their neighbours."""
    Z_train = np.asarray(estimator.transform(X_train))
    knn = KNeighborsClassifier(k)
    train_map = cross_val_score(knn, Z_train, y_train, cv=5).mean()
    _, nearest = NearestNeighbors(n_neighbors=k).fit(X_train).kneighbors(X_test)
    placed = knn.fit(Z_train, y_train).score(Z_train[nearest].mean(axis=1), y_test)
    return {"train_map_knn": train_map, "placed_knn": placed}


def summary(values):
    """``mean (min-max)`` of a list of numbers, or ``-`` when there are none."""
    values = [v for v in values if v == v]
    if not values:
        return "-"
    digits = 4 if max(values) < 0.1 else 3 if max(values) < 10 else 1
    mean = f"{np.mean(values):.{digits}f}"
    if len(values) == 1:
        return mean
    return f"{mean} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits,mnist", help="comma-separated data sets")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated model seeds")
    parser.add_argument("--methods", default="", help="comma-separated row names to keep")
    parser.add_argument("--ae-params", default="{}", help="JSON of extra AE + UMAP parameters")
    parser.add_argument("--vae-params", default="{}", help="JSON of extra VAE + UMAP parameters")
    parser.add_argument("--tag", default="", help="suffix of the results file and its title")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    ae_params, vae_params = json.loads(args.ae_params), json.loads(args.vae_params)
    keep = set(filter(None, args.methods.split(",")))
    rows = []
    for name in args.data.split(","):
        data = load_dataset(name)
        X_train, X_test, y_train, y_test, _ = split_and_scale(data.data, data.target, 0.2, 0)
        results = defaultdict(lambda: defaultdict(list))
        for seed in seeds:
            methods = [m for m in models(seed, ae_params, vae_params) if not keep or m[0] in keep]
            comparison = compare(data.data, data.target, methods=methods, random_state=0)
            for row in comparison.table.to_dict(orient="records"):
                estimator = comparison.estimators[row["method"]]
                row.update(map_diagnosis(estimator, X_train, X_test, y_train, y_test))
                for measure in MEASURES:
                    results[row["method"]][measure].append(float(row[measure]))
                print(name, seed, row["method"], *(f"{row[m]:.4g}" for m in MEASURES), flush=True)
        for label, measures in results.items():
            rows.append([name, label, *(summary(measures[m]) for m in MEASURES)])
    header = [
        "data",
        "method",
        "5-NN test accuracy",
        "train map 5-NN",
        "placed 5-NN",
        "trustworthiness",
        "test MSE",
        "fit s",
        "transform s",
    ]
    body = [
        f"80/20 stratified split (random_state=0), n_components=2, seeds {args.seeds}: mean "
        "(min-max) over the seeds. Test MSE through inverse_transform (UMAP's own, approximate). "
        "Train map 5-NN: 5-fold 5-NN accuracy among the training codes; placed 5-NN: test rows "
        "placed at the mean code of their 5 nearest training rows. Transform s: the test rows."
        + (f" AE + UMAP / InfoNCE loss with {args.ae_params}." if ae_params else "")
        + (f" VAE + UMAP loss with {args.vae_params}." if vae_params else ""),
        "",
        *markdown_table(header, rows),
    ]
    title = "2-D maps: the neighbour-graph term against UMAP"
    print(f"wrote {write_result('neighbor_maps', title, body, args.tag)}")


if __name__ == "__main__":
    main()
