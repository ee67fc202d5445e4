"""The neighbour-graph terms (``neighbor_loss``): graphs, draws, the terms, and fits."""

import sys

import numpy as np
import pytest
import torch

from sklearn_ae import AutoencoderTransformer, VAETransformer, load, save
from sklearn_ae._callbacks import early_stopper
from sklearn_ae._graphs import (
    POSITIVE_DRAWS,
    NeighborGraph,
    fuzzy_neighbor_graph,
    reference_neighbor_graph,
)
from sklearn_ae._neighbor_terms import InfoNCENeighborTerm, UMAPNeighborTerm

pytest.importorskip("umap")

SMALL = {"hidden_layer_sizes": (32,), "max_iter": 3, "batch_size": 32, "random_state": 0}


def test_graph_is_symmetric_and_links_near_rows():
    rng = np.random.RandomState(0)
    # Two far-apart blobs: every edge stays inside a blob.
    X = np.vstack([rng.randn(20, 3), rng.randn(20, 3) + 50])
    graph = fuzzy_neighbor_graph(X, n_neighbors=5).toarray()
    assert np.allclose(graph, graph.T)
    assert graph[:20, 20:].max() == 0 and graph[:20, :20].max() > 0
    assert (graph.sum(axis=1) > 0).all()


def test_graph_caps_neighbors_at_the_number_of_rows():
    graph = fuzzy_neighbor_graph(np.random.RandomState(0).rand(4, 2), n_neighbors=15)
    assert graph.shape == (4, 4)


def test_reference_graph_links_new_rows_to_their_nearest_reference_rows():
    reference = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
    graph = reference_neighbor_graph(np.array([[10.05, 10.0]]), reference, n_neighbors=2)
    assert graph.shape == (1, 4)
    assert set(graph.indices) == {2, 3}


def test_draws_come_from_the_graph_and_seeded_draws_repeat():
    rng = np.random.RandomState(0)
    X = rng.rand(50, 4)
    graph = fuzzy_neighbor_graph(X, n_neighbors=5)
    rows = torch.arange(50)
    neighbors = NeighborGraph(graph, torch.tensor(X), seed=3)
    drawn, weights = neighbors.draw(rows, None)
    assert drawn.shape == (50, POSITIVE_DRAWS)
    dense = graph.toarray()
    assert all(dense[i, j] > 0 for i, row in enumerate(drawn.tolist()) for j in row)
    assert weights.mean().item() == pytest.approx(1.0, rel=1e-5)
    first, second = neighbors.neighbor_batch(rows[:10]), neighbors.neighbor_batch(rows[:10])
    assert torch.equal(first["neighbor_x"], second["neighbor_x"])
    assert torch.equal(first["negatives"], second["negatives"])


def test_term_falls_as_neighbours_come_closer():
    term = UMAPNeighborTerm(1.0)
    codes = torch.zeros(8, 2)
    negatives = torch.randn(8, 5, 2) * 5
    far = term.cross_entropy(codes, torch.full((8, 2), 4.0), negatives)
    near = term.cross_entropy(codes, torch.full((8, 2), 0.2), negatives)
    assert (near < far).all()
    assert torch.isfinite(term.cross_entropy(codes, codes, codes[:, None].expand(8, 5, 2))).all()


def test_infonce_term_falls_as_neighbours_come_closer_and_ignores_the_row_itself():
    term = InfoNCENeighborTerm(1.0)
    codes = torch.randn(16, 2) * 5
    far = term.contrast(codes, codes[:, None, :] + 4.0)
    near = term.contrast(codes, codes[:, None, :] + 0.2)
    assert (near < far).all()
    # Each row's own code is no negative: with every other row far away, a neighbour at the
    # row's own position costs almost nothing.
    spread = torch.arange(16.0)[:, None] * torch.tensor([[1000.0, 0.0]])
    coinciding = spread.clone().requires_grad_()
    value = term.contrast(coinciding, coinciding[:, None, :])
    assert (value < 1e-3).all()
    value.sum().backward()
    assert torch.isfinite(coinciding.grad).all()


def test_infonce_term_does_not_depend_on_the_batch_size():
    # Early stopping compares validation losses computed on blocks of other sizes.
    term = InfoNCENeighborTerm(1.0)
    codes = torch.randn(512, 2, generator=torch.Generator().manual_seed(0)) * 10
    neighbors = codes[:, None, :] + 1.0
    whole = term.contrast(codes, neighbors).mean()
    in_blocks = torch.cat(
        [term.contrast(c, n) for c, n in zip(codes.split(32), neighbors.split(32), strict=True)]
    )
    assert abs(float(in_blocks.mean() / whole) - 1) < 0.05
    assert float(term.contrast(codes[:1], neighbors[:1])) == 0.0


def test_infonce_fit_is_not_undone_by_early_stopping(digits_split):
    model = AutoencoderTransformer(
        2, neighbor_loss="infonce", hidden_layer_sizes=(32,), max_iter=12, random_state=0
    ).fit(digits_split[0])
    assert not early_stopper(model.net_).kept_start_
    assert len(model.net_.history) == 12


