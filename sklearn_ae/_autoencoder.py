"""AutoencoderTransformer: deterministic autoencoders as a scikit-learn transformer."""

import numbers
import warnings

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import Interval, StrOptions

from ._adversarial import CODE_PRIORS, AdversarialPriorPenalty
from ._base import BaseAutoencoder
from ._docs import fill_shared_docs
from ._likelihoods import AUTOENCODER_LOSSES
from ._linear_start import fit_start_pca
from ._modules import Autoencoder
from ._objectives import ReconstructionObjective
from ._pretraining import PRETRAINING
from ._quantization import CodebookPenalty, RestartUnusedCodes, VectorQuantizer, codebook_usage
from ._threads import torch_threads_for_task
from ._validation import torch_generator

# Components of the Gaussian mixture fitted to the training codes for ``sample``.
_CODE_DENSITY_COMPONENTS = 10
# Training rows whose codes the codebook starts on, and epochs of the code-index prior.
_CODEBOOK_START_ROWS = 4096
_CODE_PRIOR_EPOCHS = 100


def sample_gaussian_mixture(mixture, n_samples, rng):
    """Draw ``n_samples`` rows from a fitted full-covariance GaussianMixture using ``rng``.

    ``GaussianMixture.sample`` always uses the mixture's own ``random_state``;
    this lets ``sample(random_state=...)`` choose the draw.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.mixture import GaussianMixture
    >>> gm = GaussianMixture(2, random_state=0).fit(np.random.RandomState(0).randn(50, 3))
    >>> sample_gaussian_mixture(gm, 7, np.random.RandomState(0)).shape
    (7, 3)
    """
    counts = rng.multinomial(n_samples, mixture.weights_)
    draws = [
        rng.multivariate_normal(mean, cov, size=count)
        for mean, cov, count in zip(mixture.means_, mixture.covariances_, counts, strict=True)
    ]
    return np.concatenate(draws)[rng.permutation(n_samples)]


