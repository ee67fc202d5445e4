"""Held-out reconstruction of the default estimators against PCA over a suite of real data sets.

For each data set of ``_suite.SUITE`` (tables, images, gene expression; 50 to
5,822 rows, 4 to 6,830 features) and each k in {2, 10, 32} below the number of
features and of training rows: an 80/20 split (stratified when there are
labels), images kept in [0, 1] and everything else standardized on the training
rows, then PCA, ``AutoencoderTransformer(n_components=k, random_state=seed)``
and ``VAETransformer(n_components=k, random_state=seed)`` are fitted on the
training rows and their test MSE compared. Also per fit: seconds, epochs run,
and the slowest epoch against the early ones (max over epochs 2.. divided by
the median of epochs 2-6). Writes benchmarks/results/generalization.md.

    python benchmarks/generalization.py
    python benchmarks/generalization.py --data wine,khan --seeds 0,1,2
    python benchmarks/generalization.py --ae-params '{"hidden_layer_sizes": [64]}' --tag small
"""

import argparse
import json
import time

import numpy as np
from _report import markdown_table, write_result
from _suite import SUITE
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderTransformer, VAETransformer


def split_and_scale(X, y, seed):
    """80/20 split; standardize on the training rows unless X lies in [0, 1]."""
    stratify = y if y is not None and np.unique(y, return_counts=True)[1].min() >= 2 else None
    X_train, X_test = train_test_split(X, test_size=0.2, random_state=seed, stratify=stratify)
    if X.min() < 0 or X.max() > 1:
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return X_train, X_test


def epoch_slowdown(model):
    """Slowest epoch from the 2nd on, over the median of epochs 2-6 (NaN below 3 epochs)."""
    durations = [row["dur"] for row in model.net_.history if "phase" not in row][1:]
    if len(durations) < 2:
        return float("nan")
    return max(durations) / float(np.median(durations[:5]))


def fit_and_score(model, X_train, X_test):
    """Test MSE, fit seconds, epochs and epoch slowdown of one model."""
    start = time.perf_counter()
    model.fit(X_train)
    seconds = time.perf_counter() - start
    mse = float(np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2))
    if not hasattr(model, "net_"):
        return mse, seconds, None, float("nan")
    return mse, seconds, model.n_iter_, epoch_slowdown(model)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=",".join(SUITE), help="comma-separated suite keys")
    parser.add_argument("--components", default="2,10,32")
    parser.add_argument("--seeds", default="0", help="seeds of split and models")
    parser.add_argument("--ae-params", default="{}", help="JSON of AutoencoderTransformer params")
    parser.add_argument("--no-vae", action="store_true", help="skip the VAE")
    parser.add_argument("--tag", default="", help="suffix of the results file")
    args = parser.parse_args()
    ae_params = json.loads(args.ae_params)
    rows, ratios, slowdowns = [], [], []
    for name in args.data.split(","):
        X, y, kind = SUITE[name]()
        for seed in map(int, args.seeds.split(",")):
            X_train, X_test = split_and_scale(X, y, seed)
            for k in map(int, args.components.split(",")):
                if k >= min(X_train.shape):
                    continue
                pca = fit_and_score(PCA(k), X_train, X_test)[0]
                ae = AutoencoderTransformer(k, random_state=seed, **ae_params)
                ae_mse, ae_seconds, ae_epochs, ae_slow = fit_and_score(ae, X_train, X_test)
                vae = (float("nan"),) * 4
                if not args.no_vae:
                    vae = fit_and_score(VAETransformer(k, random_state=seed), X_train, X_test)
                ratios.append((ae_mse / pca, name, k, seed))
                slowdowns += [(s, name, k, seed) for s in (ae_slow, vae[3]) if s == s]
                rows.append(
                    [
                        name,
                        kind,
                        f"{X_train.shape[0]} x {X_train.shape[1]}",
                        k,
                        seed,
                        f"{pca:.4g}",
                        f"{ae_mse:.4g}",
                        f"**{ae_mse / pca:.2f}**" if ae_mse > pca else f"{ae_mse / pca:.2f}",
                        f"{ae_seconds:.1f}",
                        ae_epochs,
                        f"{ae_slow:.2f}",
                        f"{vae[0] / pca:.2f}",
                        f"{vae[3]:.2f}",
                    ]
                )
                print(*rows[-1], flush=True)
    header = [
        "data",
        "kind",
        "train rows x features",
        "k",
        "seed",
        "PCA MSE",
        "AE MSE",
        "AE / PCA",
        "AE fit s",
        "AE epochs",
        "AE slowest epoch / early",
        "VAE / PCA",
        "VAE slowest epoch / early",
    ]
    worst = max(ratios)
    slowest = max(slowdowns) if slowdowns else (float("nan"), "-", "-", "-")
    summary = [
        f"- worst AE / PCA: **{worst[0]:.3f}** ({worst[1]}, k={worst[2]}, seed {worst[3]}) "
        f"over {len(ratios)} fits",
        f"- slowest epoch / early epochs, worst fit: {slowest[0]:.2f} ({slowest[1]}, "
        f"k={slowest[2]}, seed {slowest[3]})",
    ]
    print(*summary, sep="\n")
    path = write_result(
        "generalization" + (f"_{args.tag}" if args.tag else ""),
        "Generalization: default estimators vs PCA on held-out rows of real data",
        [
            "80/20 split (stratified when labelled); images in [0, 1], tables and gene "
            "expression standardized on the training rows. AutoencoderTransformer and "
            f"VAETransformer with their defaults{' and ' + args.ae_params if ae_params else ''}, "
            "random_state=seed. Ratios are test MSE over PCA's (bold: worse than PCA). "
            "Slowest epoch / early: the slowest epoch from the 2nd on over the median of "
            "epochs 2-6.",
            "",
            *summary,
            "",
            *markdown_table(header, rows),
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
