"""VAETransformer: the bounds, the variants and what a user sees."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from sklearn_ae import VAETransformer
from sklearn_ae._priors import (
    PRIORS,
    LabelPrior,
    StandardNormalPrior,
    diagonal_gaussian_log_prob,
    make_prior,
)
from sklearn_ae.metrics import kl_per_dimension

FAST = {"hidden_layer_sizes": (32,), "max_iter": 20, "random_state": 0}


@pytest.fixture(scope="module")
def bernoulli_vae(digits_split):
    X_train = digits_split[0]
    return VAETransformer(
        2, likelihood="bernoulli", max_iter=100, learning_rate=3e-3, random_state=0
    ).fit(X_train)


@pytest.mark.parametrize(
    "name, n_prior_components",
    [("normal", None), ("mixture", 4), ("flow", 4), ("label", 1), ("label", 4)],
)
def test_kl_matches_a_monte_carlo_estimate(name, n_prior_components):
    assert set(PRIORS) == {"normal", "mixture", "flow", "label"}  # every prior is covered
    prior = make_prior(name, 3, n_prior_components, n_labels=4)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # learned priors away from their start, N(0, I) for the label prior
        for parameter in prior.parameters():
            parameter.add_(0.5 * torch.randn(parameter.shape, generator=gen))
    mean, logvar = torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen) * 0.5
    z = mean + torch.exp(0.5 * logvar) * torch.randn(200_000, 5, 3, generator=gen)
    labels = torch.eye(4)[[0, 1, 2, 3, 1]]  # read by the label prior only

    log_prior = prior.log_prob(z, labels)
    monte_carlo = (diagonal_gaussian_log_prob(z, mean, logvar) - log_prior).mean(0)
    with torch.no_grad():
        exact_or_single_draw = prior.kl(z, mean, logvar, labels).sum(-1).mean(0)
    torch.testing.assert_close(exact_or_single_draw, monte_carlo.detach(), atol=0.02, rtol=0.01)


def test_importance_weighted_bounds_exceed_the_elbo(bernoulli_vae, digits_split):
    X_test = digits_split[1]
    elbo = bernoulli_vae.score(X_test)
    iwae_50 = bernoulli_vae.set_params(n_score_samples=50).score_samples(X_test).mean()
    default = bernoulli_vae.set_params(n_score_samples=200).score_samples(X_test).mean()
    # Measured: ELBO -24.69, IWAE(50) -24.27, IWAE(200) -24.30 nats.
    assert elbo < iwae_50
    assert elbo < default


def test_two_d_codes_separate_classes_better_than_pca(bernoulli_vae, digits_split):
    X_train, X_test, y_train, y_test = digits_split

    def knn_accuracy(Z_train, Z_test):
        return KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)

    pca = PCA(2).fit(X_train)
    pca_acc = knn_accuracy(pca.transform(X_train), pca.transform(X_test))
    vae_acc = knn_accuracy(bernoulli_vae.transform(X_train), bernoulli_vae.transform(X_test))
    # Measured: PCA 0.61, VAE 0.77.
    assert vae_acc > pca_acc + 0.1


def test_transform_is_the_posterior_mean(bernoulli_vae, digits_split):
    X_test = digits_split[1]
    mean, std = bernoulli_vae.posterior(X_test)
    np.testing.assert_array_equal(mean, bernoulli_vae.transform(X_test))
    assert (std > 0).all() and (std < 1.5).all()


def test_history_records_reconstruction_and_kl(bernoulli_vae):
    last = bernoulli_vae.net_.history[-1]
    assert last["train_kl"] > 0
    assert last["train_loss"] == pytest.approx(
        last["train_reconstruction"] + last["train_kl"], rel=1e-4
    )


def test_conditional_samples_look_like_their_label(digits_split):
    X_train, _, y_train, _ = digits_split
    cvae = VAETransformer(
        2,
        conditional=True,
        likelihood="bernoulli",
        hidden_layer_sizes=(64,),
        max_iter=30,
        random_state=0,
    ).fit(X_train, y_train)
    classifier = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    labels = np.repeat(np.arange(10), 20)
    samples = cvae.sample(200, y=labels, random_state=0)
    # Chance is 0.1; measured 0.99.
    assert np.mean(classifier.predict(samples) == labels) > 0.8
    assert cvae.sample(4, y=3).shape == (4, 64)
    assert cvae.transform(X_train[:5], y=y_train[:5]).shape == (5, 2)


def test_a_conditional_vae_learns_a_prior_per_label_and_samples_from_it(digits_split):
    X_train, _, y_train, _ = digits_split
    cvae = VAETransformer(2, conditional=True, **FAST).fit(X_train, y_train)  # prior="auto"
    prior = cvae.net_.module_.prior
    assert isinstance(prior, LabelPrior) and prior.means.shape == (10, 20, 2)  # 20 per label
    assert prior.logvars.abs().max() > 0.01  # trained away from its start at 0
    with torch.no_grad():
        # Label l: two Gaussians of variance 0.25, at (2l, 2l + 1) and 100 further, weighted 1:3.
        prior.means.copy_(
            torch.arange(20.0).reshape(10, 1, 2) + 100 * (torch.arange(20) == 1)[:, None]
        )
        prior.logvars.fill_(np.log(0.25))
        prior.logits.fill_(-np.inf)
        prior.logits[:, :2] = torch.log(torch.tensor([1.0, 3.0]))
    labels = np.eye(10)[np.repeat([0, 7], 2000)]
    codes = cvae._sample_codes(4000, np.random.RandomState(0), labels)
    far = codes[:, 0] > 50
    assert 0.72 < far.mean() < 0.78  # 3:1
    for rows, start in ((slice(0, 2000), 0), (slice(2000, 4000), 14)):
        near, distant = codes[rows][~far[rows]], codes[rows][far[rows]]
        np.testing.assert_allclose(near.mean(axis=0), [start, start + 1], atol=0.1)
        np.testing.assert_allclose(distant.mean(axis=0), [start + 100, start + 101], atol=0.1)
        np.testing.assert_allclose(distant.std(axis=0), [0.5, 0.5], rtol=0.1)


@pytest.mark.parametrize("prior", ["mixture", "label"])
def test_em_steps_move_a_learned_prior_towards_the_training_posteriors(digits_split, prior):
    X_train, _, y_train, _ = digits_split
    params = {**FAST, "max_iter": 5, "prior": prior, "n_prior_components": 3}
    fitted = {
        n: VAETransformer(2, conditional=prior == "label", prior_em_iter=n, **params).fit(
            X_train, y_train
        )
        for n in (0, 5)
    }
    # The networks trained alike; the EM steps come after and move the prior alone.
    codes = [model.transform(X_train, y_train) for model in fitted.values()]
    np.testing.assert_array_equal(*codes)
    mean, std = fitted[0].posterior(X_train, y_train)
    draws = mean + std * np.random.RandomState(1).standard_normal(mean.shape)
    z, labels = (torch.as_tensor(a, dtype=torch.float32) for a in (draws, np.eye(10)[y_train]))
    with torch.no_grad():
        log_prior = {
            n: float(model.net_.module_.prior.log_prob(z, labels).mean())
            for n, model in fitted.items()
        }
    # The ELBO's prior term, on draws the EM steps did not see (measured: 0.8-0.9 nats higher).
    assert log_prior[5] > log_prior[0] + 0.3
    assert fitted[5].score(X_train, y_train) > fitted[0].score(X_train, y_train)


def test_label_prior_em_leaves_out_unlabeled_rows_and_labels_with_too_few_codes():
    prior = LabelPrior(2, n_labels=2, n_mixture_components=2)
    start = prior.means.detach().clone()
    codes = np.random.RandomState(0).normal(5.0, 1.0, size=(103, 2))
    codes[101:] = 1000.0  # two unlabeled rows, far away
    condition = np.zeros((103, 2))
    condition[:100, 0] = 1  # label 0: 100 codes
    condition[100, 1] = 1  # label 1: one code, fewer than its two Gaussians
    prior.refit(codes, condition, n_iter=10)
    assert torch.equal(prior.means[1], start[1])
    assert (prior.means[0] - 5.0).abs().max() < 2.0


def test_partial_fit_leaves_the_prior_to_gradient_training(digits_split):
    X_train = digits_split[0]
    params = {**FAST, "prior": "mixture", "n_prior_components": 3}
    priors = [
        VAETransformer(2, prior_em_iter=n, **params).partial_fit(X_train).net_.module_.prior.means
        for n in (0, 5)
    ]
    assert torch.equal(*priors)


def test_auto_prior_is_standard_normal_unless_each_label_can_have_its_own(digits_split):
    X_train, _, y_train, _ = digits_split
    one_epoch = {**FAST, "max_iter": 1}
    plain = VAETransformer(2, **one_epoch).fit(X_train)
    committed = VAETransformer(2, conditional=True, committed_rate=0.1, **one_epoch)
    committed.fit(X_train, y_train)
    for model in (plain, committed):
        assert isinstance(model.net_.module_.prior, StandardNormalPrior)
    with pytest.raises(ValueError, match="prior='label'.*conditional=True"):
        VAETransformer(2, prior="label", **one_epoch).fit(X_train)


def test_conditional_needs_labels_and_rejects_unknown_ones(digits_split):
    X_train, _, y_train, _ = digits_split
    with pytest.raises(ValueError, match="conditional=True needs the labels y"):
        VAETransformer(conditional=True, **FAST).fit(X_train)
    cvae = VAETransformer(conditional=True, **FAST).fit(X_train, y_train)
    with pytest.raises(ValueError, match="conditional=True needs the labels y"):
        cvae.transform(X_train)
    with pytest.raises(ValueError, match=r"labels not seen in fit: \[11\]"):
        cvae.sample(2, y=[3, 11])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cvae.sample(3, y=[1, 2])


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.r_[np.zeros(10), np.ones(9), np.nan], r"y has missing labels \(NaN or None\)"),
        (pd.Series([0] * 10 + ["a"] * 10), "y mixes text and numbers as labels"),
    ],
)
def test_conditional_rejects_missing_and_mixed_labels(digits_split, labels, message):
    X_train = digits_split[0][:20]
    with pytest.raises(ValueError, match=message):
        VAETransformer(conditional=True, **FAST).fit(X_train, labels)


def test_unconditional_vae_ignores_y(digits_split):
    X_train, _, y_train, _ = digits_split
    Z_with_y = VAETransformer(**FAST).fit(X_train, y_train).transform(X_train, y_train)
    Z_without = VAETransformer(**FAST).fit(X_train).transform(X_train)
    np.testing.assert_array_equal(Z_with_y, Z_without)


def test_bernoulli_rejects_data_outside_unit_interval():
    with pytest.raises(ValueError, match=r"likelihood='bernoulli' needs X in \[0, 1\]"):
        VAETransformer(likelihood="bernoulli", **FAST).fit(np.random.RandomState(0).randn(20, 4))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"likelihood": "poisson"}, "likelihood"),
        ({"prior": "vamp"}, "prior"),
        ({"beta": -1}, "beta"),
        ({"n_importance_samples": 0}, "n_importance_samples"),
        ({"kl_warmup": 1.5}, "kl_warmup"),
        ({"sparsity": "kl"}, "sparsity='kl' needs sigmoid codes, but a VAE's codes are Gaussian"),
    ],
)
def test_invalid_vae_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        VAETransformer(**{**FAST, **params}).fit(np.random.RandomState(0).rand(4, 3))


def test_beta_trades_kl_for_reconstruction(digits_split):
    X_train = digits_split[0]
    low = VAETransformer(beta=0.1, **FAST).fit(X_train).net_.history[-1]
    high = VAETransformer(beta=4.0, **FAST).fit(X_train).net_.history[-1]
    assert high["train_kl"] < low["train_kl"]
    assert high["train_reconstruction"] > low["train_reconstruction"]


def test_kl_warmup_scales_the_kl_weight_linearly(digits_split):
    vae = VAETransformer(**{**FAST, "max_iter": 4}, beta=2.0, kl_warmup=4).fit(digits_split[0])
    history = vae.net_.history
    weights = [
        (row["train_loss"] - row["train_reconstruction"]) / row["train_kl"] for row in history
    ]
    np.testing.assert_allclose(weights, [0.5, 1.0, 1.5, 2.0], rtol=0.05)


def test_free_bits_keep_units_in_use(digits_split):
    X_train = digits_split[0]
    params = {**FAST, "n_components": 8, "beta": 4.0}
    collapsed = VAETransformer(**params).fit(X_train).net_.history[-1]["train_kl"]
    kept = VAETransformer(**params, free_bits=1.0).fit(X_train).net_.history[-1]["train_kl"]
    assert kept > collapsed


def test_free_bits_per_unit_floor_only_those_units(digits_split):
    X_train = digits_split[0]
    floors = (1.0,) * 4 + (0.0,) * 4
    # From a random start, a KL weight that heavy empties every unit the floor does not hold
    # open (init="auto" would restart such a model as PPCA, whose units all start open).
    vae = VAETransformer(**FAST, n_components=8, beta=20.0, free_bits=floors, init="random")
    vae.fit(X_train)
    kl = kl_per_dimension(vae, X_train)
    assert kl[:4].min() > 0.2 and kl[4:].max() < 0.05


def test_free_bits_refused_with_the_importance_weighted_bound(digits_split):
    vae = VAETransformer(**{**FAST, "max_iter": 1}, free_bits=0.5, n_importance_samples=3)
    with pytest.raises(ValueError, match="set free_bits=0 or n_importance_samples=1"):
        vae.fit(digits_split[0])


@pytest.mark.parametrize("free_bits", [(1.0, 0.0), (1.0, -1.0, 0.0), (1.0, np.nan, 0.0)])
def test_free_bits_per_unit_must_be_one_finite_floor_per_unit(digits_split, free_bits):
    vae = VAETransformer(**{**FAST, "max_iter": 1}, n_components=3, free_bits=free_bits)
    with pytest.raises(ValueError, match="one floor in nats .* per latent unit: 3"):
        vae.fit(digits_split[0])


@pytest.mark.parametrize("kind", ["mixture_prior", "iwae", "denoising"])
def test_variants_train_and_sample(digits_split, kind):
    params = {
        "mixture_prior": {"prior": "mixture", "n_prior_components": 5},
        "iwae": {"n_importance_samples": 5},
        "denoising": {"noise": "masking", "noise_level": 0.3},
    }[kind]
    X_train, X_test = digits_split[0], digits_split[1]
    vae = VAETransformer(likelihood="bernoulli", **FAST, **params).fit(X_train)
    baseline = VAETransformer(likelihood="bernoulli", **FAST).fit(X_train)
    assert np.isfinite(vae.score(X_test))
    assert not np.allclose(vae.transform(X_test), baseline.transform(X_test))
    samples = vae.sample(5, random_state=0)
    assert samples.shape == (5, 64) and samples.min() >= 0 and samples.max() <= 1


def test_mixture_prior_is_learned_and_sampled(digits_split):
    vae = VAETransformer(prior="mixture", n_prior_components=3, **FAST).fit(digits_split[0])
    prior = vae.net_.module_.prior
    assert prior.means.shape == (3, 2)
    assert not torch.allclose(torch.softmax(prior.logits, 0), torch.full((3,), 1 / 3))


def test_flow_prior_density_integrates_to_one():
    pytest.importorskip("zuko")
    torch.manual_seed(0)
    prior = PRIORS["flow"](2, 3)
    with torch.no_grad():  # away from the identity map a fresh flow starts near
        for parameter in prior.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    grid = torch.linspace(-10, 10, 501, dtype=torch.float64)
    cell = float(grid[1] - grid[0]) ** 2
    points = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), dim=-1).reshape(-1, 2)
    with torch.no_grad():
        total = float(prior.log_prob(points.float()).double().exp().sum()) * cell
    assert total == pytest.approx(1.0, abs=0.01)


def test_flow_prior_trains_with_the_bound_and_samples_reproducibly(digits_split):
    pytest.importorskip("zuko")
    X_train = digits_split[0][:300]
    vae = VAETransformer(
        3, prior="flow", n_prior_components=2, likelihood="bernoulli", max_iter=5, random_state=0
    ).fit(X_train)
    samples = vae.sample(4, random_state=0)
    assert samples.shape == (4, 64)
    np.testing.assert_array_equal(samples, vae.sample(4, random_state=0))
    assert np.isfinite(vae.score(X_train))
