"""Test reconstruction MSE of compare's autoencoder recipe against PCA.

80/20 stratified split (random_state=0 unless --seeds), pixels in [0, 1], n_components in
{2, 10, 32}, through the same ``sklearn_ae.compare`` code as ``sklearn-ae compare``,
which is told the image shape: the recipe (``sklearn_ae.compare.autoencoder_recipe``)
is AutoencoderTransformer's defaults, with convolutions for images of 12x12 pixels
or more at 10 or more components. Writes benchmarks/results/reconstruction.md.

    python benchmarks/reconstruction.py                   # digits and MNIST-5k
    python benchmarks/reconstruction.py --data digits
    python benchmarks/reconstruction.py --seeds 0,1,2     # split and model seeds
    python benchmarks/reconstruction.py --method conv_ae   # writes reconstruction_conv_ae.md
"""

import argparse
import itertools

from _report import markdown_table, write_result

from sklearn_ae.compare import METHODS, compare
from sklearn_ae.datasets import load_dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits,mnist", help="comma-separated data sets")
    parser.add_argument("--components", default="2,10,32")
    parser.add_argument("--method", default="ae", help="a key of sklearn_ae.compare.METHODS")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds of split and model")
    args = parser.parse_args()
    rows = []
    for name in args.data.split(","):
        data = load_dataset(name)
        for k, seed in itertools.product(
            map(int, args.components.split(",")), map(int, args.seeds.split(","))
        ):
            table = compare(
                data.data,
                data.target,
                methods=["pca", args.method],
                n_components=k,
                random_state=seed,
                image_shape=data.image_shape,
            ).table
            pca, ae = table.set_index("method").loc[["pca", args.method]].to_dict(orient="records")
            ratio = ae["reconstruction_mse"] / pca["reconstruction_mse"]
            rows.append(
                [
                    name,
                    k,
                    seed,
                    f"{pca['reconstruction_mse']:.4f}",
                    f"{ae['reconstruction_mse']:.4f}",
                    f"{ratio:.2f}",
                    ae["parameters"] or "defaults",
                ]
            )
            print(*rows[-1], flush=True)
    label = METHODS[args.method].label
    header = [
        "data",
        "k",
        "seed",
        "PCA test MSE",
        f"{label} test MSE",
        f"{label} / PCA",
        "parameters",
    ]
    path = write_result(
        "reconstruction" if args.method == "ae" else f"reconstruction_{args.method}",
        f"Reconstruction: {label} (defaults of sklearn-ae compare) vs PCA",
        [
            "80/20 stratified split, pixels scaled to [0, 1], image shape given to compare; "
            "the seed is compare's random_state (split and model). parameters: those "
            "compare's recipe set away from the defaults.",
            "",
            *markdown_table(header, rows),
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
