"""Semi-supervised classification of MNIST-5k with 100 labels: the M2 VAE against the anchors.

This repository's split of MNIST-5k (80/20, stratified, random_state=0); 100
training labels, 10 per class, chosen with ``numpy.random.RandomState(0)``;
the other 3,900 training rows unlabeled (-1, scikit-learn's convention); test
accuracy on the 1,000 test rows. The anchors run in the same script:
LogisticRegression on the 100 labeled rows, SelfTrainingClassifier,
LabelSpreading on the pixels and on PCA(50) codes. The VAE is
``VAETransformer(n_components=10, conditional=True, likelihood="bernoulli",
random_state=seed)`` with its other defaults, for each seed, and the paper's
stacked M1+M2: an M2 on the codes of an unsupervised VAE (``m1_m2``), and
M1+M2 whose M1 has the neighbour-graph term (``m1_umap_m2``). Writes
benchmarks/results/semi_supervised.md.

    python benchmarks/semi_supervised.py
    python benchmarks/semi_supervised.py --seeds 0 --labels-per-class 10
"""

import argparse
import time

import numpy as np
from _report import markdown_table, write_result
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

from sklearn_ae import VAETransformer
from sklearn_ae.datasets import load_dataset


def labeled_subset(y, per_class, seed=0):
    """``y`` with all but ``per_class`` rows of each class set to -1 (unlabeled)."""
    rng = np.random.RandomState(seed)
    keep = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in np.unique(y)]
    )
    partial = np.full_like(y, -1)
    partial[keep] = y[keep]
    return partial


def anchors():
    """The baselines: name and an unfitted semi-supervised or supervised classifier."""
    logistic = LogisticRegression(max_iter=2000)
    return [
        ("LogisticRegression on the labeled rows", logistic),
        ("SelfTrainingClassifier(LogisticRegression)", SelfTrainingClassifier(logistic)),
        (
            'LabelSpreading(kernel="knn", n_neighbors=7)',
            LabelSpreading(kernel="knn", n_neighbors=7),
        ),
        (
            "PCA(50) then LabelSpreading",
            make_pipeline(PCA(50, random_state=0), LabelSpreading(kernel="knn", n_neighbors=7)),
        ),
    ]


def m2(seed):
    """The semi-supervised VAE with its defaults, as the issue asks."""
    return VAETransformer(
        n_components=10, conditional=True, likelihood="bernoulli", random_state=seed
    )


def m1_m2(seed):
    """The paper's stacked model: M2 on the codes of an unsupervised VAE (M1).

    Pipeline.fit hands y to every step; the first VAE is not conditional and
    ignores it. The M2 step keeps its defaults (Gaussian likelihood: its
    input is the standardised codes, not pixels).
    """
    return make_pipeline(
        VAETransformer(n_components=10, likelihood="bernoulli", random_state=seed),
        StandardScaler(),
        VAETransformer(n_components=10, conditional=True, random_state=seed),
    )


def m1_umap_m2(seed):
    """M1+M2 whose M1 also keeps UMAP's neighbour graph in its codes (needs umap-learn)."""
    m1 = VAETransformer(
        n_components=10, likelihood="bernoulli", neighbor_loss="umap", random_state=seed
    )
    return make_pipeline(
        m1, StandardScaler(), VAETransformer(n_components=10, conditional=True, random_state=seed)
    )


def models():
    """The VAEs run for every seed: name and a function of the seed."""
    return [
        ("VAETransformer (M2)", m2),
        ("VAE codes then M2 (M1+M2)", m1_m2),
        ('VAE codes with neighbor_loss="umap" then M2', m1_umap_m2),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated VAE seeds")
    parser.add_argument("--labels-per-class", type=int, default=10)
    args = parser.parse_args()
    data = load_dataset("mnist")
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, random_state=0, stratify=data.target
    )
    y_partial = labeled_subset(y_train, args.labels_per_class)
    labeled = y_partial != -1
    rows = []
    for name, model in anchors():
        start = time.perf_counter()
        if isinstance(model, LogisticRegression):
            model.fit(X_train[labeled], y_train[labeled])
        else:
            model.fit(X_train, y_partial)
        accuracy = model.score(X_test, y_test)
        rows.append([name, "-", f"{accuracy:.3f}", f"{time.perf_counter() - start:.1f}"])
        print(*rows[-1], flush=True)
    for name, make_model in models():
        accuracies = []
        for seed in [int(s) for s in args.seeds.split(",")]:
            model = make_model(seed)
            start = time.perf_counter()
            model.fit(X_train, y_partial)
            accuracies.append(float(np.mean(model.predict(X_test) == y_test)))
            rows.append([name, seed, f"{accuracies[-1]:.3f}", f"{time.perf_counter() - start:.1f}"])
            print(*rows[-1], flush=True)
        rows.append([f"{name}, mean", "-", f"{np.mean(accuracies):.3f}", "-"])
    body = [
        f"MNIST-5k, 80/20 stratified split (random_state=0), {args.labels_per_class} labels per "
        f"class ({labeled.sum()} labeled, {(~labeled).sum()} unlabeled training rows), accuracy "
        f"on the {len(y_test)} test rows.",
        "",
        *markdown_table(["method", "seed", "test accuracy", "fit s"], rows),
    ]
    title = "Semi-supervised MNIST-5k: the M2 VAE and M1+M2 against the anchors"
    print(f"wrote {write_result('semi_supervised', title, body)}")


if __name__ == "__main__":
    main()
