"""VAETransformer: the variational autoencoder family as a scikit-learn transformer."""

import numbers
import warnings

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_consistent_length

from ._aggressive import AggressiveEncoderUpdates
from ._base import BaseAutoencoder
from ._docs import fill_shared_docs
from ._factor_groups import one_factor_groups
from ._graphs import nearest_neighbor_distance
from ._inference import padded_to_chunk
from ._label_consistency import LabelConsistencyTerm
from ._likelihoods import VAE_LIKELIHOODS
from ._linear_start import fit_start_pca, ppca_noise_variance
from ._modules import VariationalAutoencoder
from ._objectives import (
    EvidenceBound,
    SemiAmortizedBound,
    SemiSupervisedBound,
    elbo,
    importance_sampled_log_likelihood,
)
from ._penalties import VirtualAdversarialTerm
from ._priors import PRIORS, committed_log_variance, make_prior, mean_kl_per_unit
from ._validation import check_labels, torch_generator

# Draws decoded together when scoring: a pass decodes this many times CHUNK_ROWS rows, which
# bounds memory whatever n_score_samples is.
_DRAWS_PER_PASS = 32
# Draws per row for the ELBO that ``score`` reports (fixed seed, so deterministic).
_ELBO_DRAWS = 10
# Posterior draws per training row that the EM steps of a learned prior fit (prior_em_iter).
_PRIOR_EM_DRAWS = 10
# init="auto" restarts as PPCA when a unit's mean KL over the training rows is below this: the
# threshold at which the benchmarks count a dimension as unused.
_CLOSED_UNIT_NATS = 0.1
# scikit-learn's mark of an unlabeled row.
UNLABELED = -1


def _is_unlabeled(labels):
    """Which labels are scikit-learn's -1 (unlabeled); text labels never are."""
    if labels.dtype.kind not in "iuf" and labels.dtype != object:
        return np.zeros(len(labels), dtype=bool)
    return np.array([not isinstance(v, str) and v == UNLABELED for v in labels], dtype=bool)


def _may_classify(estimator):
    """Whether ``predict`` exists: a conditional VAE that is unfitted or fitted semi-supervised."""
    if not estimator.conditional:
        raise AttributeError("predict needs conditional=True and unlabeled rows (-1) in fit.")
    if hasattr(estimator, "semi_supervised_") and not estimator.semi_supervised_:
        raise AttributeError(
            "This conditional VAE was fitted on labeled rows only and has no classifier; "
            "mark unlabeled rows with -1 in fit's y to train one (semi-supervised)."
        )
    return True


