"""Test reconstruction MSE of compare's autoencoder recipe against PCA.

80/20 stratified split (random_state=0), pixels in [0, 1], n_components in
{2, 10, 32}, through the same ``sklearn_ae.compare`` code as ``sklearn-ae compare``,
which is told the image shape: the recipe (``sklearn_ae.compare.autoencoder_recipe``)
is AutoencoderTransformer's defaults, with convolutions for images of 12x12 pixels
or more at 10 or more components. Writes benchmarks/results/reconstruction.md.

    python benchmarks/reconstruction.py                   # digits and MNIST-5k
    python benchmarks/reconstruction.py --data digits
    python benchmarks/reconstruction.py --method conv_ae   # writes reconstruction_conv_ae.md
"""

import argparse

from _report import markdown_table, write_result

from sklearn_ae.compare import METHODS, compare
from sklearn_ae.datasets import load_dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits,mnist", help="comma-separated data sets")
    parser.add_argument("--components", default="2,10,32")
    parser.add_argument("--method", default="ae", help="a key of sklearn_ae.compare.METHODS")
    args = parser.parse_args()
    rows = []
    for name in args.data.split(","):
        data = load_dataset(name)
        for k in map(int, args.components.split(",")):
            table = compare(
                data.data,
                data.target,
                methods=["pca", args.method],
                n_components=k,
                image_shape=data.image_shape,
            ).table
            pca, ae = table.set_index("method").loc[["pca", args.method]].to_dict(orient="records")
            ratio = ae["reconstruction_mse"] / pca["reconstruction_mse"]
            rows.append(
                [
                    name,
                    k,
                    f"{pca['reconstruction_mse']:.4f}",
                    f"{ae['reconstruction_mse']:.4f}",
                    f"{ratio:.2f}",
                    ae["parameters"] or "defaults",
                ]
            )
            print(*rows[-1], flush=True)
    label = METHODS[args.method].label
    header = ["data", "k", "PCA test MSE", f"{label} test MSE", f"{label} / PCA", "parameters"]
    path = write_result(
        "reconstruction" if args.method == "ae" else f"reconstruction_{args.method}",
        f"Reconstruction: {label} (defaults of sklearn-ae compare) vs PCA",
        [
            "80/20 stratified split, random_state=0, pixels scaled to [0, 1], image shape given "
            "to compare. parameters: those compare's recipe set away from the defaults.",
            "",
            *markdown_table(header, rows),
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
