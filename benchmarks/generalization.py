"""Held-out reconstruction of the default estimators against PCA over a suite of real data sets.

For each data set of ``_suite.SUITE`` (tables, images, gene expression; 50 to
5,822 rows, 4 to 6,830 features) and each k in {2, 10, 32} below the number of
features and of training rows, through ``sklearn_ae.compare``: its 80/20 split
(stratified when there are labels), images kept in [0, 1] and everything else
standardized on the training rows, then PCA,
``AutoencoderTransformer(n_components=k, random_state=seed)`` and
``VAETransformer(n_components=k, random_state=seed)`` are fitted on the training
rows and their test MSE compared. Also per fit: seconds, epochs run, and the
slowest epoch against the early ones (max over epochs 2.. divided by the median
of epochs 2-6). Writes benchmarks/results/generalization.md.

    python benchmarks/generalization.py
    python benchmarks/generalization.py --data wine,khan --seeds 0,1,2
    python benchmarks/generalization.py --ae-params '{"hidden_layer_sizes": [64]}' --tag small
    python benchmarks/generalization.py --vae-params '{"init": "random"}' --tag vae_init_random
"""

import argparse
import json
import math

import numpy as np
import torch
from _report import markdown_table, write_result
from _suite import SUITE
from speed import hand_written_fit

from sklearn_ae import AutoencoderTransformer, VAETransformer
from sklearn_ae.compare import compare


def slowdown(durations, window=1):
    """Slowest run of ``window`` epochs from the 2nd on (its median), over the median of epochs 2-6.

    ``window=1`` is the slowest single epoch. NaN below 3 epochs.
    """
    durations = np.asarray(durations[1:], dtype=float)
    if len(durations) < 2:
        return float("nan")
    window = min(window, len(durations))
    runs = np.lib.stride_tricks.sliding_window_view(durations, window)
    return float(np.median(runs, axis=1).max() / np.median(durations[:5]))


def epoch_slowdown(model, window=1):
    """:func:`slowdown` of a fitted estimator's epochs."""
    return slowdown([row["dur"] for row in model.net_.history], window)


def plain_loop_slowdown(n_rows, n_features, epochs=60, seed=0):
    """:func:`slowdown` of a hand-written PyTorch loop: this machine's timing noise.

    The default network for 2 codes (without the linear path), batch 128, Adam,
    no validation, callbacks or history: whatever varies between its epochs is
    the machine, not the package.
    """
    X = torch.rand(n_rows, n_features, generator=torch.Generator().manual_seed(seed))
    template = AutoencoderTransformer(2, init="random", max_iter=1, random_state=seed)
    module = template.fit(X.numpy()).net_.module_
    durations = []
    hand_written_fit(module, X, epochs, 128, 1e-3, 1e-5, durations)
    return slowdown(durations), slowdown(durations, 3), float(np.median(durations))


