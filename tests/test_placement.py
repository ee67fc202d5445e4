"""``placement="neighbors"``: new rows placed among the training codes, as UMAP's transform does.

That a row's placed code depends on the row alone, bitwise, and that the model
passes scikit-learn's checks is tested through ``ESTIMATORS`` (test_common.py,
test_row_invariance.py).
"""

import copy

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from sklearn_ae import AutoencoderTransformer, VAETransformer, export_onnx, load, save
from sklearn_ae._data import TensorDataset
from sklearn_ae._graphs import (
    NeighborGraph,
    ReferenceRows,
    fuzzy_neighbor_graph,
    membership_strengths,
)
from sklearn_ae._placement import NeighborPlacement, RowwiseAdam, fit_decoder, refine_codes

pytest.importorskip("umap")

MAP = {
    "hidden_layer_sizes": (64,),
    "max_iter": 20,
    "early_stopping": False,
    "random_state": 0,
}
SMALL = {"hidden_layer_sizes": (16,), "max_iter": 2, "batch_size": 32, "random_state": 0}


@pytest.fixture(scope="module", params=["umap", "infonce"])
def placed_map(request, digits_split):
    return AutoencoderTransformer(2, neighbor_loss=request.param, placement="neighbors", **MAP).fit(
        digits_split[0]
    )


def test_new_rows_follow_the_map_more_closely_than_the_encoder_places_them(
    placed_map, digits_split
):
    X_train, X_test, y_train, y_test = digits_split
    knn = KNeighborsClassifier(5).fit(placed_map.placement_.codes, y_train)
    encoder = copy.deepcopy(placed_map).set_params(placement="encoder")
    placed = knn.score(placed_map.transform(X_test), y_test)
    encoded = knn.score(encoder.transform(X_test), y_test)
    assert placed > encoded + 0.02


def test_the_map_refines_the_encoders_codes_of_the_training_rows(placed_map, digits_split):
    X_train = digits_split[0]
    np.testing.assert_array_equal(placed_map.placement_.rows, X_train)
    encoded = copy.deepcopy(placed_map).set_params(placement="encoder").transform(X_train)
    refined = placed_map.placement_.codes
    # The refinement sharpens the map's local structure...
    before = trustworthiness(X_train, encoded, n_neighbors=5)
    assert trustworthiness(X_train, refined, n_neighbors=5) > before + 0.01
    # ...and keeps the encoder's layout: the distances between rows mostly keep their order
    # (a map drawn afresh would not: about 0).
    assert spearmanr(pdist(encoded), pdist(refined)).statistic > 0.75


def test_without_refinement_the_map_is_the_encoders_codes(digits_split):
    X_train = digits_split[0]
    model = AutoencoderTransformer(
        2, neighbor_loss="infonce", placement="neighbors", refine_epochs=0, **SMALL
    ).fit(X_train)
    encoder = copy.deepcopy(model).set_params(placement="encoder")
    np.testing.assert_array_equal(encoder.transform(X_train), model.placement_.codes)


def test_new_rows_reach_their_cluster_on_a_large_infonce_map():
    # InfoNCE maps grow with the number of rows (median radius 64 on full MNIST), and t-SNE's
    # curve pulls a far row with a force falling as 2 / d. With a fixed step of 2 these rows
    # stopped halfway (median distance 25 of the 50 to go); the step that follows the map's size
    # takes them into their cluster (spread 10).
    rng = np.random.RandomState(0)
    centres = 100 * np.array([[1.0, 0.0], [-0.5, 0.87], [-0.5, -0.87]])
    labels = np.repeat(np.arange(3), 100)
    rows = 5 * np.eye(3)[labels] + rng.normal(size=(300, 3))
    codes = centres[labels] + 10 * rng.normal(size=(300, 2))
    new_rows = 5 * np.eye(3)[np.zeros(20, dtype=int)] + rng.normal(size=(20, 3))
    placement = NeighborPlacement(rows, codes, n_neighbors=15, seed=0, loss="infonce")
    placed = placement.place(new_rows, start=np.tile(centres[0] / 2, (20, 1)))
    assert np.median(np.linalg.norm(placed - centres[0], axis=1)) < 10


def test_a_refined_row_moves_as_under_adam_alone_and_untouched_rows_stay():
    # torch's Adam keeps moving a row on its momentum after the batches that touch it, so
    # its steps would grow with the number of batches in an epoch, i.e. with the data.
    start = torch.tensor([[3.0, -1.0], [5.0, 5.0], [7.0, 0.0]], dtype=torch.float64)
    codes = start.clone().requires_grad_(True)
    alone = start[:1].clone().requires_grad_(True)
    rowwise, adam = RowwiseAdam(codes), torch.optim.Adam([alone], lr=0.1)
    for step in range(20):
        codes.grad, alone.grad = None, None
        # Row 0 is touched every step, row 1 only on the first step, row 2 never.
        touched = torch.tensor([0] if step else [0, 1])
        (codes[touched] ** 2).sum().backward()
        rowwise.step(touched, lr=0.1)
        (alone**2).sum().backward()
        adam.step()
    torch.testing.assert_close(codes[:1].detach(), alone.detach())
    assert abs(float(codes.detach()[1, 0]) - 4.9) < 1e-9
    torch.testing.assert_close(codes[2].detach(), start[2])


