"""Seconds per epoch of the convolutional autoencoder against hand-written loops of it.

``AutoencoderTransformer(10, architecture="conv")`` (channels (32, 64), batch 128, Adam) on
MNIST-5k (4,000 rows), no early stopping; the hand-written loop trains a copy of the very module
``fit`` builds, with a plain ``torch.optim.Adam``, once in PyTorch's default memory format (as a
user would write it) and once in ``torch.channels_last`` (the format oneDNN's convolutions prefer
on x86, which ``fit`` uses). Median of
--repeats interleaved runs. Writes benchmarks/results/conv_speed.md; with ``--device cuda``
all train on the GPU and the file is conv_speed_cuda.md.

    python benchmarks/conv_speed.py
    python benchmarks/conv_speed.py --epochs 5 --repeats 1
    python benchmarks/conv_speed.py --device cuda
"""

import argparse
import copy
import time

import numpy as np
import torch
from _report import markdown_table, write_result
from speed import hand_written_fit

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.datasets import load_dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    X = load_dataset("mnist").data[:4000]
    params = {
        "architecture": "conv",
        "early_stopping": False,
        "random_state": 0,
        "device": args.device,
    }
    template = AutoencoderTransformer(10, max_iter=1, **params).fit(X).net_.module_
    X_tensor = torch.tensor(X, dtype=torch.float32, device=args.device)

    def train_copy(memory_format):
        module = copy.deepcopy(template).to(memory_format=memory_format)
        hand_written_fit(module, X_tensor, args.epochs, 128, 1e-3, 1e-5)

    runs = {
        "fit": lambda: AutoencoderTransformer(10, max_iter=args.epochs, **params).fit(X),
        "loop": lambda: train_copy(torch.contiguous_format),
        "loop, channels_last": lambda: train_copy(torch.channels_last),
    }
    seconds = {key: [] for key in runs}
    for _ in range(args.repeats):
        for key, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[key].append((time.perf_counter() - start) / args.epochs)
    loop = float(np.median(seconds["loop"]))
    rows = [
        [key, f"{np.median(values):.3f}", f"{np.median(values) / loop:.2f}"]
        for key, values in seconds.items()
    ]
    for row in rows:
        print(*row, flush=True)
    body = [
        f"MNIST-5k (4,000 rows), {args.epochs} epochs per run, median of {args.repeats} "
        f"interleaved runs, {torch.get_num_threads()} torch threads, device '{args.device}'.",
        "",
        *markdown_table(["run", "s/epoch", "vs loop"], rows),
    ]
    title = "Convolutional autoencoder: s/epoch vs a loop"
    tag = "" if args.device == "cpu" else "cuda"
    print(f"wrote {write_result('conv_speed', title, body, tag)}")


if __name__ == "__main__":
    main()
