"""The inverse-graphics network: one-factor-varies groups, clamped units, factor_dims."""

import numpy as np
import pytest
import torch

import sklearn_ae
from sklearn_ae import VAETransformer
from sklearn_ae._architectures import MLPArchitecture
from sklearn_ae._factor_groups import PULL_WEIGHT, clamped_units, one_factor_groups
from sklearn_ae._likelihoods import BinaryCrossEntropy
from sklearn_ae._modules import VariationalAutoencoder
from sklearn_ae._objectives import EvidenceBound
from sklearn_ae.datasets import make_sprites
from sklearn_ae.metrics import factor_information

FIVE = (1, 1, 1, 1, 1)


def test_groups_found_from_the_factors_are_the_generated_ones():
    _, factors = make_sprites(300, group_size=5, random_state=0)
    memberships = one_factor_groups(factors)
    assert np.array_equal(np.unique(memberships[:, 0]), np.arange(300))
    for start in range(0, 300, 5):
        generated = np.arange(start, start + 5)
        # A generated group varies one factor; drawn values may repeat, but its rows that
        # differ from one another share a group and its varying factor.
        if len({tuple(row) for row in factors[generated]}) > 1:
            of_row = [memberships[memberships[:, 0] == r, 1:] for r in generated]
            shared = set.intersection(*({tuple(m) for m in rows} for rows in of_row))
            assert len(shared) == 1 and next(iter(shared))[0] >= 0


def test_rows_with_missing_factors_or_no_partner_join_no_group():
    factors = np.array([[0.0, 1.0], [0.0, 2.0], [5.0, 5.0], [0.0, np.nan], [7.0, 8.0]])
    memberships = one_factor_groups(factors)
    assert memberships[:2, 2].tolist() == [1, 1] and memberships[0, 1] == memberships[1, 1]
    assert memberships[2:, 0].tolist() == [2, 3, 4] and (memberships[2:, 1:] == -1).all()


def test_a_row_belongs_to_a_group_for_each_factor_it_shares_with_others():
    factors = np.array([[0.0, 1.0], [0.0, 2.0], [3.0, 1.0]])
    memberships = one_factor_groups(factors)
    # Row 0 varies factor 0 with row 2 and factor 1 with row 1: two groups.
    assert memberships[memberships[:, 0] == 0, 2].tolist() == [0, 1]
    assert len(np.unique(memberships[:, 1])) == 2


def test_linked_sprites_put_rows_in_more_than_one_group():
    _, factors = make_sprites(200, group_size=10, linked=True, random_state=0)
    memberships = one_factor_groups(factors)
    assert (memberships[:, 1] >= 0).all() and len(memberships) > len(factors)


def test_a_row_trains_once_in_each_of_its_groups():
    X, factors = make_sprites(60, image_size=8, group_size=5, linked=True, random_state=0)
    model = VAETransformer(7, likelihood="bernoulli", factor_dims=FIVE)
    X_train, _, groups = model._training_data(X, factors, False, False, None)
    memberships = one_factor_groups(factors)
    assert np.array_equal(X_train, X[memberships[:, 0]])
    assert np.array_equal(groups, memberships[:, 1:])


def _module_and_batch():
    torch.manual_seed(0)
    module = VariationalAutoencoder(16, 4, MLPArchitecture((8,)), factor_dims=(1, 2))
    x = (torch.rand(6, 16) > 0.5).float()
    # Rows 0-3: one group varying factor 1 (units 1 and 2); rows 4-5 in no group.
    factor_groups = torch.tensor([[0, 1]] * 4 + [[-1, -1]] * 2)
    return module, x, factor_groups


def _encoder_output_gradients(module, x, factor_groups, target):
    """Gradients of the training loss with respect to the posterior means the encoder outputs."""
    captured = {}
    original = module.posterior_parameters

    def capture(x, condition=None):
        mean, logvar = original(x, condition)
        mean.retain_grad()
        captured["mean"] = mean
        return mean, logvar

    module.posterior_parameters = capture
    net = type("Net", (), {"module_": module, "criterion_": BinaryCrossEntropy(), "history": []})
    torch.manual_seed(1)
    output = module(x, factor_groups=factor_groups)
    loss, _ = EvidenceBound()(net, output, target, None, training=True)
    loss.backward()
    module.posterior_parameters = original
    return captured["mean"].detach(), captured["mean"].grad


def test_clamped_units_get_no_signal_that_tells_the_group_rows_apart():
    module, x, factor_groups = _module_and_batch()
    module.train()
    clamp = clamped_units(factor_groups[:, 1], (1, 2), 4)[:4]
    units = clamp[0]  # the group clamps units 0 and 3 in each of its rows
    mean, grad = _encoder_output_gradients(module, x, factor_groups, x)
    _, grad_other_target = _encoder_output_gradients(module, x, factor_groups, 1 - x)
    # Clamped units: the pull towards the group's mean plus one gradient the group's rows share.
    pull = PULL_WEIGHT * (mean[:4] - mean[:4].mean(dim=0)) / len(x)
    for gradient in (grad, grad_other_target):
        shared = (gradient[:4] - pull)[:, units]
        torch.testing.assert_close(shared, shared[:1].expand_as(shared))
    # The shared part is the bound's gradient through the group's mean: it changes with the
    # rows to reconstruct.
    assert not torch.allclose(grad[:4, units], grad_other_target[:4, units])
    # The varying factor's units and the rows in no group learn from the reconstruction.
    free = ~clamped_units(factor_groups[:, 1], (1, 2), 4)
    assert not torch.allclose(grad_other_target[free], grad[free])