@fill_shared_docs
class VAETransformer(BaseAutoencoder):
    r"""Variational autoencoder as a transformer, with the classic extensions as parameters.

    Read more in the :ref:`User Guide <vaes>`.

    The encoder gives a diagonal Gaussian posterior
    :math:`q(z|x) = N(\mu(x), \mathrm{diag}\,\sigma^2(x))`; codes are drawn as
    :math:`z = \mu + \sigma \odot \epsilon` (reparameterisation) and decoded into
    the parameters of :math:`p(x|z)`. Training minimises, averaged over the batch,

    .. math::

        -\mathbb{E}_{q(z|x)}[\log p(x|z)] + \beta_t\,\sum_j \max(\lambda, KL_j)

    where :math:`KL_j` is the batch-mean KL of latent unit j to the prior,
    :math:`\beta_t = \beta \min(1, t / T_{warmup})` at epoch t and
    :math:`\lambda` is ``free_bits``. With ``n_importance_samples=K > 1`` it
    maximises the importance-weighted bound
    :math:`\mathbb{E}\log\frac{1}{K}\sum_k p(x|z_k)\,p(z_k)/q(z_k|x)` instead.

    Parameters
    ----------
    n_components : int, default=2
        Latent dimension.

    {network_parameters}

    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Decoder distribution p(x|z). ``"gaussian"`` suits real-valued data:
        the decoder outputs the mean and one variance per feature is learned
        with the network (starting at the data variance, floored at 1e-3).
        ``"bernoulli"`` (decoder logits) suits data in [0, 1] such as pixel
        intensities, and raises an error for other data.

    decoder : {"factorized", "autoregressive"}, default="factorized"
        ``"factorized"``: the architecture's decoder, whose features are
        independent given the code. ``"autoregressive"``: a masked
        autoregressive network with the code as input to every layer,
        p(x|z) = prod_i p(x_i | x_<i, z): a better density model, which can
        also explain the rows without the code (see :ref:`collapse`). With
        ``architecture="mlp"`` it is MADE (Germain et al., 2015) over the
        features, its hidden layers mirroring ``hidden_layer_sizes``; with
        ``architecture="conv"`` a PixelCNN (van den Oord et al., 2016) over
        the pixels in raster order, ``conv_channels[0]`` maps wide. It scores
        a row in one pass but generates one feature (pixel) at a time, so
        ``sample`` (which draws each) and ``inverse_transform`` (which feeds
        each one's mean to the next) take one pass per feature (pixel).

    init : {"auto", "pca", "random"}, default="auto"
        How the network starts. ``"auto"`` trains from a random start and,
        where that leaves a unit unused (its KL averages below 0.1 nats over
        the training rows, above the floor of ``free_bits`` or
        ``committed_rate`` where set), trains again from the PCA start and
        keeps that model: the PCA start gained on the benchmarks' data where
        the random start left units unused and lost where it used them all.
        It costs a second fit where it restarts, and is ``"random"`` where
        ``"pca"`` does not apply. ``"pca"`` adds a linear path beside the
        encoder's mean and the decoder and starts the network as
        probabilistic PCA fitted to X (Tipping & Bishop, 1999): PCA's axes, PPCA's
        exact posterior, and every feature's variance at PPCA's noise
        variance (or at the feature's own variance, where that is smaller),
        so that training starts near PPCA's log-likelihood with every unit
        carrying information. Training then keeps the units in use and the
        reconstruction error near PCA's, where a random start may leave most
        units closed; whether the bounds gain too depends on the data (see
        :ref:`collapse`). Needs ``architecture="mlp"``,
        ``likelihood="gaussian"`` and ``decoder="factorized"``.
        ``"random"``: the random start alone.

    beta : float, default=1.0
        Weight of the KL term: above 1 favours disentangled, smoother codes
        (beta-VAE), below 1 sharper reconstructions.

    kl_warmup : int, default=0
        Epochs over which the KL weight rises linearly to ``beta``. Use it
        when the decoder is strong and codes collapse to the prior early
        (posterior collapse); 0 disables it.

    free_bits : float or array-like of shape (n_components,), default=0.0
        Minimum KL in nats charged per latent unit, so the optimiser gains
        nothing by pushing a unit's KL below it: keeps units in use against
        collapse without changing beta. One floor per unit floors each unit
        in turn, e.g. only the factor units of ``factor_dims``, while the
        free units pay their full KL. With the mixture prior the floor
        applies to the total KL divided evenly across units. Not with
        ``n_importance_samples > 1``, whose bound has no KL term per unit.

    committed_rate : float, default=0.0
        The delta-VAE's remedy for posterior collapse (Razavi et al., 2019):
        the posterior variances are bounded below 1 so that every latent
        unit's KL to the standard normal prior is at least this many nats,
        for every row, by construction; the decoder then always receives
        that much information about the row in each unit. 0 leaves the
        variances free. Needs the standard normal prior (``prior="auto"`` or
        ``"normal"``). See :ref:`collapse`.

    encoder_updates : {"joint", "aggressive"}, default="joint"
        ``"joint"``: every step trains the encoder and the decoder together.
        ``"aggressive"``: the remedy of He et al. (2019) for an encoder that
        lags behind its decoder: before each decoder step the encoder alone
        trains on fresh batches until its loss stops improving (at most 100
        steps), until the first epoch in which the mutual information between
        rows and codes stops rising; then training is joint. The aggressive
        epochs cost up to 100 times a joint one. The callback's record is
        ``net_.history[:, "aggressive_encoder_updates"]``.

    svi_steps : int, default=0
        Semi-amortized inference (Kim et al., 2018), a remedy for an encoder
        that lags behind its decoder: in every training batch, each row's
        posterior parameters take this many gradient steps on the row's own
        ELBO, starting from the encoder's output, and the decoder learns from
        the refined posteriors while the encoder learns from its own. Each
        step costs about one more forward and backward pass. ``transform``,
        ``posterior`` and ``score`` use the encoder's posterior, unrefined.
        Not with ``factor_dims``, whose clamped units the per-row steps
        would set apart. 0 turns it off.

    prior : {"auto", "normal", "mixture", "flow", "label"}, default="auto"
        ``"normal"``: standard Gaussian, exact KL. ``"mixture"``: a learned
        mixture of ``n_prior_components`` diagonal Gaussians (KL by a
        one-draw Monte Carlo estimate), better for clustered data.
        ``"flow"``: a learned masked autoregressive flow of
        ``n_prior_components`` transforms (needs zuko), whose samples can
        follow codes of any shape; its KL is estimated the same way.
        ``"label"``: for ``conditional=True``, a learned mixture of
        ``n_prior_components`` diagonal Gaussians for each label, p(z|y);
        ``sample(n, y=label)`` draws where that label's codes lie, so
        samples show their label more often.
        ``"auto"``: ``"label"`` for ``conditional=True`` (unless
        ``committed_rate`` is set, whose floor holds for the standard normal
        only), else ``"normal"``.

    n_prior_components : int or None, default=None
        Components of the learned prior: the mixture's Gaussians, the
        flow's transforms (its depth; 10 is deep, 2 to 5 are usual), or the
        label prior's Gaussians per label (one gives an exact KL). ``None``:
        10 for the mixture and the flow, 20 per label.

    prior_em_iter : int, default=2
        After ``fit``, EM steps that move a learned mixture prior
        (``"mixture"``, ``"label"``) towards the training rows' posteriors
        (ten draws a row): gradient training leaves it short of them, and a
        code drawn where no row's code lies decodes to a blur. On MNIST-5k's
        conditional VAE, two steps drew samples that show their label more
        often at a test bound as good or better. ``partial_fit`` and the
        other priors skip it; 0 turns it off.

    factor_dims : tuple of int or None, default=None
        The inverse-graphics network (DC-IGN, Kulkarni et al., 2015): units
        per known factor of variation, from unit 0 in order; the other units
        are free. ``fit(X, y=factors)`` then takes the rows' factors, one
        column per entry (NaN where unknown). Rows whose factors are equal
        but for one form groups, and a row trains once in each group it
        belongs to; in a training batch, every unit of a grouped row but the
        varying factor's is clamped to its mean over the group and pulled
        towards it, so each factor's units alone learn that factor (free
        units, clamped in every group, are pulled towards varying only with
        what no group varies). Rows in no group train the bound alone.
        ``transform`` and ``sample`` need no factors. See
        :ref:`inverse-graphics`.

    n_importance_samples : int, default=1
        Draws per row during training; above 1 trains on the
        importance-weighted bound (IWAE), which is tighter but costs K decoder
        passes per row.

    n_score_samples : int, default=200
        Importance draws per row used by ``score_samples`` to estimate log p(x).

    conditional : bool, default=False
        Conditional VAE: encoder and decoder also receive the one-hot label,
        ``fit(X, y)`` needs y, and ``transform``, ``inverse_transform`` and
        ``sample`` take ``y=``. When False, y is ignored, so the VAE works in
        a supervised Pipeline. Rows labeled -1 in ``fit`` are unlabeled, in
        scikit-learn's semi-supervised convention: the model then also learns
        a classifier q(y|x) (the M2 model of Kingma et al., 2014), which
        ``predict`` and ``predict_proba`` use, and ``transform`` and ``score``
        infer the labels they are not given.

    classification_weight : float, default=500.0
        Semi-supervised training only: weight, per labeled row, of the
        classifier's cross-entropy on the labels, next to the bound in nats
        per row. A third of every training batch is labeled rows, however
        few there are. See :ref:`semi-supervised`.

    consistency_weight : float, default=10.0
        Semi-supervised training only: weight of a term that makes the
        classifier's predictions agree between each training row and its
        5 nearest training rows (the symmetric KL divergence between the
        predicted class distributions), so that the few labels spread along
        the data as in ``LabelSpreading``; with ``neighbor_loss`` the
        neighbours come from that term's graph. 0 turns it off
        (:ref:`semi-supervised`).

    vat_weight : float, default=200.0
        Semi-supervised training only: weight of virtual adversarial training
        (Miyato et al., 2018), which makes the classifier's prediction for
        every training row, labeled or not, hold within ``vat_radius`` of it:
        the KL divergence from the prediction at the row to the one at the
        row moved in the direction that changes it most. 0 turns it off
        (:ref:`semi-supervised`).

    vat_radius : float, default=0.4
        Length of that move, as a fraction of the median distance from a
        training row to its nearest other row (so that it does not depend on
        the data's scale).

    {noise_parameters}

    {penalty_parameters}

    {training_parameters}

    Attributes
    ----------
    {shared_attributes}

    classes_ : ndarray of shape (n_classes,)
        Labels seen in ``fit`` (without the -1 of unlabeled rows); only when
        ``conditional=True``.

    semi_supervised_ : bool
        Whether ``fit`` saw unlabeled rows (-1) and trained a classifier; only
        when ``conditional=True``.

    init_ : {"random", "pca"}
        The start the model was trained from; with ``init="auto"``, whether it
        restarted as probabilistic PCA.

    See Also
    --------
    AutoencoderTransformer : Deterministic autoencoder with the classic regularisers.

    Notes
    -----
    ``transform`` returns posterior means, as scikit-learn requires a
    deterministic transform. ``posterior(X)`` gives means and standard
    deviations; a posterior draw is ``mean + std * rng.standard_normal(mean.shape)``.
    ``score`` is the mean ELBO per row in nats (higher is better, so
    ``GridSearchCV`` needs no scorer); ``score_samples`` is a tighter
    importance-sampled estimate of each row's log-likelihood. With the
    Bernoulli likelihood on grey levels these are log-likelihoods of the
    Bernoulli model, not of a density on [0, 1].

    References
    ----------
    Kingma & Welling, "Auto-encoding variational Bayes", ICLR 2014.
    Higgins et al., "beta-VAE", ICLR 2017. Bowman et al., "Generating sentences
    from a continuous space", CoNLL 2016 (KL annealing). Kingma et al.,
    "Improved variational inference with inverse autoregressive flow", NeurIPS
    2016 (free bits). Tomczak & Welling, "VAE with a VampPrior", AISTATS 2018
    (learned mixture priors). Sohn et al., "Learning structured output
    representation using deep conditional generative models", NeurIPS 2015.
    Burda et al., "Importance weighted autoencoders", ICLR 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_ae import VAETransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> vae = VAETransformer(2, likelihood="bernoulli", max_iter=3, random_state=0).fit(X)
    >>> vae.transform(X).shape, vae.sample(5, random_state=0).shape
    ((1797, 2), (5, 64))
    >>> cvae = VAETransformer(2, conditional=True, max_iter=3, random_state=0).fit(X, y)
    >>> cvae.sample(10, y=[3] * 10, random_state=0).shape
    (10, 64)
    """

    _likelihood_parameter = "likelihood"
    _neighbor_weight_note = """The VAE's loss is in nats per row, summed
        over the features, so the term needs a larger weight than in
        ``AutoencoderTransformer`` to shape the map."""
    _likelihoods = VAE_LIKELIHOODS

    _early_stopping_note = """Off by default: the KL term already regularises the
        codes, and from the default random start there is no PCA to fall back to."""

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "likelihood": [StrOptions(set(VAE_LIKELIHOODS))],
        "decoder": [StrOptions({"factorized", "autoregressive"})],
        "init": [StrOptions({"random", "pca", "auto"})],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "kl_warmup": [Interval(numbers.Integral, 0, None, closed="left")],
        "free_bits": [Interval(numbers.Real, 0, None, closed="left"), "array-like"],
        "committed_rate": [Interval(numbers.Real, 0, None, closed="left")],
        "svi_steps": [Interval(numbers.Integral, 0, None, closed="left")],
        "encoder_updates": [StrOptions({"joint", "aggressive"})],
        "prior": [StrOptions({"auto", *PRIORS})],
        "n_prior_components": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "prior_em_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "factor_dims": [None, tuple, list],
        "n_importance_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_score_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "conditional": ["boolean"],
        "classification_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "consistency_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "vat_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "vat_radius": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        architecture="mlp",
        image_shape=None,
        conv_channels=(32, 64),
        batch_norm=False,
        hidden_layer_sizes=(512, 256),
        activation="relu",
        likelihood="gaussian",
        decoder="factorized",
        init="auto",
        beta=1.0,
        kl_warmup=0,
        free_bits=0.0,
        committed_rate=0.0,
        encoder_updates="joint",
        svi_steps=0,
        prior="auto",
        n_prior_components=None,
        prior_em_iter=2,
        factor_dims=None,
        n_importance_samples=1,
        n_score_samples=200,
        conditional=False,
        classification_weight=500.0,
        consistency_weight=10.0,
        vat_weight=200.0,
        vat_radius=0.4,
        noise=None,
        noise_level=0.1,
        sparsity=None,
        sparsity_weight=1e-3,
        sparsity_target=0.05,
        contractive_weight=0.0,
        neighbor_loss=None,
        neighbor_weight=10.0,
        n_neighbors=15,
        placement="encoder",
        refine_epochs=100,
        max_iter=100,
        batch_size=128,
        learning_rate=1e-3,
        optimizer="adam",
        weight_decay=1e-5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        device="cpu",
        verbose=0,
        random_state=None,
        warm_start=False,
        checkpoint_dir=None,
    ):
        self.n_components = n_components
        self.architecture = architecture
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.batch_norm = batch_norm
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.likelihood = likelihood
        self.decoder = decoder
        self.init = init
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.committed_rate = committed_rate
        self.encoder_updates = encoder_updates
        self.svi_steps = svi_steps
        self.prior = prior
        self.n_prior_components = n_prior_components
        self.prior_em_iter = prior_em_iter
        self.factor_dims = factor_dims
        self.n_importance_samples = n_importance_samples
        self.n_score_samples = n_score_samples
        self.conditional = conditional
        self.classification_weight = classification_weight
        self.consistency_weight = consistency_weight
        self.vat_weight = vat_weight
        self.vat_radius = vat_radius
        self.noise = noise
        self.noise_level = noise_level
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.contractive_weight = contractive_weight
        self.neighbor_loss = neighbor_loss
        self.neighbor_weight = neighbor_weight
        self.n_neighbors = n_neighbors
        self.placement = placement
        self.refine_epochs = refine_epochs
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.callbacks = callbacks
        self.device = device
        self.verbose = verbose
        self.random_state = random_state
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir

    # ---- hooks of the base class ---------------------------------------------------

    def _condition(self, y, n_samples, fitting=False, classes=None):
        if self.conditional and self.factor_dims is not None:
            raise ValueError(
                "factor_dims takes the factors as fit's y, which conditional=True needs for "
                "labels; use one of them."
            )
        if not self.conditional:
            return None
        if y is None:
            raise ValueError(
                "conditional=True needs the labels y: call fit(X, y), transform(X, y=y), "
                "inverse_transform(Z, y=y) or sample(n, y=labels)."
            )
        y = check_labels(np.broadcast_to(y, (n_samples,)) if np.ndim(y) == 0 else y, "y")
        check_consistent_length(np.empty(n_samples), y)
        unlabeled = _is_unlabeled(y)
        if fitting:
            self._learn_classes(y, unlabeled, classes)
        unknown = np.setdiff1d(y[~unlabeled], self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains labels not seen in fit: {unknown.tolist()}; "
                f"known labels are {self.classes_.tolist()}. When training with partial_fit, "
                "give every label as classes= in the first call."
            )
        if unlabeled.any() and not (fitting or self.semi_supervised_):
            raise ValueError(
                "y marks rows as unlabeled (-1), but this model was fitted on labeled rows "
                "only and has no classifier to infer their labels; give every row a label."
            )
        # Unlabeled rows get a row of zeros, which the semi-supervised objective marginalises.
        return (y[:, None] == self.classes_).astype(np.float32)

    def _learn_classes(self, y, unlabeled, classes):
        if unlabeled.all():
            raise ValueError(
                "y marks every row as unlabeled (-1); semi-supervised training needs some "
                "labeled rows. Label a few rows, or use conditional=False."
            )
        labels = y[~unlabeled] if classes is None else check_labels(classes, "classes")
        self.classes_ = np.unique(labels[~_is_unlabeled(labels)])
        self.semi_supervised_ = bool(unlabeled.any())
        if self.semi_supervised_ and self.n_importance_samples > 1:
            raise ValueError(
                "semi-supervised training (y with -1) uses the ELBO, not the importance-"
                f"weighted bound; set n_importance_samples=1 (got {self.n_importance_samples})."
            )

    def _validated(self, X, y):
        if not (self.conditional and getattr(self, "semi_supervised_", False)):
            return super()._validated(X, y)
        # Labels not given (None or -1) are the classifier's.
        X = self._validated_rows(X)
        predicted = self._predict_labels(X)
        y = predicted if y is None else np.where(_is_unlabeled(np.asarray(y)), predicted, y)
        return X, self._condition(y, len(X))

    def _module_spec(self, X, penalties):
        for penalty in penalties:
            if penalty.code_activation is not None:
                raise ValueError(
                    f"sparsity={self.sparsity!r} needs {penalty.code_activation} codes, but a "
                    "VAE's codes are Gaussian; use sparsity='l1' or AutoencoderTransformer."
                )
        prior = self._prior_kind()
        if prior == "label" and not self.conditional:
            raise ValueError(
                "prior='label' learns a Gaussian for each label of a conditional VAE; set "
                "conditional=True and fit(X, y), or choose another prior."
            )
        if self.committed_rate > 0 and prior != "normal":
            raise ValueError(
                "committed_rate bounds the KL to a standard normal prior from below; "
                f"it does not hold for prior={prior!r}. Use prior='normal', or "
                "committed_rate=0."
            )
        n_labels = len(self.classes_) if self.conditional else 0
        return VariationalAutoencoder, {
            "n_conditions": n_labels,
            "prior": make_prior(prior, self.n_components, self.n_prior_components, n_labels),
            "n_classes": len(self.classes_) if self._trains_classifier() else 0,
            "max_log_variance": committed_log_variance(self.committed_rate)
            if self.committed_rate > 0
            else None,
            "autoregressive": self.likelihood if self.decoder == "autoregressive" else None,
            "factor_dims": None if self.factor_dims is None else tuple(self.factor_dims),
            "linear_path": self._starts_as_ppca(),
        }

    def _starts_as_ppca(self):
        if self.init == "random":
            return False
        conflict = self._ppca_start_conflict()
        if self.init == "auto":
            # Set by fit before the restart, and by load before the network is rebuilt.
            return getattr(self, "init_", None) == "pca" and conflict is None
        if conflict is not None:
            raise ValueError(
                "init='pca' starts the network as probabilistic PCA, which needs an MLP "
                f"with a Gaussian, factorized decoder, but {conflict}; use init='random'."
            )
        return True

    def _ppca_start_conflict(self):
        """Why the PPCA start does not apply to these settings, or None."""
        conflicts = {
            f"architecture={self.architecture!r} has no linear counterpart": (
                self.architecture != "mlp"
            ),
            f"likelihood={self.likelihood!r} decodes logits": self.likelihood != "gaussian",
            "decoder='autoregressive' reads the features it predicts": (
                self.decoder == "autoregressive"
            ),
        }
        return next((conflict for conflict, present in conflicts.items() if present), None)

    def _fit(self, X, y, partial, classes=None):
        fresh = not self._continues_training(partial)
        if fresh:
            vars(self).pop("init_", None)
        super()._fit(X, y, partial, classes)
        if not fresh:
            return self
        self.init_ = "random" if self.net_.module_.linear_encoder is None else "pca"
        if (
            self.init == "auto"
            and not partial
            and not self._training_interrupted
            and self._ppca_start_conflict() is None
            and self._leaves_units_closed(X, y)
        ):
            self.init_ = "pca"
            # A new network, also with warm_start=True.
            del self.net_
            super()._fit(X, y, partial, classes)
        return self

    def _leaves_units_closed(self, X, y):
        """Whether some latent unit carries almost nothing about the training rows X."""
        mean, std = self.posterior(X, y) if self.conditional else self.posterior(X)
        kl = mean_kl_per_unit(mean, np.square(std))
        # free_bits and committed_rate hold every unit near their floor whether the decoder
        # reads it or not: what counts is the KL above the floor.
        floor = np.maximum(self._kl_floor(), self.committed_rate)
        return bool(np.any(kl < _CLOSED_UNIT_NATS + floor))

    def _checkpoint_params(self):
        # The PPCA restart of init="auto" is another training run than the random one.
        return {**super()._checkpoint_params(), "init": getattr(self, "init_", self.init)}

    def _initialize_module(self, net, X):
        if net.module_.linear_encoder is None:
            return
        pca = fit_start_pca(X, self.n_components, self.init)
        likelihood = net.criterion_
        noise_variance = max(ppca_noise_variance(X, pca), likelihood.min_variance)
        # No feature starts noisier than it varies: constant pixels start at the floor, as
        # from the random start.
        likelihood.start_at(np.minimum(noise_variance, X.var(axis=0)))
        net.module_.init_linear_path_from_ppca(
            pca.components_, pca.explained_variance_, noise_variance, pca.mean_
        )

    def _training_data(self, X, y, partial, continuing, classes):
        X, condition, memberships = super()._training_data(X, y, partial, continuing, classes)
        if memberships is None:
            return X, condition, None
        # A row in several one-factor groups trains once in each of them (factor_dims refuses
        # conditional=True, so there is no condition to repeat).
        return X[memberships[:, 0]], condition, memberships[:, 1:]

    def _factor_groups(self, y, n_samples):
        if self.factor_dims is None:
            return None
        dims = self.factor_dims
        if not all(isinstance(d, numbers.Integral) and d >= 1 for d in dims) or not dims:
            raise ValueError(f"factor_dims must be positive integers, got {dims!r}.")
        if sum(dims) > self.n_components:
            raise ValueError(
                f"factor_dims={tuple(dims)} asks for {sum(dims)} units, more than "
                f"n_components={self.n_components}; raise n_components or give fewer units."
            )
        if y is None:
            raise ValueError(
                f"factor_dims={tuple(dims)} trains on known factors: call fit(X, y=factors) "
                f"with one column per factor ({len(dims)}), NaN where a factor is unknown."
            )
        factors = check_array(y, ensure_all_finite="allow-nan", ensure_2d=False, input_name="y")
        factors = factors.reshape(n_samples, -1) if factors.ndim == 1 else factors
        check_consistent_length(np.empty(n_samples), factors)
        if factors.shape[1] != len(dims):
            raise ValueError(
                f"y has {factors.shape[1]} factor columns, but factor_dims={tuple(dims)} "
                f"names {len(dims)} factors; give one column per factor."
            )
        memberships = one_factor_groups(factors)
        if (memberships[:, 1] < 0).all():
            warnings.warn(
                "No training rows share every factor but one, so no units are clamped and "
                "factor_dims has no effect; rows in groups that vary one factor "
                "(make_sprites(group_size=...)) give the factors their units.",
                UserWarning,
                stacklevel=4,
            )
        return memberships

    def _trains_classifier(self):
        return self.conditional and self.semi_supervised_

    def _label_consistency(self):
        return self._trains_classifier() and self.consistency_weight > 0

    def _uses_neighbor_graph(self):
        if self.neighbor_loss is None and self._label_consistency():
            return f"consistency_weight={self.consistency_weight!r}"
        return super()._uses_neighbor_graph()

    def _model_penalties(self, X):
        penalties = []
        if self._label_consistency():
            penalties.append(LabelConsistencyTerm(self.consistency_weight))
        if self._trains_classifier() and self.vat_weight > 0:
            radius = self.vat_radius * nearest_neighbor_distance(X)
            penalties.append(VirtualAdversarialTerm(self.vat_weight, radius))
        return penalties

    def _prior_kind(self):
        """``prior`` with ``"auto"`` resolved to a key of ``PRIORS``."""
        if self.prior != "auto":
            return self.prior
        return "label" if self.conditional and self.committed_rate == 0 else "normal"

    def _model_callbacks(self):
        if self.encoder_updates == "joint":
            return []
        return [("aggressive_encoder_updates", AggressiveEncoderUpdates())]

    def _objective(self):
        floor = self._kl_floor()
        if self._trains_classifier():
            if self.svi_steps > 0:
                raise ValueError(
                    "svi_steps does not apply to semi-supervised training (y with -1), whose "
                    "bound sums over the classes; set svi_steps=0."
                )
            return SemiSupervisedBound(self.beta, self.kl_warmup, floor, self.classification_weight)
        if self.svi_steps > 0:
            if self.factor_dims is not None:
                raise ValueError(
                    "svi_steps refines each row's posterior on its own, which gives the units "
                    "that factor_dims clamps values that tell a group's rows apart; set "
                    "svi_steps=0 with factor_dims."
                )
            if self.n_importance_samples > 1:
                raise ValueError(
                    "svi_steps refines the posterior of the ELBO, not of the importance-"
                    "weighted bound; set n_importance_samples=1 or svi_steps=0."
                )
            return SemiAmortizedBound(self.beta, self.kl_warmup, floor, self.svi_steps)
        if self.n_importance_samples > 1 and np.any(floor):
            raise ValueError(
                "free_bits floors each unit's KL term of the ELBO, which the importance-"
                "weighted bound does not have; set free_bits=0 or n_importance_samples=1."
            )
        return EvidenceBound(self.beta, self.kl_warmup, floor, self.n_importance_samples)

    def _kl_floor(self):
        """``free_bits`` checked: a number, or one finite floor >= 0 per latent unit."""
        if isinstance(self.free_bits, numbers.Real):
            return float(self.free_bits)
        floors = np.asarray(self.free_bits, dtype=np.float32)
        if floors.shape != (self.n_components,) or not np.all(np.isfinite(floors) & (floors >= 0)):
            raise ValueError(
                f"free_bits takes one number, or one floor in nats (finite, >= 0) per latent "
                f"unit: {self.n_components} for n_components={self.n_components}; got "
                f"{self.free_bits!r}."
            )
        return floors

    def _after_fit(self, X, condition, rng, partial):
        refit = getattr(self.net_.module_.prior, "refit", None)
        if refit is None or partial or self.prior_em_iter == 0:
            return
        mean, std = self._posterior(X, condition)
        draws = mean + std * rng.standard_normal((_PRIOR_EM_DRAWS, *mean.shape))
        repeated = None if condition is None else np.tile(condition, (_PRIOR_EM_DRAWS, 1))
        refit(draws.reshape(-1, mean.shape[1]), repeated, self.prior_em_iter)

    def _sample_codes(self, n_samples, rng, condition=None):
        return self.net_.module_.prior.sample(n_samples, rng, condition)

    def _decode_draws(self, Z, condition, rng):
        if self.decoder == "factorized":
            return self._decode(Z, condition)
        # Feature by feature, each drawn from p(x_i | x_<i, z); the rows are the means along
        # the drawn path, as the factorized decoder's are the means of p(x|z).
        module, criterion = self.net_.module_, self.net_.criterion_
        generator = torch_generator(rng)

        def draw(output):
            # Noise for a whole chunk of rows, as padded passes draw it, so that samples drawn
            # before the passes went unpadded are drawn again.
            return criterion.draw(padded_to_chunk(output), generator=generator)[: len(output)]

        def decode(z, c):
            return criterion.to_data(module.decode(z, c, draw=draw))

        # Unpadded: generation makes a pass per feature, which a few samples should not pay for
        # a whole chunk of rows.
        return self._map_batches(decode, Z, condition, pad_rows=False)

    # ---- public API --------------------------------------------------------------

    def _predict_logits(self, X):
        return self._map_batches(lambda x, c: self.net_.module_.classify(x), X)

    def _predict_labels(self, X):
        return self.classes_[np.argmax(self._predict_logits(X), axis=1)]

    @available_if(_may_classify)
    def predict_proba(self, X):
        """Class probabilities q(y|x) of a semi-supervised model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes in ``classes_`` order.
        """
        X = self._validated_rows(X)
        logits = torch.as_tensor(self._predict_logits(X), dtype=torch.float64)
        return torch.softmax(logits, dim=1).numpy()

    @available_if(_may_classify)
    def predict(self, X):
        """Most probable class of each row under q(y|x), for a semi-supervised model.

        ``score`` stays the model's bound; to select a semi-supervised model by
        accuracy, pass ``scoring="accuracy"`` to ``GridSearchCV`` (it scores
        the labeled rows of each validation fold; drop the -1 rows from them
        with a custom scorer if folds mix both).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        return self._predict_labels(self._validated_rows(X))

    def posterior(self, X, y=None):
        """Mean and standard deviation of the Gaussian posterior q(z|x) of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.
        y : array-like of shape (n_samples,), default=None
            Labels; required when ``conditional=True``.

        Returns
        -------
        mean, std : ndarrays of shape (n_samples, n_components)
            Draw from the posterior with ``mean + std * rng.standard_normal(mean.shape)``.
        """
        return self._posterior(*self._validated(X, y))

    def _posterior(self, X, condition):
        def mean_and_std(x, c):
            mean, logvar = self.net_.module_.posterior_parameters(x, c)
            return mean, torch.exp(0.5 * logvar)

        return self._map_batches(mean_and_std, X, condition)

    def score_samples(self, X, y=None):
        """Importance-sampled estimate of log p(x) for each row, in nats.

        Uses ``n_score_samples`` draws from q(z|x) per row (the IWAE bound,
        which is at least the ELBO and tightens as the number of draws grows),
        in batches so that memory stays bounded. Deterministic: the draws use a
        fixed seed, the same for every row, so a row's score does not depend on
        the other rows. Low values flag unusual rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : array-like of shape (n_samples,), default=None
            Labels; required when ``conditional=True``.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
        """
        X, condition = self._validated(X, y)
        module, criterion = self.net_.module_, self.net_.criterion_
        noise = self._scoring_noise(self.n_score_samples).split(_DRAWS_PER_PASS)

        def bound(x, c):
            mean, logvar = module.posterior_parameters(x, c)
            return importance_sampled_log_likelihood(module, criterion, x, c, mean, logvar, noise)

        return self._map_batches(bound, X, condition).astype(np.float64)

    def score(self, X, y=None):
        """Mean evidence lower bound (ELBO) per row, in nats; higher is better.

        Estimated with 10 draws per row and a fixed seed, so it is
        deterministic. Every row uses the same 10 draws (so that a row's score
        does not depend on the other rows), so their error does not average out
        over the rows: the estimate can lie some tenths of a nat from the ELBO.
        Models with the same ``n_components`` get the same draws. To compare
        models that differ by less, use ``score_samples`` with a large
        ``n_score_samples``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : array-like of shape (n_samples,), default=None
            Labels; required when ``conditional=True``, ignored otherwise.

        Returns
        -------
        elbo : float
        """
        X, condition = self._validated(X, y)
        module, criterion = self.net_.module_, self.net_.criterion_
        eps = self._scoring_noise(_ELBO_DRAWS)

        def row_elbo(x, c):
            return elbo(module, criterion, x, c, *module.posterior_parameters(x, c), eps)

        return float(np.mean(self._map_batches(row_elbo, X, condition)))

    def _scoring_noise(self, n_draws):
        """Standard-normal draws (n_draws, 1, n_components) that every row of a call shares.

        A fixed seed makes scores deterministic, and sharing the draws makes a
        row's score independent of the other rows (both measured by scikit-learn's
        estimator checks).
        """
        generator = torch.Generator().manual_seed(0)
        eps = torch.randn((n_draws, 1, self.n_components), generator=generator)
        return eps.to(self.net_.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self.conditional
        return tags
