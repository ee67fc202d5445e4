"""Sample quality of every generative model: improved precision and recall against held-out rows.

``compare``'s 80/20 stratified split (random_state=0) of digits and MNIST-5k;
each model generates as many rows as there are test rows with
``sample(n, random_state=0)``, and :func:`sklearn_ae.metrics.sample_precision_recall`
(k=3 nearest-neighbour balls, in the pixel space) compares them with the
test rows. Two references frame the numbers: the
training rows themselves (as many as the test rows: what a perfect generator
would score) and uniform noise over the training rows' range (what a useless
one scores), and a third the decoder: the autoencoder's reconstructions of those
training rows, what decoding the codes of real rows gives (a reference for what a prior
over the codes can reach through that decoder). Models: the
autoencoder (Gaussian mixture fitted to its codes), the adversarial autoencoder (prior
draws decoded), the vector-quantized autoencoder (its code-index prior's draws decoded;
``--n-components`` must be even), the VAE, the mixture-prior VAE, the flow-prior VAE
(4 transforms) and the Bernoulli VAE with the autoregressive decoder (at its default 100
epochs and at 200), with their defaults at ``--n-components`` codes and
``random_state=seed``, and the VAE with ``init="random"`` (the random start kept where the
default restarts it as PPCA). ``--only TEXT`` fits only the generators whose name contains
TEXT, ``--generators "NAME;NAME"`` only those named.
Writes benchmarks/results/<--output>.md (sample_quality.md by default).

    python benchmarks/sample_quality.py
    python benchmarks/sample_quality.py --only autoregressive --output sample_quality_autoregressive
    python benchmarks/sample_quality.py --data digits --seeds 0 --n-components 2
    python benchmarks/sample_quality.py --generators "VAE;VAE (random start)"
"""

from collections import defaultdict

import numpy as np
from _report import generator_parser, markdown_table, write_result
from neighbor_maps import summary

from sklearn_ae import AutoencoderTransformer, VAETransformer
from sklearn_ae.compare import compare, split_and_scale
from sklearn_ae.datasets import load_dataset
from sklearn_ae.metrics import sample_precision_recall

# Its samples are drawn pixel by pixel, so they are sharp; the Gaussian likelihood's draws
# compound their noise from pixel to pixel, so only the Bernoulli one is measured.
AUTOREGRESSIVE = {"likelihood": "bernoulli", "decoder": "autoregressive"}

MEASURES = [
    "sample_precision",
    "sample_recall",
    "test_nll",
    "reconstruction_mse",
    "codebook_usage",
    "fit_seconds",
]


def models(n_components, seed):
    """The generative models of one seed, as ``compare`` takes them."""
    return [
        ("Autoencoder (mixture on codes)", AutoencoderTransformer(n_components, random_state=seed)),
        (
            "Adversarial AE (normal prior)",
            AutoencoderTransformer(n_components, prior_matching="adversarial", random_state=seed),
        ),
        (
            "VQ autoencoder (code-index prior)",
            AutoencoderTransformer(n_components, quantization="vq", random_state=seed),
        ),
        ("VAE", VAETransformer(n_components, random_state=seed)),
        (
            "VAE (random start)",
            VAETransformer(n_components, init="random", random_state=seed),
        ),
        ("VAE (mixture prior)", VAETransformer(n_components, prior="mixture", random_state=seed)),
        (
            "VAE (flow prior)",
            VAETransformer(n_components, prior="flow", n_prior_components=4, random_state=seed),
        ),
        (
            "VAE (Bernoulli, autoregressive decoder)",
            VAETransformer(n_components, **AUTOREGRESSIVE, random_state=seed),
        ),
        (
            "VAE (Bernoulli, autoregressive decoder, 200 epochs)",
            VAETransformer(n_components, **AUTOREGRESSIVE, max_iter=200, random_state=seed),
        ),
    ]


