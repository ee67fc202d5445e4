"""The comparison engine, the report and the ``sklearn-ae compare`` command (tiny subsets)."""

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, FastICA

from sklearn_ae import AutoencoderTransformer
from sklearn_ae._cli import main
from sklearn_ae.compare import METHODS, Method, changed_parameters, compare
from sklearn_ae.datasets import load_table


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def test_compare_measures_each_method_on_held_out_rows(digits):
    X, y = digits
    result = compare(X, y, methods=["pca", "tsne", "ae", "vae"], max_iter=3)
    table = result.table.set_index("method")
    assert list(table.index) == ["pca", "tsne", "ae", "vae"]
    assert result.X_test.shape == (60, 64)
    assert table[["knn_accuracy", "trustworthiness"]].apply(lambda c: c.between(0, 1)).all().all()
    # t-SNE has no inverse and no transform: no reconstruction error, no transform time.
    assert np.isnan(table.loc["tsne", "reconstruction_mse"])
    assert np.isnan(table.loc["tsne", "transform_seconds"])
    assert "together" in table.loc["tsne", "evaluation"]
    pca = result.estimators["pca"]
    expected = np.mean((result.X_test - pca.inverse_transform(pca.transform(result.X_test))) ** 2)
    assert table.loc["pca", "reconstruction_mse"] == pytest.approx(expected)
    assert result.scaling.startswith("none")
    # Only the VAE has a posterior whose units can collapse.
    assert table.loc["vae", "active_units"] in range(3)
    assert table[["active_units"]].drop(index="vae").isna().all().all()


@pytest.mark.parametrize(
    "n_components, image_shape, parameters",
    [
        (10, (16, 16), "architecture='conv', image_shape=(16, 16), max_iter=1"),
        (2, (16, 16), "max_iter=1"),
        (10, None, "max_iter=1"),
    ],
)
def test_autoencoder_recipe_convolves_large_images_at_many_components(
    digits, n_components, image_shape, parameters
):
    X, y = digits
    upscaled = np.kron(X.reshape(-1, 8, 8), np.ones((2, 2))).reshape(len(X), 256)
    result = compare(
        upscaled, y, methods=["ae"], n_components=n_components, max_iter=1, image_shape=image_shape
    )
    assert result.table.loc[0, "parameters"] == parameters
    assert result.embeddings["ae"].shape == (60, n_components)


def test_compare_standardizes_unbounded_data_and_works_without_labels():
    X = np.random.RandomState(0).randn(120, 6) * 50
    result = compare(X, methods=["pca"])
    assert "StandardScaler" in result.scaling
    assert np.isnan(result.table.loc[0, "knn_accuracy"])
    assert abs(result.X_test.mean()) < 0.5


def test_compare_leaves_trustworthiness_undefined_on_a_tiny_test_split(digits):
    X, y = digits
    result = compare(X[:50], y[:50], methods=["pca"])
    row = result.table.iloc[0]
    assert len(result.X_test) == 10
    assert np.isnan(row["trustworthiness"])
    assert 0 <= row["knn_accuracy"] <= 1 and row["reconstruction_mse"] > 0


def test_missing_optional_package_is_a_note_not_a_crash(digits, monkeypatch):
    monkeypatch.setitem(
        METHODS, "fake", Method("Fake", lambda *a: None, requires="no_such_package_xyz")
    )
    result = compare(*digits, methods=["pca", "fake"])
    assert list(result.table["method"]) == ["pca"]
    assert "no_such_package_xyz" in result.notes[0]


def test_compare_rejects_unknown_methods(digits):
    with pytest.raises(ValueError, match=r"Unknown methods \['lda'\]"):
        compare(*digits, methods=["pca", "lda"])


def test_compare_runs_user_estimators_beside_named_methods(digits):
    X, y = digits
    small_ae = AutoencoderTransformer(3, hidden_layer_sizes=(16,), max_iter=2, random_state=1)
    result = compare(
        X, y, methods=["pca", ("small ae", small_ae), FastICA(3, random_state=0)], n_components=3
    )
    table = result.table.set_index("method")
    assert list(table.index) == ["pca", "small ae", "FastICA"]
    # The user's estimator is left unfitted; compare fitted a clone, as built.
    assert not hasattr(small_ae, "net_")
    assert result.estimators["small ae"].n_components == 3
    assert table.loc["small ae", "parameters"] == "hidden_layer_sizes=(16,), max_iter=2"
    assert table.loc["FastICA", "reconstruction_mse"] > 0
    assert table[["knn_accuracy", "trustworthiness"]].notna().all().all()
    # The same split for every method: PCA's numbers match a run of PCA alone.
    alone = compare(X, y, methods=["pca"], n_components=3).table
    assert alone.loc[0, "reconstruction_mse"] == table.loc["pca", "reconstruction_mse"]