def measure(X, y, k, seed, ae_params, vae_params):
    """compare's 80/20 split and scaling (random_state=seed): PCA, the autoencoder and the VAE.

    Returns the train shape and, by method, test MSE, fit seconds, epochs and epoch slowdown.
    """
    models = [("ae", AutoencoderTransformer(k, random_state=seed, **ae_params))]
    if vae_params is not None:
        models.append(("vae", VAETransformer(k, random_state=seed, **vae_params)))
    result = compare(X, y, methods=["pca", *models], n_components=k, random_state=seed)
    scores = {}
    for row in result.table.to_dict(orient="records"):
        model = result.estimators[row["method"]]
        neural = hasattr(model, "net_")
        scores[row["method"]] = (
            row["reconstruction_mse"],
            row["fit_seconds"],
            model.n_iter_ if neural else None,
            epoch_slowdown(model) if neural else float("nan"),
            epoch_slowdown(model, 3) if neural else float("nan"),
        )
    scores.setdefault("vae", (float("nan"),) * 5)
    return (len(X) - len(result.X_test), X.shape[1]), scores


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=",".join(SUITE), help="comma-separated suite keys")
    parser.add_argument("--components", default="2,10,32")
    parser.add_argument("--seeds", default="0", help="seeds of split and models")
    parser.add_argument("--ae-params", default="{}", help="JSON of AutoencoderTransformer params")
    parser.add_argument("--vae-params", default="{}", help="JSON of VAETransformer params")
    parser.add_argument("--no-vae", action="store_true", help="skip the VAE")
    parser.add_argument("--tag", default="", help="suffix of the results file and its title")
    args = parser.parse_args()
    ae_params = json.loads(args.ae_params)
    vae_params = None if args.no_vae else json.loads(args.vae_params)
    # Measured first, on an idle process: how much a plain loop's epochs of a few
    # milliseconds vary on this machine (a digits_400-sized fit).
    reference = np.max([plain_loop_slowdown(320, 64, seed=seed) for seed in range(3)], axis=0)
    rows, ratios, slowdowns, sustained = [], [], [], []
    for name in args.data.split(","):
        X, y, kind = SUITE[name]()
        for seed in map(int, args.seeds.split(",")):
            for k in map(int, args.components.split(",")):
                n_train = len(X) - math.ceil(0.2 * len(X))
                if k >= min(n_train, X.shape[1]):
                    continue
                shape, scores = measure(X, y, k, seed, ae_params, vae_params)
                pca = scores["pca"][0]
                ae_mse, ae_seconds, ae_epochs, ae_slow, ae_run = scores["ae"]
                vae = scores["vae"]
                ratios.append((ae_mse / pca, name, k, seed))
                slowdowns += [(s, name, k, seed) for s in (ae_slow, vae[3]) if s == s]
                sustained += [(s, name, k, seed) for s in (ae_run, vae[4]) if s == s]
                rows.append(
                    [
                        name,
                        kind,
                        f"{shape[0]} x {shape[1]}",
                        k,
                        seed,
                        f"{pca:.4g}",
                        f"{ae_mse:.4g}",
                        f"**{ae_mse / pca:.2f}**" if ae_mse > pca else f"{ae_mse / pca:.2f}",
                        f"{ae_seconds:.1f}",
                        ae_epochs,
                        f"{ae_slow:.2f} / {ae_run:.2f}",
                        f"{vae[0] / pca:.2f}",
                        f"{vae[3]:.2f} / {vae[4]:.2f}",
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
        "AE slowest epoch / 3 epochs, over early",
        "VAE / PCA",
        "VAE slowest epoch / 3 epochs, over early",
    ]
    worst = max(ratios)
    none = (float("nan"), "-", "-", "-")
    slowest = max(slowdowns, default=none)
    slowest_run = max(sustained, default=none)
    summary = [
        f"- worst AE / PCA: **{worst[0]:.3f}** ({worst[1]}, k={worst[2]}, seed {worst[3]}) "
        f"over {len(ratios)} fits",
        f"- slowest epoch / early epochs, worst fit: {slowest[0]:.2f} ({slowest[1]}, "
        f"k={slowest[2]}, seed {slowest[3]})",
        f"- slowest 3 consecutive epochs (median) / early epochs, worst fit: "
        f"{slowest_run[0]:.2f} ({slowest_run[1]}, k={slowest_run[2]}, seed {slowest_run[3]})",
        f"- a hand-written PyTorch loop, 320 x 64 rows, 60 epochs of up to "
        f"{reference[2] * 1e3:.0f} ms, "
        f"worst of 3 runs: slowest epoch / early {reference[0]:.2f}, slowest 3 epochs / early "
        f"{reference[1]:.2f} (this machine's timing noise)",
    ]
    print(*summary, sep="\n")
    path = write_result(
        "generalization",
        "Generalization: default estimators vs PCA on held-out rows of real data",
        [
            "80/20 split (stratified when labelled); images in [0, 1], tables and gene "
            "expression standardized on the training rows. AutoencoderTransformer and "
            "VAETransformer with their defaults"
            f"{' and, for the autoencoder, ' + args.ae_params if ae_params else ''}"
            f"{' and, for the VAE, ' + args.vae_params if vae_params else ''}, "
            "random_state=seed. Ratios are test MSE over PCA's (bold: worse than PCA). "
            "Slowest epoch / early: the slowest epoch from the 2nd on over the median of "
            "epochs 2-6; slowest 3 epochs: the largest median of 3 consecutive epochs, which "
            "a slowdown that lasts (subnormal floats) raises and one late epoch does not.",
            "",
            *summary,
            "",
            *markdown_table(header, rows),
        ],
        args.tag,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
