"""2-D structure: 5-NN test accuracy and trustworthiness of the autoencoders vs PCA, t-SNE, UMAP.

80/20 stratified split (random_state=0), pixels in [0, 1], through the same
``sklearn_ae.compare`` code as ``sklearn-ae compare`` (install the ``compare``
extra for UMAP and openTSNE). Writes benchmarks/results/structure.md.

    python benchmarks/structure.py                       # digits and MNIST-5k
    python benchmarks/structure.py --data digits
"""

import argparse

from _report import markdown_table, write_result

from sklearn_ae.compare import compare
from sklearn_ae.datasets import load_dataset

METHODS = ["pca", "tsne", "opentsne", "umap", "ae", "vae", "ae_umap", "vae_umap", "ae_infonce"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits,mnist", help="comma-separated data sets")
    args = parser.parse_args()
    rows, notes = [], []
    for name in args.data.split(","):
        data = load_dataset(name)
        result = compare(
            data.data,
            data.target,
            methods=METHODS,
            n_components=2,
            image_shape=data.image_shape,
            progress=True,
        )
        notes += result.notes
        for row in result.table.to_dict(orient="records"):
            rows.append(
                [
                    name,
                    row["label"],
                    f"{row['knn_accuracy']:.3f}",
                    f"{row['trustworthiness']:.3f}",
                ]
            )
            print(*rows[-1], flush=True)
    header = ["data", "method", "5-NN test accuracy", "trustworthiness"]
    body = [
        "80/20 stratified split, random_state=0, n_components=2. scikit-learn's t-SNE has no "
        "transform: it embeds train and test rows together (labels unused).",
        "",
        *markdown_table(header, rows),
        *[f"\nNote: {n}" for n in notes],
    ]
    print(f"wrote {write_result('structure', '2-D structure vs PCA, t-SNE and UMAP', body)}")


if __name__ == "__main__":
    main()
