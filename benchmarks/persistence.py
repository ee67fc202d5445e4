"""File size and save/load times: sklearn_ae.save/load against pickle, and ONNX export.

The model is AutoencoderTransformer's defaults (n_components=10, random_state=0)
fitted on MNIST-5k (pixels in [0, 1]). Times are medians of 5 runs; every loaded
model's transform is checked equal to the original's. Writes
benchmarks/results/persistence.md.

    python benchmarks/persistence.py
    python benchmarks/persistence.py --data digits
"""

import argparse
import os
import pickle
import statistics
import tempfile
import time

import numpy as np
from _report import markdown_table, write_result

from sklearn_ae import AutoencoderTransformer, export_onnx, load, save
from sklearn_ae.datasets import load_dataset


def median_seconds(fn, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist")
    args = parser.parse_args()
    X = load_dataset(args.data).data
    model = AutoencoderTransformer(10, random_state=0).fit(X)
    folder = tempfile.mkdtemp()
    paths = {
        "sklearn_ae.save": os.path.join(folder, "m.safetensors"),
        "pickle": os.path.join(folder, "m.pkl"),
    }

    def pickle_save():
        with open(paths["pickle"], "wb") as file:
            pickle.dump(model, file)

    def pickle_load():
        with open(paths["pickle"], "rb") as file:
            return pickle.load(file)

    ways = {
        "sklearn_ae.save": (
            lambda: save(model, paths["sklearn_ae.save"]),
            lambda: load(paths["sklearn_ae.save"]),
        ),
        "pickle": (pickle_save, pickle_load),
    }
    rows = []
    for name, (saver, loader) in ways.items():
        save_s, _ = median_seconds(saver)
        load_s, loaded = median_seconds(loader)
        same = np.array_equal(loaded.transform(X), model.transform(X))
        size = os.path.getsize(paths[name]) / 2**20
        rows.append([name, f"{size:.2f}", f"{save_s * 1000:.0f}", f"{load_s * 1000:.0f}", same])
        print(*rows[-1], flush=True)
    onnx_s, onnx_path = median_seconds(lambda: export_onnx(model, os.path.join(folder, "e.onnx")))
    rows.append(
        [
            "export_onnx (encoder)",
            f"{os.path.getsize(onnx_path) / 2**20:.2f}",
            f"{onnx_s * 1000:.0f}",
            "-",
            "-",
        ]
    )
    header = ["format", "MiB", "save ms", "load ms", "same transform"]
    body = [
        f"AutoencoderTransformer(10, random_state=0) with its defaults, fitted on {args.data} "
        f"({X.shape[0]} x {X.shape[1]}, {model.n_iter_} epochs); medians of 5 runs.",
        "",
        *markdown_table(header, rows),
    ]
    print(f"wrote {write_result('persistence', 'Saving and loading a fitted model', body)}")


if __name__ == "__main__":
    main()