def references(X, y):
    """Precision and recall of the training rows and of uniform noise, on the same split."""
    X_train, X_test, _, _, _ = split_and_scale(X, y, 0.2, 0)
    rng = np.random.RandomState(0)
    training_rows = X_train[rng.choice(len(X_train), len(X_test), replace=False)]
    noise = rng.uniform(X_train.min(axis=0), X_train.max(axis=0), size=X_test.shape)
    return [
        (
            "training rows (reference)",
            sample_precision_recall(X_test, training_rows),
        ),
        ("uniform noise (reference)", sample_precision_recall(X_test, noise)),
    ]


def _training_rows(X, y):
    """The training rows ``references`` compares, and the test rows."""
    X_train, X_test, _, _, _ = split_and_scale(X, y, 0.2, 0)
    rng = np.random.RandomState(0)
    return X_train[rng.choice(len(X_train), len(X_test), replace=False)], X_test


def decoder_ceiling(model, X, y):
    """Precision and recall of a fitted model's reconstructions of the reference training rows:
    what decoding the codes of real rows gives."""
    training_rows, X_test = _training_rows(X, y)
    return sample_precision_recall(X_test, model.inverse_transform(model.transform(training_rows)))


def test_nll(model, X_test):
    """A VAE's negative ELBO of the test rows (an upper bound on its NLL), in nats a row."""
    return -model.score(X_test) if isinstance(model, VAETransformer) else np.nan


def main():
    parser = generator_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--only", help="fit only the generators whose name contains this text (and the references)"
    )
    parser.add_argument(
        "--generators", help="fit only these generators (their names, separated by ';')"
    )
    parser.add_argument("--output", default="sample_quality", help="results file name")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name in args.data.split(","):
        data = load_dataset(name)
        _, X_test = _training_rows(data.data, data.target)
        for label, (precision, recall) in references(data.data, data.target):
            rows.append([name, label, f"{precision:.3f}", f"{recall:.3f}", "-", "-", "-", "-"])
            print(*rows[-1], flush=True)
        results = defaultdict(lambda: defaultdict(list))
        for seed in seeds:
            methods = [
                (label, model)
                for label, model in models(args.n_components, seed)
                if (args.only is None or args.only in label)
                and (args.generators is None or label in args.generators.split(";"))
            ]
            comparison = compare(
                data.data, data.target, methods=methods, n_components=args.n_components
            )
            if "Autoencoder (mixture on codes)" in comparison.estimators:
                autoencoder = comparison.estimators["Autoencoder (mixture on codes)"]
                ceiling = decoder_ceiling(autoencoder, data.data, data.target)
                label = "autoencoder's reconstructions of the training rows (reference)"
                for measure, value in zip(MEASURES[:2], ceiling, strict=True):
                    results[label][measure].append(value)
            for row in comparison.table.to_dict(orient="records"):
                row["test_nll"] = test_nll(comparison.estimators[row["method"]], X_test)
                for measure in MEASURES:
                    results[row["method"]][measure].append(float(row[measure]))
                print(name, seed, row["method"], *(f"{row[m]:.4g}" for m in MEASURES), flush=True)
        for label, measures in results.items():
            rows.append([name, label, *(summary(measures[m]) for m in MEASURES)])
    header = ["data", "generator", "precision", "recall", "test NLL", "test MSE"]
    header += ["codebook use", "fit s"]
    body = [
        f"80/20 stratified split (random_state=0), n_components={args.n_components}, seeds "
        f"{args.seeds}: mean (min-max) over the seeds. Precision: share of generated rows inside "
        "the test rows' 3-NN balls; recall: share of test rows inside the generated rows' "
        "3-NN balls; both in the pixel space. Test NLL: a VAE's negative ELBO of the test rows "
        "in nats (-score), an upper bound on its negative log-likelihood (Bernoulli: of the "
        "grey levels). Codebook "
        "use: the share of the vector-quantized autoencoder's codebook that its training "
        "codes use.",
        "",
        *markdown_table(header, rows),
    ]
    title = "Sample quality: improved precision and recall of generated rows"
    print(f"wrote {write_result(args.output, title, body)}")


if __name__ == "__main__":
    main()