def neighbor_objective(loss, X, Z, batch_size=256):
    """Mean term ``loss`` of codes Z on the graph of X, with fixed draws, in batches."""
    graph = NeighborGraph(fuzzy_neighbor_graph(X, 15), torch.tensor(X, dtype=torch.float32))
    generator = torch.Generator().manual_seed(0)
    rows = torch.arange(len(X))
    neighbors, weights = graph.draw(rows, generator)
    negatives = torch.randint(len(X), (len(X), 20), generator=generator)
    Z = torch.tensor(Z, dtype=torch.float32)
    term = {"umap": UMAPNeighborTerm, "infonce": InfoNCENeighborTerm}[loss](1.0)
    per_row = [
        term.per_row(Z[batch], Z[neighbors[batch]], {"negatives": negatives[batch] % len(batch)})
        for batch in torch.arange(len(X)).split(batch_size)
    ]
    return float((weights * torch.cat(per_row)).mean())


@pytest.mark.parametrize(
    "estimator, loss",
    [
        (AutoencoderTransformer, "umap"),
        (VAETransformer, "umap"),
        (AutoencoderTransformer, "infonce"),
    ],
)
def test_neighbor_term_lowers_its_objective_on_the_codes(estimator, loss, digits_split):
    # What the term optimises, measured the same way for the models. (Whether the map also
    # classifies new rows better depends on the fit's length and the network: see the
    # user guide and benchmarks/neighbor_maps.py.)
    X_train = digits_split[0]
    params = {"hidden_layer_sizes": (64,), "max_iter": 20, "early_stopping": False}

    def objective(**extra):
        model = estimator(2, random_state=0, **params, **extra).fit(X_train)
        return neighbor_objective(loss, X_train, model.transform(X_train))

    assert objective(neighbor_loss=loss) < 0.9 * objective()


@pytest.mark.parametrize("loss", ["umap", "infonce"])
def test_history_logs_the_term_and_validation_counts_it(loss, digits_split):
    X_train = digits_split[0]
    model = AutoencoderTransformer(2, neighbor_loss=loss, **SMALL).fit(X_train)
    row = model.net_.history[-1]
    assert row[f"train_neighbors_{loss}"] > 0
    # The validation loss holds the weighted term next to a reconstruction MSE below 0.1.
    assert row["valid_loss"] > model.neighbor_weight * 0.5


def test_same_random_state_gives_the_same_map(digits_split):
    X_train = digits_split[0]
    first = VAETransformer(2, neighbor_loss="umap", **SMALL).fit(X_train).transform(X_train)
    second = VAETransformer(2, neighbor_loss="umap", **SMALL).fit(X_train).transform(X_train)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    "model",
    [
        VAETransformer(2, conditional=True, neighbor_loss="umap", prior="mixture", **SMALL),
        AutoencoderTransformer(
            2,
            architecture="conv",
            conv_channels=(4,),
            neighbor_loss="umap",
            noise="masking",
            **SMALL,
        ),
        AutoencoderTransformer(2, neighbor_loss="umap", contractive_weight=1e-3, **SMALL),
        VAETransformer(2, conditional=True, neighbor_loss="infonce", **SMALL),
    ],
    ids=["conditional-mixture-vae", "denoising-conv-ae", "contractive-ae", "infonce-cvae"],
)
def test_composes_with_other_parameters(model, digits_split):
    X_train, _, y_train, _ = digits_split
    model.fit(X_train, y_train)
    Z = model.transform(X_train[:5], y_train[:5])
    assert Z.shape == (5, 2) and np.isfinite(Z).all()
    assert model.inverse_transform(Z, y_train[:5]).shape == (5, 64)
    assert np.isfinite(model.sample(3, random_state=0, y=y_train[:3])).all()


def test_partial_fit_builds_a_graph_per_chunk_and_refuses_one_row(digits_split):
    X_train = digits_split[0]
    model = AutoencoderTransformer(2, neighbor_loss="umap", **SMALL)
    model.partial_fit(X_train[:100]).partial_fit(X_train[100:200])
    assert model.n_iter_ == 2
    with pytest.raises(ValueError, match="neighbour graph.*at least 2 rows.*larger chunks"):
        model.partial_fit(X_train[:1])


def test_missing_umap_learn_is_a_clear_error(monkeypatch, digits_split):
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(ImportError, match="pip install umap-learn"):
        AutoencoderTransformer(2, neighbor_loss="umap", **SMALL).fit(digits_split[0])


def test_unknown_neighbor_loss_is_refused():
    with pytest.raises(ValueError, match="neighbor_loss"):
        AutoencoderTransformer(neighbor_loss="tsne").fit(np.random.rand(20, 4))


def test_saved_model_keeps_its_map(tmp_path, digits_split):
    X_train = digits_split[0]
    model = AutoencoderTransformer(2, neighbor_loss="umap", n_neighbors=10, **SMALL).fit(X_train)
    save(model, tmp_path / "map.safetensors")
    loaded = load(tmp_path / "map.safetensors")
    assert loaded.get_params()["n_neighbors"] == 10
    np.testing.assert_array_equal(loaded.transform(X_train), model.transform(X_train))
