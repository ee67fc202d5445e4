"""Shapes with known factors (make_sprites) and the mutual information gap."""

import numpy as np
import pytest

from sklearn_ae._sprites import FACTOR_VALUES, render
from sklearn_ae.datasets import make_sprites
from sklearn_ae.metrics import factor_information, mutual_information_gap


def test_make_sprites_is_deterministic_under_random_state():
    X, factors = make_sprites(50, random_state=0)
    X_again, factors_again = make_sprites(50, random_state=0)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(factors, factors_again)
    assert not np.array_equal(factors, make_sprites(50, random_state=1)[1])


def test_make_sprites_draws_on_dsprites_grids():
    X, factors = make_sprites(3000, random_state=0)
    assert X.shape == (3000, 1024) and set(np.unique(X)) == {0.0, 1.0}
    counts = [len(np.unique(column)) for column in factors.T]
    assert counts == [3, 6, 40, 32, 32]
    assert (X.sum(axis=1) > 0).all()  # every shape lies in the image
    # A larger shape covers more pixels: the scale is visible.
    small, large = factors[:, 1] == 0.5, factors[:, 1] == 1.0
    assert X[large].sum(axis=1).mean() > 2 * X[small].sum(axis=1).mean()


def test_groups_share_every_factor_but_one():
    _, factors = make_sprites(400, group_size=4, random_state=0)
    for group in factors.reshape(100, 4, 5):
        differs = (group != group[0]).any(axis=0)
        assert differs.sum() <= 1


def test_the_same_factors_draw_the_same_image():
    X, factors = make_sprites(200, group_size=2, random_state=0)
    same = (factors[0::2] == factors[1::2]).all(axis=1)
    np.testing.assert_array_equal(X[0::2][same], X[1::2][same])


def test_linked_groups_keep_the_factors_of_an_earlier_row():
    X, factors = make_sprites(200, group_size=10, linked=True, random_state=0)
    X_again, factors_again = make_sprites(200, group_size=10, linked=True, random_state=0)
    np.testing.assert_array_equal(factors, factors_again)
    np.testing.assert_array_equal(X, X_again)
    for start in range(10, 200, 10):
        group = factors[start : start + 10]
        fixed = np.flatnonzero((group == group[0]).all(axis=0))
        assert len(fixed) >= 4  # the group varies one factor at most
        # Some earlier row shares the group's fixed factors: the link between groups.
        shares = (factors[:start, fixed] == group[0, fixed]).all(axis=1)
        assert shares.any()


def test_a_quarter_turn_shows_on_a_heart_but_not_on_a_square():
    angle = FACTOR_VALUES[2][3]
    turned = [[shape, 1.0, a, 0.5, 0.5] for shape in (0, 2) for a in (angle, angle + np.pi / 2)]
    square, square_turned, heart, heart_turned = render(np.array(turned), 32)
    # At most a pixel on the square's edge may flip with the rounding of the turned frame.
    assert (square != square_turned).sum() <= 1
    assert (heart != heart_turned).sum() > 20


def test_quarter_rotation_range_keeps_the_grid_within_a_quarter_turn():
    X, factors = make_sprites(3000, rotation_range="quarter", random_state=0)
    counts = [len(np.unique(column)) for column in factors.T]
    assert counts == [3, 6, 10, 32, 32]
    np.testing.assert_array_equal(np.unique(factors[:, 2]), FACTOR_VALUES[2][:10])
    assert (factors[:, 2] < np.pi / 2).all()
    assert X.shape == (3000, 1024)


def test_make_sprites_rejects_an_unknown_rotation_range():
    with pytest.raises(ValueError, match='rotation_range must be "full" or "quarter"'):
        make_sprites(10, rotation_range="half")


def test_make_sprites_rejects_a_linked_that_is_not_a_bool():
    with pytest.raises(ValueError, match="linked must be True or False"):
        make_sprites(10, linked="yes")


@pytest.mark.parametrize("name", ["n_samples", "image_size", "group_size"])
def test_make_sprites_rejects_non_positive_sizes(name):
    with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
        make_sprites(**{"n_samples": 10, name: 0})


def test_gap_is_one_for_codes_that_copy_the_factors_and_about_zero_for_noise():
    _, factors = make_sprites(5000, group_size=1, random_state=0)  # independent factors
    copies = factors[:, [4, 2, 0, 3, 1]] * 3.0 + 1.0  # any order, any scale
    assert mutual_information_gap(copies, factors) == pytest.approx(1.0, abs=0.02)
    noise = np.random.RandomState(0).normal(size=(5000, 5))
    assert mutual_information_gap(noise, factors) < 0.02


def test_factor_information_shows_which_unit_carries_which_factor():
    _, factors = make_sprites(5000, group_size=1, random_state=0)
    noise = np.random.RandomState(0).normal(size=5000)
    codes = np.column_stack([factors[:, 3], noise, factors[:, 0]])
    information = factor_information(codes, factors)
    assert information.shape == (3, 5)
    assert information[0, 3] == pytest.approx(1.0) and information[2, 0] == pytest.approx(1.0)
    others = np.ones((3, 5), dtype=bool)
    others[0, 3] = others[2, 0] = False
    assert information[others].max() < 0.02
    # A constant factor has no entropy to share: its column is NaN, and the gap skips it.
    factors[:, 1] = 0.5
    assert np.isnan(factor_information(codes, factors)[:, 1]).all()
    skipped = mutual_information_gap(codes, np.delete(factors, 1, axis=1))
    assert mutual_information_gap(codes, factors) == pytest.approx(skipped)


def test_gap_is_low_when_one_unit_mixes_two_factors():
    rng = np.random.RandomState(0)
    factors = rng.randint(8, size=(5000, 2)).astype(float)
    mixed = np.column_stack([factors[:, 0] + factors[:, 1], factors[:, 0] - factors[:, 1]])
    assert mutual_information_gap(mixed, factors) < 0.3


def test_gap_needs_matching_rows_and_two_units():
    factors = np.zeros((10, 2)) + np.arange(10)[:, None]
    with pytest.raises(ValueError, match="same rows"):
        mutual_information_gap(np.zeros((9, 2)), factors)
    with pytest.raises(ValueError, match="at least 2 columns"):
        mutual_information_gap(np.zeros((10, 1)), factors)
