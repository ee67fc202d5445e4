"""How close an adversarial autoencoder's codes are to its prior, against a plain autoencoder's.

``compare``'s 80/20 stratified split (random_state=0) of digits and MNIST-5k.
For each seed, a plain ``AutoencoderTransformer`` and one with
``prior_matching="adversarial"`` (normal prior) train on the training rows with
their defaults at ``--n-components`` codes; the codes of the test rows are
compared with as many draws of N(0, I) by the squared maximum mean discrepancy
(:func:`sklearn_ae.metrics.maximum_mean_discrepancy`, Gaussian kernel whose
bandwidth is the median distance between the prior draws). The adversarial
autoencoder's ``sample`` decodes such draws; a plain autoencoder's codes have
whatever distribution training gave them, which is why its ``sample`` fits a
Gaussian mixture to them instead. Also reported: the same discrepancy after
standardizing each code dimension on the training rows, which leaves only the
shape of the distribution. Writes benchmarks/results/prior_matching.md.

    python benchmarks/prior_matching.py
    python benchmarks/prior_matching.py --data digits --seeds 0
"""

from collections import defaultdict

import numpy as np
from _report import generator_parser, markdown_table, write_result
from neighbor_maps import summary
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.compare import split_and_scale
from sklearn_ae.datasets import load_dataset
from sklearn_ae.metrics import maximum_mean_discrepancy


def models(n_components, seed):
    """The plain and the adversarial autoencoder of one seed."""
    return {
        "Autoencoder": AutoencoderTransformer(n_components, random_state=seed),
        "Adversarial AE (normal prior)": AutoencoderTransformer(
            n_components, prior_matching="adversarial", random_state=seed
        ),
    }


def discrepancies(model, X_train, X_test, draws):
    """MMD^2 of the test codes to the prior draws, as they are and standardized."""
    codes = model.transform(X_test)
    scaler = StandardScaler().fit(model.transform(X_train))
    return (
        maximum_mean_discrepancy(codes, draws),
        maximum_mean_discrepancy(scaler.transform(codes), draws),
    )


def main():
    args = generator_parser(__doc__.splitlines()[0]).parse_args()
    rows = []
    for name in args.data.split(","):
        data = load_dataset(name)
        X_train, X_test, _, _, _ = split_and_scale(data.data, data.target, 0.2, 0)
        draws = np.random.RandomState(0).normal(size=(len(X_test), args.n_components))
        # What matching the prior exactly scores: other draws of the prior itself.
        exact = np.random.RandomState(1).normal(size=draws.shape)
        rows.append(
            [
                name,
                "N(0, I) draws (reference)",
                summary([maximum_mean_discrepancy(exact, draws)]),
                "-",
            ]
        )
        results = defaultdict(lambda: ([], []))
        for seed in [int(s) for s in args.seeds.split(",")]:
            for label, model in models(args.n_components, seed).items():
                raw, standardized = discrepancies(model.fit(X_train), X_train, X_test, draws)
                results[label][0].append(raw)
                results[label][1].append(standardized)
                print(name, seed, label, f"{raw:.4f}", f"{standardized:.4f}", flush=True)
        for label, (raw, standardized) in results.items():
            rows.append([name, label, summary(raw), summary(standardized)])
    header = ["data", "codes", "MMD^2 to N(0, I)", "MMD^2, codes standardized"]
    body = [
        f"80/20 stratified split (random_state=0), n_components={args.n_components}, seeds "
        f"{args.seeds}: mean (min-max) over the seeds. Squared MMD between the test rows' codes "
        "and as many N(0, I) draws, Gaussian kernel with the median distance between the draws "
        "as bandwidth (0: the same distribution).",
        "",
        *markdown_table(header, rows),
    ]
    title = "Prior matching: codes of the adversarial and the plain autoencoder against N(0, I)"
    print(f"wrote {write_result('prior_matching', title, body)}")


if __name__ == "__main__":
    main()