def test_compare_refuses_repeated_method_names(digits):
    with pytest.raises(ValueError, match=r"\['PCA'\] occur more than once"):
        compare(*digits, methods=[PCA(2), PCA(3)])


def test_parameters_column_shows_what_was_set_not_constructor_internals():
    class FillsInItsOwnDefault(PCA):
        def __init__(self, n_components=None, whiten=False, tol=0.0):
            super().__init__(n_components, whiten=whiten)
            self.tol = {"filled": "in __init__"} if tol == 0.0 else tol

    assert changed_parameters(FillsInItsOwnDefault(2)) == ""
    assert changed_parameters(FillsInItsOwnDefault(2, whiten=True)) == "whiten=True"


def test_umap_row_shows_its_parameters_as_set_and_fits_without_warnings(digits):
    pytest.importorskip("umap")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = compare(*digits, methods=["umap"])
    # UMAP writes fitted state into its parameters; the column shows what compare set.
    assert result.table.loc[0, "parameters"] == "n_jobs=1"


def test_cli_writes_a_report_folder(tmp_path, capsys):
    out = tmp_path / "report"
    main(
        [
            "compare",
            "--max-samples",
            "300",
            "--epochs",
            "2",
            "--methods",
            "pca,ae,vae",
            "--out",
            str(out),
        ]
    )
    stdout = capsys.readouterr().out
    assert f"Report written to {out / 'report.md'}" in stdout
    report = (out / "report.md").read_text()
    assert (
        "| PCA |" in report and "| VAE |" in report and "digits (300 rows, 64 features)" in report
    )
    assert "| Autoencoder | max_iter=2 |" in report
    results = json.loads((out / "results.json").read_text())
    assert [r["method"] for r in results["results"]] == ["pca", "ae", "vae"]
    for figure in [
        "embeddings.png",
        "reconstructions.png",
        "samples.png",
        "vae_latent_grid.png",
        "loss_curves.png",
    ]:
        assert (out / figure).stat().st_size > 1000
        assert f"({figure})" in report


def test_cli_reads_a_csv_with_a_target(tmp_path):
    X, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(X[:200], columns=[f"p{i}" for i in range(64)]).assign(label=y[:200])
    frame.to_csv(tmp_path / "table.csv", index=False)
    main(
        [
            "compare",
            "--data",
            str(tmp_path / "table.csv"),
            "--target",
            "label",
            "--n-components",
            "3",
            "--methods",
            "pca,ae",
            "--epochs",
            "2",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["scaling"].startswith("StandardScaler")
    assert all(r["knn_accuracy"] is not None for r in results["results"])


@pytest.mark.parametrize(
    "content, args, message",
    [
        (None, ["--data", "missing.csv"], "No file at"),
        ("a,b\n1,x\n2,y\n", [], r"Columns \['b'\] of t.csv are not numeric"),
        ("a,b\n1,2\n3,4\n", ["--target", "label"], "The target column 'label' is not in t.csv"),
        ("a,b\n1,\n3,4\n", [], r"Columns \['b'\] of t.csv have missing values"),
        (None, ["--methods", "pca,lda"], r"Unknown methods \['lda'\]"),
        ("", [], r"t.csv is empty; a CSV table needs a header row"),
        ("a,b\n", [], r"t.csv has no rows of data \(only 2 column names\)"),
        # The options are checked before the (here empty) file is read.
        ("", ["--methods", "pca,lda"], r"--methods: Unknown methods \['lda'\]"),
    ],
)
def test_cli_errors_are_clear(tmp_path, capsys, content, args, message):
    path = tmp_path / "t.csv"
    if content is not None:
        path.write_text(content)
    data = ["--data", str(path)] if content is not None else []
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", *data, *args, "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("sklearn-ae compare: error:")
    assert re.search(message, err)


def test_load_table_reads_npy_with_a_column_index(tmp_path):
    np.save(tmp_path / "a.npy", np.column_stack([np.ones((5, 2)), np.arange(5)]))
    data = load_table(tmp_path / "a.npy", target=2)
    assert data.data.shape == (5, 2) and list(data.target) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="use a .csv, .parquet or .npy file"):
        (tmp_path / "a.txt").write_text("1")
        load_table(tmp_path / "a.txt")