def test_clamped_units_reach_the_decoder_as_the_group_mean_in_training_only():
    module, x, factor_groups = _module_and_batch()
    module.train()
    mean, _ = module(x, factor_groups=factor_groups)
    assert torch.allclose(mean[:4, [0, 3]], mean[:4, [0, 3]].mean(dim=0).expand(4, 2))
    assert mean[:4, 1].std() > 0 and mean[4, 0] != mean[5, 0]
    module.eval()
    mean, _ = module(x, factor_groups=factor_groups)
    assert mean[:4, 0].std() > 0


@pytest.fixture(scope="module")
def sprites():
    return make_sprites(2000, image_size=16, group_size=10, random_state=0)


def test_each_factor_unit_follows_its_factor(sprites):
    X, factors = sprites
    model = VAETransformer(
        7,
        likelihood="bernoulli",
        factor_dims=FIVE,
        hidden_layer_sizes=(256,),
        max_iter=40,
        random_state=0,
    ).fit(X, factors)
    Z = model.transform(X)
    assert Z.shape == (2000, 7)
    correlation = np.corrcoef(Z.T, factors.T)[:7, 7:]
    # The x unit (3) follows x and not y; the y unit (4) the reverse.
    assert abs(correlation[3, 3]) > 0.8 and abs(correlation[3, 4]) < 0.3
    assert abs(correlation[4, 4]) > 0.8 and abs(correlation[4, 3]) < 0.3


def test_shape_and_rotation_units_learn_their_factors_where_the_image_tells_them():
    # Within a quarter turn every shape shows its rotation, so the clamp's demands agree.
    X, factors = make_sprites(
        1500, image_size=24, linked=True, rotation_range="quarter", random_state=0
    )
    model = VAETransformer(
        7,
        likelihood="bernoulli",
        factor_dims=FIVE,
        free_bits=(1, 1, 1, 1, 1, 0, 0),
        hidden_layer_sizes=(256,),
        max_iter=120,
        random_state=0,
    ).fit(X, factors)
    information = factor_information(model.transform(X), factors)
    # The shape unit carries more of the shape than any other unit, by a clear margin (0.33
    # and 0.40 on seeds 0 and 2), and the rotation unit the most of the rotation.
    assert information[0, 0] > np.delete(information[:, 0], 0).max() + 0.2
    assert information[:, 2].argmax() == 2


def test_rows_with_missing_factors_train_the_bound(sprites):
    X, factors = sprites
    factors = factors.copy()
    factors[::2] = np.nan
    model = VAETransformer(7, likelihood="bernoulli", factor_dims=FIVE, max_iter=2)
    model.set_params(hidden_layer_sizes=(16,), random_state=0)
    assert np.isfinite(model.fit(X[:200], factors[:200]).score(X[:200]))


@pytest.mark.parametrize(
    ("params", "y", "message"),
    [
        ({"factor_dims": FIVE}, None, "fit\\(X, y=factors\\)"),
        ({"factor_dims": (1, 1)}, "sprites", "y has 5 factor columns"),
        ({"factor_dims": (4, 4)}, "sprites", "more than n_components=7"),
        ({"factor_dims": (0, 1)}, "sprites", "positive integers"),
        ({"factor_dims": FIVE, "conditional": True}, "sprites", "use one of them"),
    ],
)
def test_bad_factor_settings_are_refused(sprites, params, y, message):
    X, factors = sprites
    model = VAETransformer(7, max_iter=1, **params)
    with pytest.raises(ValueError, match=message):
        model.fit(X[:50], factors[:50] if y else None)


def test_factors_that_form_no_group_warn(sprites):
    X, _ = sprites
    factors = np.arange(250.0).reshape(50, 5)
    model = VAETransformer(7, factor_dims=FIVE, hidden_layer_sizes=(8,), max_iter=1)
    with pytest.warns(UserWarning, match="No training rows share every factor but one"):
        model.fit(X[:50], factors)


def test_a_model_trained_on_factors_saves_and_loads(sprites, tmp_path):
    X, factors = sprites
    model = VAETransformer(7, factor_dims=[1, 1, 1, 1, 1], hidden_layer_sizes=(16,), max_iter=2)
    model.set_params(likelihood="bernoulli", random_state=0).fit(X[:200], factors[:200])
    sklearn_ae.save(model, tmp_path / "dcign.safetensors")
    loaded = sklearn_ae.load(tmp_path / "dcign.safetensors")
    assert list(loaded.factor_dims) == [1, 1, 1, 1, 1]
    np.testing.assert_allclose(loaded.transform(X[:50]), model.transform(X[:50]))
