"""Training speed against a hand-written PyTorch loop; transform throughput and fit memory vs PCA.

1. Seconds per epoch of ``fit`` divided by a hand-written PyTorch loop that
   trains the very module ``AutoencoderTransformer`` builds (same architecture,
   initial weights, data, batch size and Adam settings); runs alternate in one
   process so machine noise hits both. ``fit`` time includes everything ``fit``
   does (validation, PCA start, skorch set-up, the code density for ``sample``).
2. Rows per second of ``transform`` on 10,000 MNIST rows, next to PCA.
3. Peak resident memory added by ``fit`` on MNIST-5k, next to PCA, each
   measured in a fresh subprocess.

Writes benchmarks/results/speed.md. With ``--device cuda`` both train on the GPU, the
memory measured is the GPU memory that fit allocates at its peak, and the results file is
speed_cuda.md.

    python benchmarks/speed.py                    # digits and MNIST-5k
    python benchmarks/speed.py --data digits --repeats 3
    python benchmarks/speed.py --device cuda
"""

import argparse
import copy
import subprocess
import sys
import time

import numpy as np
import torch
from _report import markdown_table, write_result
from sklearn.decomposition import PCA

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.datasets import load_dataset


def synchronize(device):
    """Wait for the GPU's queued work, so that a timer reads the time it took."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def hand_written_fit(module, X, epochs, batch_size, lr, weight_decay, durations=None):
    """The plain PyTorch training loop that skorch's loop is measured against.

    Trains on the device of ``X`` (the module must be there). Appends each epoch's seconds to
    ``durations`` when given a list.
    """
    optimizer = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)
    module.train()
    for _ in range(epochs):
        epoch_start = time.perf_counter()
        order = torch.randperm(len(X), device=X.device)
        for start in range(0, len(X), batch_size):
            xb = X[order[start : start + batch_size]]
            optimizer.zero_grad()
            output, _ = module(xb)
            loss = (output - xb).pow(2).mean()
            loss.backward()
            optimizer.step()
        synchronize(X.device)
        if durations is not None:
            durations.append(time.perf_counter() - epoch_start)
    return module


def measure(X, epochs, repeats, device):
    # Without early stopping, so that both train every epoch on the same rows.
    params = {
        "n_components": 10,
        "max_iter": epochs,
        "random_state": 0,
        "early_stopping": False,
        "device": device,
    }
    defaults = AutoencoderTransformer()
    template = AutoencoderTransformer(**{**params, "max_iter": 1}).fit(X).net_.module_
    X_tensor = torch.tensor(X, dtype=torch.float32, device=device)
    ours, hand = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        AutoencoderTransformer(**params).fit(X)
        ours.append((time.perf_counter() - start) / epochs)
        module = copy.deepcopy(template)
        start = time.perf_counter()
        hand_written_fit(
            module,
            X_tensor,
            epochs,
            defaults.batch_size,
            defaults.learning_rate,
            defaults.weight_decay,
        )
        hand.append((time.perf_counter() - start) / epochs)
    return float(np.median(ours)), float(np.median(hand))


# Polls the resident set size during fit (Linux /proc), since the process peak is already
# set by imports and data loading before fit starts. On a GPU, torch's own count of the peak.
_PEAK_MEMORY = """
import os, sys, threading, time
import torch
from sklearn.decomposition import PCA
from sklearn_ae import AutoencoderTransformer
from sklearn_ae.datasets import load_dataset
X = load_dataset("mnist").data
device = sys.argv[2]
if device != "cpu":
    AutoencoderTransformer(10, max_iter=5, random_state=0, device=device).fit(X)
    print(torch.cuda.max_memory_allocated(device) / 2**20)
    sys.exit()
model = PCA(10) if sys.argv[1] == "pca" else AutoencoderTransformer(10, max_iter=5, random_state=0)
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
baseline, peak, running = rss(), [0], [True]
def watch():
    while running[0]:
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
thread = threading.Thread(target=watch)
thread.start()
model.fit(X)
running[0] = False
thread.join()
print(max(peak[0] - baseline, 0) / 2**20)
"""


def fit_peak_memory_mib(which, device):
    """Peak memory (MiB) that fitting adds, in a fresh process: resident, or the GPU's."""
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_MEMORY, which, device],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def transform_throughput(X_fit, X_transform, device):
    """Rows per second of transform (best of 3) and ms for one row (median of 50), AE and PCA."""
    rates, latency = {}, {}
    autoencoder = AutoencoderTransformer(10, max_iter=5, device=device)
    for name, model in [("pca", PCA(10)), ("ae", autoencoder)]:
        model.fit(X_fit)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            model.transform(X_transform)
            times.append(time.perf_counter() - start)
        rates[name] = len(X_transform) / min(times)
        times = []
        for row in X_transform[:50]:
            start = time.perf_counter()
            model.transform(row[None, :])
            times.append(time.perf_counter() - start)
        latency[name] = 1000 * float(np.median(times))
    return rates, latency


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits,mnist")
    parser.add_argument("--epochs", type=int, default=100, help="default: the estimator's")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="where the autoencoders train")
    args = parser.parse_args()
    on_gpu = args.device != "cpu"
    rows = []
    for name in args.data.split(","):
        X = load_dataset(name).data[:4000]
        ours, hand = measure(X, args.epochs, args.repeats, args.device)
        rows.append(
            [name, len(X), f"{ours * 1000:.1f}", f"{hand * 1000:.1f}", f"{ours / hand:.3f}"]
        )
        print(*rows[-1], flush=True)
    mnist = load_dataset("mnist").data
    rates, latency = transform_throughput(mnist, np.vstack([mnist, mnist]), args.device)
    # PCA does not run on the GPU: only the autoencoder has a GPU peak.
    memory = {"ae": f"{fit_peak_memory_mib('ae', args.device):.0f}"}
    memory["pca"] = "-" if on_gpu else f"{fit_peak_memory_mib('pca', args.device):.0f}"
    print(rates, latency, memory, flush=True)
    header = ["data", "rows", "fit ms/epoch", "hand-written loop ms/epoch", "ratio"]
    body = [
        "AutoencoderTransformer defaults (hidden (512, 256), batch 128, Adam lr 1e-3, "
        f"weight decay 1e-5) but early_stopping=False, n_components=10; {args.epochs} epochs "
        "per run, "
        f"median of {args.repeats} interleaved runs, both on device '{args.device}'.",
        "",
        *markdown_table(header, rows),
        "",
        "Transform throughput (10,000 MNIST rows, n_components=10, best of 3; inference runs "
        "in fixed 128-row chunks so that a row's output never depends on the other rows), "
        "the time of a one-row call (median of 50), and the peak "
        f"{'GPU memory allocated by' if on_gpu else 'resident memory added by'} fit on "
        "MNIST-5k (fresh process, AE 5 epochs):",
        "",
        *markdown_table(
            ["", "PCA", "AutoencoderTransformer"],
            [
                ["transform rows/s", f"{rates['pca']:,.0f}", f"{rates['ae']:,.0f}"],
                ["transform of one row, ms", f"{latency['pca']:.2f}", f"{latency['ae']:.2f}"],
                ["fit peak memory MiB", memory["pca"], memory["ae"]],
            ],
        ),
    ]
    title = "Training speed: fit vs a hand-written PyTorch loop"
    print(f"wrote {write_result('speed', title, body, 'cuda' if on_gpu else '')}")


if __name__ == "__main__":
    main()