@fill_shared_docs
class AutoencoderTransformer(BaseAutoencoder):
    r"""Autoencoder as a transformer: ``transform`` encodes, ``inverse_transform`` decodes.

    Read more in the :ref:`User Guide <autoencoders>`.

    A multilayer perceptron encoder maps each row to ``n_components`` codes and a
    mirrored decoder maps codes back. Training minimises

    .. math::

        \frac{1}{n d}\sum_i \ell(x_i, g(f(\tilde x_i)))
        + \lambda_s\,\Omega_{\text{sparse}} + \lambda_c\,\frac{1}{n}\sum_i
        \Big\|\frac{\partial f(x_i)}{\partial x_i}\Big\|_F^2

    where :math:`\ell` is the squared error or binary cross-entropy summed over
    the d features, :math:`\tilde x` is the (optionally corrupted) input,
    f the encoder and g the decoder. The classic variants are parameters that
    combine freely: deep (``hidden_layer_sizes``), denoising (``noise``),
    sparse (``sparsity``) and contractive (``contractive_weight``).

    Parameters
    ----------
    n_components : int, default=2
        Number of code units (the output dimension of ``transform``).

    {network_parameters}

    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss. ``"mse"`` suits any real-valued data (e.g.
        standardized tables). ``"bce"`` (binary cross-entropy on a sigmoid
        output) needs X in [0, 1], e.g. pixel intensities or MinMax-scaled data.

    {noise_parameters}

    {penalty_parameters}

    pretrain : {"greedy"} or None, default=None
        ``"greedy"``: greedy layer-wise pretraining of a stacked autoencoder
        (``architecture="mlp"``). A shallow autoencoder is trained on the
        input for ``pretrain_epochs``, the next one on its codes, and so on
        down to the code layer; their encoders and decoders become the layers
        of the deep network, which ``fit`` then fine-tunes end to end for
        ``max_iter`` epochs. Pretraining uses the plain reconstruction loss
        (no noise or penalties) and is recorded in ``pretrain_history_``;
        ``net_.history``, ``n_iter_``, ``loss_curve_`` and the epochs named
        in warnings count fine-tuning only.

    pretrain_epochs : int, default=10
        Epochs of each layer's pretraining.

    prior_matching : {"adversarial"} or None, default=None
        ``"adversarial"``: an adversarial autoencoder (Makhzani et al., 2016).
        A discriminator learns to tell draws of ``prior`` from the codes and
        the encoder learns to fool it, so the codes follow the prior and
        ``sample`` decodes prior draws instead of fitting a mixture to the
        codes. Both train in the same step: the discriminator on the codes
        held fixed, the encoder through the discriminator's weights held fixed.

    prior : {"normal", "ring"}, default="normal"
        The prior of ``prior_matching``: ``"normal"`` is N(0, I); ``"ring"``
        is a fixed mixture of 10 Gaussians of standard deviation 0.5 evenly
        on a circle of radius 4 in the first two code dimensions (N(0, 1) in
        the others), for clustered data. Needs ``n_components >= 2``.

    adversarial_weight : float, default=0.003
        Weight of the adversarial terms in the loss, next to the reconstruction
        error per feature. Lower it if the codes collapse towards a point;
        raise it if they stay far from the prior (:ref:`adversarial`).

    quantization : {"vq"} or None, default=None
        ``"vq"``: discrete codes (VQ-VAE, van den Oord et al., 2017). The
        code is cut into ``n_components / codebook_dim`` positions of
        ``codebook_dim`` numbers, and each position is snapped to the nearest
        of ``codebook_size`` learned entries, one codebook for all positions;
        gradients pass straight through the snap, the codebook and commitment
        losses train the entries and hold the encoder near them, and entries
        no code chose in an epoch restart on recent encoder outputs.
        ``transform`` returns the snapped codes. After training, a small
        autoregressive network learns the training rows' code indices,
        position by position, and ``sample`` draws from it (:ref:`vq`).

    codebook_size : int, default=512
        Entries of the codebook (``quantization="vq"``).

    codebook_dim : int, default=2
        Numbers per code position (``quantization="vq"``); ``n_components``
        must be a multiple of it.

    init : {"auto", "pca", "random"}, default="auto"
        How the network starts. ``"pca"`` adds a linear path beside the
        encoder and decoder, set to PCA's projection and its inverse, and
        starts the nonlinear layers' outputs at zero: the untrained network
        *is* PCA, and training only moves away from it where that lowers the
        loss. This keeps the autoencoder from losing to PCA on small data with
        many components. ``"random"`` is the usual random initialisation
        without a linear path. ``"auto"`` is ``"pca"`` except with
        ``loss="bce"`` or ``sparsity="kl"``, whose sigmoid outputs or codes
        have no PCA counterpart, with ``pretrain="greedy"``, which is an
        initialisation of its own, with ``prior_matching``, which moves the
        codes to the prior's scale, and with ``architecture="conv"`` or an
        architecture object, which train better from a random start
        (:ref:`pca-start`).

    {training_parameters}

    Attributes
    ----------
    {shared_attributes}

    code_density_ : sklearn.mixture.GaussianMixture or None
        Density of the training codes that ``sample`` draws from; None with
        ``quantization="vq"``, whose code prior is part of the network.

    codebook_usage_ : float
        With ``quantization="vq"``: the share of the codebook's entries that
        the training rows' codes use.

    codebook_perplexity_ : float
        With ``quantization="vq"``: the exponential of the entropy of the
        entries' use over the training rows, the number of equally used
        entries that would give the same entropy.

    pretrain_history_ : list of dict
        One entry per pretraining epoch (``layer``, ``epoch``, ``train_loss``,
        ``dur`` in seconds); empty without pretraining. ``net_.history``,
        ``n_iter_`` and ``loss_curve_`` count the training epochs only.

    See Also
    --------
    VAETransformer : Variational autoencoder, a generative model with a prior.
    sklearn.decomposition.PCA : The linear baseline.

    Notes
    -----
    An autoencoder is not a generative model: ``sample`` fits a Gaussian
    mixture (up to 10 components, full covariances) to the codes of the
    training data at the end of ``fit`` and decodes draws from it.
    ``score`` is the negative mean squared reconstruction error, whatever the
    training loss, so ``GridSearchCV`` needs no scorer.

    References
    ----------
    Hinton & Salakhutdinov, "Reducing the dimensionality of data with neural
    networks", Science 2006. Vincent et al., "Extracting and composing robust
    features with denoising autoencoders", ICML 2008. Ng, "Sparse autoencoder",
    CS294A lecture notes, 2011. Rifai et al., "Contractive auto-encoders",
    ICML 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_ae import AutoencoderTransformer
    >>> X = load_digits().data / 16
    >>> ae = AutoencoderTransformer(n_components=2, max_iter=5, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (1797, 2)
    >>> ae.inverse_transform(ae.transform(X[:3])).shape
    (3, 64)
    >>> ae.sample(4, random_state=0).shape
    (4, 64)
    """

    _likelihood_parameter = "loss"
    _neighbor_weight_note = """The reconstruction loss is a mean per
        feature and the neighbour term a few nats per row; 0.1 lets the term
        shape the map while the reconstruction stays below PCA's."""
    _likelihoods = AUTOENCODER_LOSSES

    _early_stopping_note = """With the PCA start (``init="auto"``) this makes the
        default model no worse than PCA on new rows beyond noise, where a
        network trained on all rows for ``max_iter`` epochs could memorise a
        small training set (:ref:`pca-start`). ``False`` trains every epoch
        on every row."""

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "loss": [StrOptions(set(AUTOENCODER_LOSSES))],
        "prior_matching": [None, StrOptions({"adversarial"})],
        "prior": [StrOptions(set(CODE_PRIORS))],
        "adversarial_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "quantization": [None, StrOptions({"vq"})],
        "codebook_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "codebook_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "init": [StrOptions({"auto", "pca", "random"})],
        "pretrain": [None, StrOptions(set(PRETRAINING))],
        "pretrain_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
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
        loss="mse",
        noise=None,
        noise_level=0.1,
        sparsity=None,
        sparsity_weight=1e-3,
        sparsity_target=0.05,
        contractive_weight=0.0,
        neighbor_loss=None,
        neighbor_weight=0.1,
        n_neighbors=15,
        placement="encoder",
        refine_epochs=100,
        pretrain=None,
        pretrain_epochs=10,
        prior_matching=None,
        prior="normal",
        adversarial_weight=0.003,
        quantization=None,
        codebook_size=512,
        codebook_dim=2,
        init="auto",
        max_iter=100,
        batch_size=128,
        learning_rate=1e-3,
        optimizer="adam",
        weight_decay=1e-5,
        early_stopping=True,
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
        self.loss = loss
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
        self.pretrain = pretrain
        self.pretrain_epochs = pretrain_epochs
        self.prior_matching = prior_matching
        self.prior = prior
        self.adversarial_weight = adversarial_weight
        self.quantization = quantization
        self.codebook_size = codebook_size
        self.codebook_dim = codebook_dim
        self.init = init
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

    def _check_training_data(self, X):
        if self.pretrain == "greedy" and self.architecture != "mlp":
            raise ValueError(
                "pretrain='greedy' trains dense layers one at a time and needs "
                f"architecture='mlp', got architecture={self.architecture!r}."
            )
        regularised = self.noise or self.sparsity or self.contractive_weight > 0
        if self.n_components > X.shape[1] and not regularised:
            warnings.warn(
                f"n_components={self.n_components} is more than the {X.shape[1]} features of X "
                "and nothing regularises the code, so the autoencoder can learn to copy its "
                "input. Lower n_components, or set noise, sparsity or contractive_weight for "
                "an overcomplete code.",
                UserWarning,
                stacklevel=6,
            )

    def _starts_as_pca(self, code_activation):
        conflicts = {
            "loss='bce' makes the outputs sigmoid": self.loss == "bce",
            f"sparsity={self.sparsity!r} makes the codes {code_activation}": code_activation,
            "pretrain='greedy' initialises the network itself": self.pretrain is not None,
            "prior_matching moves the codes to the prior": self.prior_matching is not None,
        }
        if self.init == "auto":
            return self.architecture == "mlp" and not any(conflicts.values())
        if self.init == "pca":
            for conflict, present in conflicts.items():
                if present:
                    raise ValueError(
                        "init='pca' starts the network as PCA, which needs linear outputs and "
                        f"codes, but {conflict}; use init='auto' or init='random'."
                    )
        return self.init == "pca"

    def _module_spec(self, X, penalties):
        code_activation = next((p.code_activation for p in penalties if p.code_activation), None)
        code_prior = None
        if self.prior_matching is not None:
            if self.prior == "ring" and self.n_components < 2:
                raise ValueError(
                    "prior='ring' places its modes on a circle in the first two code "
                    f"dimensions and needs n_components >= 2, got {self.n_components}."
                )
            code_prior = CODE_PRIORS[self.prior](self.n_components)
        return Autoencoder, {
            "code_activation": code_activation,
            "linear_path": self._starts_as_pca(code_activation),
            "code_prior": code_prior,
            "quantizer": self._quantizer(),
        }

    def _quantizer(self):
        if self.quantization is None:
            return None
        conflicts = {
            "prior_matching": self.prior_matching is not None,
            "contractive_weight": self.contractive_weight > 0,
            "neighbor_loss": self.neighbor_loss is not None,
        }
        for name, present in conflicts.items():
            if present:
                raise ValueError(
                    f"quantization='vq' snaps the codes to a codebook, through which {name} "
                    f"cannot act; set {name} to its default or quantization=None."
                )
        if self.n_components % self.codebook_dim:
            raise ValueError(
                f"quantization='vq' cuts the code into positions of codebook_dim="
                f"{self.codebook_dim} numbers, which n_components={self.n_components} is not "
                "a multiple of; change one of them."
            )
        return VectorQuantizer(self.n_components, self.codebook_size, self.codebook_dim)

    def _model_penalties(self, X):
        if self.quantization is not None:
            return [CodebookPenalty(1.0)]
        if self.prior_matching is None:
            return []
        return [AdversarialPriorPenalty(self.adversarial_weight)]

    def _model_callbacks(self):
        if self.quantization is None:
            return []
        return [("restart_unused_codes", RestartUnusedCodes())]

    def _objective(self):
        return ReconstructionObjective()

    def _initialize_module(self, net, X):
        self.pretrain_history_ = []
        if self.pretrain is not None:
            PRETRAINING[self.pretrain](
                net,
                X,
                self.pretrain_history_,
                settings=self._training_settings(len(X)),
                activation=self.activation,
                epochs=self.pretrain_epochs,
            )
        elif net.module_.linear_encoder is not None:
            pca = fit_start_pca(X, self.n_components, self.init)
            net.module_.init_linear_path_from_pca(pca.components_, pca.mean_)
        if net.module_.quantizer is not None:
            # Entries start on the untrained encoder's outputs, where the codes are.
            rows = X[torch.randperm(len(X))[:_CODEBOOK_START_ROWS].numpy()]
            codes = torch.as_tensor(
                self._encode_continuous(rows), dtype=torch.float32, device=net.device
            )
            net.module_.quantizer.initialize_from(codes)

    def _encode_continuous(self, X):
        return self._map_batches(lambda x, c: self.net_.module_.continuous_code(x), X)

    def _after_fit(self, X, condition, rng, partial):
        self.pretrain_history_ = getattr(self, "pretrain_history_", [])
        if self.quantization is not None:
            self._fit_code_prior(X, rng)
            return
        if len(X) < 2:
            # A density needs two rows: a one-row chunk of partial_fit keeps the one before.
            self.code_density_ = getattr(self, "code_density_", None)
            return
        codes = self._encode(X)
        n_distinct = len(np.unique(codes, axis=0))
        self.code_density_ = GaussianMixture(
            n_components=min(_CODE_DENSITY_COMPONENTS, n_distinct),
            reg_covar=1e-4,
            # A looser tolerance than the default 1e-3 cut the fit from 0.48 s to 0.13 s on
            # MNIST codes with the same held-out log-likelihood.
            tol=1e-2,
            random_state=rng,
        ).fit(codes)

    def _fit_code_prior(self, X, rng):
        """Codebook use on the training rows, and the prior over their code indices."""
        quantizer = self.net_.module_.quantizer
        codes = torch.as_tensor(
            self._encode_continuous(X), dtype=torch.float32, device=self.net_.device
        )
        with torch.no_grad():
            indices = quantizer.indices(codes)
        self.codebook_usage_, self.codebook_perplexity_ = codebook_usage(
            indices.cpu().numpy(), self.codebook_size
        )
        self.code_density_ = None
        generator = torch_generator(rng)
        with torch_threads_for_task():
            quantizer.prior.fit(indices, _CODE_PRIOR_EPOCHS, generator)

    def _sample_codes(self, n_samples, rng, condition=None):
        if self.quantization is not None:
            module = self.net_.module_
            generator = torch_generator(rng)
            with torch.no_grad():
                indices = module.quantizer.prior.sample(n_samples, generator)
                return module.quantizer.lookup(indices).cpu().numpy()
        if self.prior_matching is not None:
            return self.net_.module_.code_prior.sample(n_samples, rng)
        if self.code_density_ is None:
            raise ValueError(
                "sample draws codes from their density on the training rows, which needs at "
                "least 2 rows; this model was trained by partial_fit on single rows only. "
                "Call partial_fit with a chunk of 2 or more rows."
            )
        return sample_gaussian_mixture(self.code_density_, n_samples, rng)

    def score_samples(self, X):
        """Negative mean squared reconstruction error of each row.

        Higher is better; low values flag rows the model reconstructs poorly,
        which makes this an anomaly score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-mean((x - x_reconstructed) ** 2)`` over the features of each row.
        """
        X, _ = self._validated(X, None)
        X_hat = self._decode(self._encode(X))
        return -np.mean((X - X_hat) ** 2, axis=1)

    def score(self, X, y=None):
        """Negative mean squared reconstruction error over all rows and features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Higher is better, so ``GridSearchCV`` can select models without a scorer.
        """
        return float(np.mean(self.score_samples(X)))