def test_the_decoder_is_fitted_to_the_refined_codes_and_the_encoder_kept(digits_split):
    X_train = digits_split[0]
    model = AutoencoderTransformer(
        2, neighbor_loss="infonce", placement="neighbors", refine_epochs=0, **MAP
    ).fit(X_train)
    encoded = model.placement_.codes
    rows = torch.tensor(X_train, dtype=torch.float32)
    graph = NeighborGraph(fuzzy_neighbor_graph(X_train, 15, 0), rows)
    refined = refine_codes(encoded, graph, "infonce", seed=0, n_epochs=100)

    def error():
        return np.mean((model.inverse_transform(refined) - X_train) ** 2)

    before = error()
    fit_decoder(model.net_.module_, model.net_.criterion_, refined, TensorDataset(rows), seed=0)
    assert error() < 0.9 * before
    encoder = model.set_params(placement="encoder")
    np.testing.assert_array_equal(encoder.transform(X_train), encoded)


def test_the_decoder_fit_leaves_out_unlabeled_rows():
    # A semi-supervised model's unlabeled rows carry a condition of zeros.
    module = torch.nn.Linear(3, 2)
    conditions_decoded = []

    def decode(z, condition, x=None):
        conditions_decoded.append(condition)
        return module(torch.cat([z, condition], 1))

    module.decode = decode
    condition = torch.eye(2)[[0, 1] * 10]
    condition[10:] = 0
    data = TensorDataset(torch.zeros(20, 2), condition)
    fit_decoder(module, lambda out, x: ((out - x) ** 2).sum(-1), np.zeros((20, 1)), data, seed=0)
    assert conditions_decoded
    assert all(bool((c.sum(1) > 0).all()) and len(c) == 10 for c in conditions_decoded)


def test_nearest_reference_rows_are_scikit_learns():
    rng = np.random.RandomState(0)
    X, reference = rng.rand(300, 5) + 100.0, rng.rand(200, 5) + 100.0
    distances, indices = ReferenceRows(reference).nearest(X, n_neighbors=4)
    expected_distances, expected_indices = (
        NearestNeighbors(n_neighbors=4).fit(reference).kneighbors(X)
    )
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-9)


def test_memberships_are_one_for_the_nearest_and_fall_with_distance():
    distances = np.sort(np.random.RandomState(0).rand(50, 6) + 0.1, axis=1)
    strengths = membership_strengths(distances, n_neighbors=6)
    np.testing.assert_allclose(strengths[:, 0], 1.0)
    assert (np.diff(strengths, axis=1) <= 0).all() and (strengths > 0).all()


def test_saved_model_places_rows_as_before(tmp_path, placed_map, digits_split):
    X_test = digits_split[1][:50].astype(np.float32)
    loaded = load(save(placed_map, tmp_path / "map.safetensors"))
    assert loaded.get_params()["placement"] == "neighbors"
    assert loaded.placement_.loss == placed_map.neighbor_loss
    np.testing.assert_array_equal(loaded.transform(X_test), placed_map.transform(X_test))


def test_partial_fit_places_among_the_last_chunk(digits_split):
    X_train = digits_split[0]
    model = AutoencoderTransformer(2, neighbor_loss="umap", placement="neighbors", **SMALL)
    model.partial_fit(X_train[:100]).partial_fit(X_train[100:250])
    np.testing.assert_array_equal(model.placement_.rows, X_train[100:250])
    assert model.transform(X_train[:5]).shape == (5, 2)


def test_conditional_vae_places_its_posterior_means(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    model = VAETransformer(
        2, conditional=True, neighbor_loss="umap", placement="neighbors", **SMALL
    ).fit(X_train, y_train)
    Z = model.transform(X_test[:5], y_test[:5])
    assert Z.shape == (5, 2) and np.isfinite(Z).all()
    assert model.inverse_transform(Z, y_test[:5]).shape == (5, 64)


def test_placement_needs_the_neighbor_term():
    with pytest.raises(ValueError, match="set neighbor_loss='umap' or 'infonce' as well"):
        AutoencoderTransformer(placement="neighbors", **SMALL).fit(np.random.rand(30, 4))


def test_model_fitted_with_the_encoder_cannot_place_by_neighbours(digits_split):
    model = AutoencoderTransformer(2, neighbor_loss="umap", **SMALL).fit(digits_split[0])
    model.set_params(placement="neighbors")
    with pytest.raises(ValueError, match="fitted with placement='encoder'.*Fit it again"):
        model.transform(digits_split[1])


def test_onnx_export_asks_to_choose_the_encoder(tmp_path, placed_map):
    pytest.importorskip("onnxruntime")
    with pytest.raises(ValueError, match=r"set_params\(placement='encoder'\)"):
        export_onnx(placed_map, tmp_path / "encoder.onnx")
    encoder = copy.deepcopy(placed_map).set_params(placement="encoder")
    assert export_onnx(encoder, tmp_path / "encoder.onnx").endswith("encoder.onnx")
