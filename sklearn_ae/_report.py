"""Write a comparison as a report folder: report.md, results.json and PNG figures."""

import json
import math

import numpy as np

from . import plotting

_COLUMNS = [
    ("label", "method", "{}"),
    ("parameters", "parameters", "{}"),
    ("reconstruction_mse", "test reconstruction MSE", "{:.4f}"),
    ("knn_accuracy", "5-NN test accuracy", "{:.3f}"),
    ("trustworthiness", "trustworthiness", "{:.3f}"),
    ("sample_precision", "sample precision", "{:.3f}"),
    ("sample_recall", "sample recall", "{:.3f}"),
    ("active_units", "active units", "{:.0f}"),
    ("fit_seconds", "fit s", "{:.2f}"),
    ("transform_seconds", "transform s", "{:.3f}"),
    ("evaluation", "evaluation", "{}"),
]


def _cell(value, fmt):
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return fmt.format(value)


def markdown_table(header, rows):
    """A markdown table, as lines, from a header and rows of cells.

    The one table writer of the package, the CLI report and ``benchmarks/``.

    Examples
    --------
    >>> for line in markdown_table(["k", "MSE"], [[2, "0.05"]]):
    ...     print(line)
    | k | MSE |
    |---|---|
    | 2 | 0.05 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def comparison_table(table):
    """The comparison table as markdown lines; n/a where a metric does not apply."""
    rows = [
        [_cell(row[key], fmt) for key, _, fmt in _COLUMNS]
        for row in table.to_dict(orient="records")
    ]
    return markdown_table([title for _, title, _ in _COLUMNS], rows)


def save_figures(comparison, folder, image_shape=None):
    """Save the figures that apply to this comparison; return their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = {}
    table = comparison.table.set_index("method")
    labels = {key: table.loc[key, "label"] for key in comparison.estimators}
    two_d = {labels[k]: Z for k, Z in comparison.embeddings.items() if Z.shape[1] >= 2}
    if two_d:
        figures["embeddings.png"] = plotting.plot_embeddings(two_d, comparison.y_test)
    neural = {k: est for k, est in comparison.estimators.items() if hasattr(est, "net_")}
    if neural:
        curves = {labels[k]: est.loss_curve_ for k, est in neural.items()}
        figures["loss_curves.png"] = plotting.plot_loss_curves(curves)
    if image_shape is not None:
        figures.update(_image_figures(comparison, labels, neural, image_shape))
    for name, fig in figures.items():
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
    return list(figures)


def _image_figures(comparison, labels, neural, image_shape):
    figures = {}
    X = comparison.X_test[:10]
    rows = {"original": X}
    for key, est in comparison.estimators.items():
        if not np.isnan(comparison.table.set_index("method").loc[key, "reconstruction_mse"]):
            rows[labels[key]] = est.inverse_transform(comparison.embeddings[key][:10])
    if len(rows) > 1:
        figures["reconstructions.png"] = plotting.plot_images(rows, image_shape)
    samples = {labels[k]: est.sample(10, random_state=0) for k, est in neural.items()}
    if samples:
        figures["samples.png"] = plotting.plot_images(samples, image_shape)
    if "vae" in neural and neural["vae"].n_components == 2:
        figures["vae_latent_grid.png"] = plotting.plot_latent_grid(neural["vae"], image_shape)
    return figures


def write_report(comparison, folder, settings, figures=()):
    """Write report.md and results.json into ``folder``; return the report's path."""
    folder.mkdir(parents=True, exist_ok=True)
    settings_lines = [f"- {key}: {value}" for key, value in settings.items()]
    lines = [
        "# sklearn-ae compare",
        "",
        *settings_lines,
        f"- scaling (every method): {comparison.scaling}",
        "",
        *comparison_table(comparison.table),
        "",
        "Metrics are measured on the held-out test split. Reconstruction MSE applies to methods "
        "with an inverse mapping; scikit-learn's t-SNE has no transform, so it embeds the training "
        "and test rows together (without their labels) and is scored on the test rows of that "
        "embedding; its fit time covers both. Trustworthiness (scikit-learn) uses 5 neighbours.",
    ]
    if comparison.notes:
        lines += ["", "Notes:", *[f"- {note}" for note in comparison.notes]]
    if figures:
        lines += ["", "## Figures", "", *[f"![{name}]({name})" for name in figures]]
    (folder / "report.md").write_text("\n".join(lines) + "\n")
    records = comparison.table.astype(object).where(comparison.table.notna(), None)
    results = {
        "settings": settings,
        "scaling": comparison.scaling,
        "notes": comparison.notes,
        "results": records.to_dict(orient="records"),
    }
    (folder / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    return folder / "report.md"
