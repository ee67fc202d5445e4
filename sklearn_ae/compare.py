"""Compare dimensionality-reduction methods on held-out data.

The engine behind ``sklearn-ae compare`` and the scripts in ``benchmarks/``:
fit each method on a training split and measure, on the test split,
reconstruction error (methods with an inverse), k-NN accuracy in the embedding
(when labels exist), trustworthiness, fit and transform times and, for
methods that generate rows, the precision and recall of their samples.
"""

import importlib.util
import inspect
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.decomposition import PCA, KernelPCA
from sklearn.manifold import TSNE, trustworthiness
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from ._autoencoder import AutoencoderTransformer
from ._vae import VAETransformer
from ._validation import in_unit_interval
from .metrics import active_units, sample_precision_recall


@dataclass(frozen=True)
class Setting:
    """What a method's ``build`` knows when it makes an estimator.

    Parameters
    ----------
    n_components : int
        Embedding dimension.
    random_state : int
        Seed of the estimator.
    max_iter : int or None
        Epochs of neural methods; None keeps their default.
    unit_interval : bool
        Whether the data lie in [0, 1].
    image_shape : tuple of int or None
        (height, width) or (channels, height, width) when the rows are images.
    """

    n_components: int
    random_state: int
    max_iter: int | None = None
    unit_interval: bool = False
    image_shape: tuple | None = None


@dataclass(frozen=True)
class Method:
    """A method that ``compare`` can run.

    Parameters
    ----------
    label : str
        Name in tables and figures.
    build : callable
        ``build(setting)`` returns an unfitted estimator for a :class:`Setting`.
    requires : str or None, default=None
        Module that must be importable; the method is skipped with a note otherwise.
    transductive : bool, default=False
        True for methods without ``transform`` (scikit-learn's t-SNE): they
        embed training and test rows together, without the labels.
    reconstructs : bool, default=False
        Whether to measure reconstruction error through ``inverse_transform``.
    """

    label: str
    build: object
    requires: str | None = None
    transductive: bool = False
    reconstructs: bool = False


def _neural(estimator_class, **params):
    def build(setting):
        extra = {} if setting.max_iter is None else {"max_iter": setting.max_iter}
        if estimator_class is VAETransformer and setting.unit_interval:
            extra["likelihood"] = "bernoulli"
        if params.get("architecture") == "conv" and setting.image_shape is not None:
            extra["image_shape"] = setting.image_shape
        return estimator_class(
            setting.n_components, random_state=setting.random_state, **params, **extra
        )

    return build


# Convolutions beat the default MLP on images of 12x12 pixels or more at 10 and 32
# components, and lose to it at 2 components and on 8x8 images
# (benchmarks/results/architecture.md).
CONV_MIN_IMAGE_SIDE = 12
CONV_MIN_COMPONENTS = 10


def autoencoder_recipe(setting):
    """The AutoencoderTransformer that ``compare`` runs as ``"ae"``.

    Its defaults (a fully connected network that starts as PCA), except for
    images with at least :data:`CONV_MIN_IMAGE_SIDE` pixels a side embedded
    in at least :data:`CONV_MIN_COMPONENTS` dimensions, which get
    ``architecture="conv"``: there convolutions reconstruct better, while at
    2 components the MLP both reconstructs better and keeps neighbours closer.

    Parameters
    ----------
    setting : Setting
        The comparison's embedding dimension, seed, epochs and data traits.

    Returns
    -------
    estimator : AutoencoderTransformer
        Unfitted.

    Examples
    --------
    >>> autoencoder_recipe(Setting(32, 0, image_shape=(28, 28))).architecture
    'conv'
    >>> autoencoder_recipe(Setting(2, 0, image_shape=(28, 28))).architecture
    'mlp'
    >>> autoencoder_recipe(Setting(32, 0, image_shape=(8, 8))).architecture
    'mlp'
    """
    shape = setting.image_shape
    use_conv = (
        shape is not None
        and min(shape[-2:]) >= CONV_MIN_IMAGE_SIDE
        and setting.n_components >= CONV_MIN_COMPONENTS
    )
    params = {"architecture": "conv"} if use_conv else {}
    return _neural(AutoencoderTransformer, **params)(setting)


class OpenTSNETransformer:
    """Minimal fit/transform adapter around ``openTSNE.TSNE`` (which has its own API).

    Parameters
    ----------
    n_components : int
        Embedding dimension.
    random_state : int
        Seed.
    """

    def __init__(self, n_components=2, random_state=None):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        """Embed the training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted adapter.
        """
        from openTSNE import TSNE as OpenTSNE

        tsne = OpenTSNE(n_components=self.n_components, random_state=self.random_state, n_jobs=-1)
        self.embedding_ = tsne.fit(np.asarray(X, dtype=np.float64))
        return self

    def transform(self, X):
        """Place new rows into the training embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to embed.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Their embedding.
        """
        return np.asarray(self.embedding_.transform(np.asarray(X, dtype=np.float64)))


def _vector_quantized(setting):
    # Positions of two numbers where the code splits into them, of one otherwise.
    width = 2 if setting.n_components % 2 == 0 else 1
    return _neural(AutoencoderTransformer, quantization="vq", codebook_dim=width)(setting)


def _umap(setting):
    from umap import UMAP

    # A seeded UMAP runs on one thread whatever n_jobs says (and warns that it does): say so.
    return UMAP(n_components=setting.n_components, random_state=setting.random_state, n_jobs=1)


METHODS = {
    "pca": Method(
        "PCA",
        lambda s: PCA(s.n_components, random_state=s.random_state),
        reconstructs=True,
    ),
    "kpca": Method(
        "KernelPCA (RBF)",
        lambda s: KernelPCA(
            s.n_components, kernel="rbf", fit_inverse_transform=True, random_state=s.random_state
        ),
        reconstructs=True,
    ),
    "tsne": Method(
        "t-SNE (scikit-learn)",
        lambda s: TSNE(
            s.n_components,
            random_state=s.random_state,
            method="barnes_hut" if s.n_components < 4 else "exact",
        ),
        transductive=True,
    ),
    "opentsne": Method(
        "openTSNE",
        lambda s: OpenTSNETransformer(s.n_components, s.random_state),
        requires="openTSNE",
    ),
    "umap": Method("UMAP", _umap, requires="umap"),
    "ae": Method("Autoencoder", autoencoder_recipe, reconstructs=True),
    "dae": Method(
        "Denoising AE",
        _neural(AutoencoderTransformer, noise="gaussian", noise_level=0.2),
        reconstructs=True,
    ),
    "sae": Method(
        "Sparse AE (L1)",
        _neural(AutoencoderTransformer, sparsity="l1", sparsity_weight=1e-3),
        reconstructs=True,
    ),
    "cae": Method(
        "Contractive AE",
        _neural(AutoencoderTransformer, contractive_weight=1e-3),
        reconstructs=True,
    ),
    "vae": Method("VAE", _neural(VAETransformer), reconstructs=True),
    "vae_mixture": Method(
        "VAE (mixture prior)", _neural(VAETransformer, prior="mixture"), reconstructs=True
    ),
    "vae_flow": Method(
        "VAE (flow prior)",
        _neural(VAETransformer, prior="flow", n_prior_components=4),
        requires="zuko",
        reconstructs=True,
    ),
    "vq_ae": Method("VQ autoencoder", _vector_quantized, reconstructs=True),
    "aae": Method(
        "Adversarial AE",
        _neural(AutoencoderTransformer, prior_matching="adversarial"),
        reconstructs=True,
    ),
    "conv_ae": Method(
        "Conv AE", _neural(AutoencoderTransformer, architecture="conv"), reconstructs=True
    ),
    "conv_vae": Method("Conv VAE", _neural(VAETransformer, architecture="conv"), reconstructs=True),
    "ae_umap": Method(
        "AE + UMAP loss",
        _neural(AutoencoderTransformer, neighbor_loss="umap", placement="neighbors"),
        requires="umap",
        reconstructs=True,
    ),
    "vae_umap": Method(
        "VAE + UMAP loss",
        _neural(VAETransformer, neighbor_loss="umap", placement="neighbors"),
        requires="umap",
        reconstructs=True,
    ),
    "ae_infonce": Method(
        "AE + InfoNCE loss",
        _neural(AutoencoderTransformer, neighbor_loss="infonce", placement="neighbors"),
        requires="umap",
        reconstructs=True,
    ),
}

DEFAULT_METHODS = tuple(METHODS)

_COLUMNS = [
    "method",
    "label",
    "parameters",
    "reconstruction_mse",
    "knn_accuracy",
    "trustworthiness",
    "sample_precision",
    "sample_recall",
    "active_units",
    "codebook_usage",
    "fit_seconds",
    "transform_seconds",
    "evaluation",
]


@dataclass
class Comparison:
    """What ``compare`` measured and fitted.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per method: ``method``, ``label``, ``parameters`` (those
        that differ from the estimator's defaults), ``reconstruction_mse``,
        ``knn_accuracy``, ``trustworthiness``, ``sample_precision`` and
        ``sample_recall`` (of as many rows from ``sample`` as there are test
        rows, against the test rows, in the scaled features; see
        :func:`sklearn_ae.metrics.sample_precision_recall`), ``active_units``
        (a VAE's latent units in use on the test rows, see
        :func:`sklearn_ae.metrics.active_units`), ``codebook_usage`` (the
        share of a vector-quantized autoencoder's codebook its training codes
        use), ``fit_seconds``,
        ``transform_seconds``, ``evaluation``. NaN where not applicable.
    estimators : dict
        Fitted estimators by method key.
    embeddings : dict
        Test-split embeddings by method key.
    X_test : ndarray of shape (n_test, n_features)
        The test split (after scaling), for figures.
    y_test : ndarray of shape (n_test,) or None
        Labels of the test split.
    scaling : str
        How the data were scaled before every method.
    notes : list of str
        Methods skipped and why.
    """

    table: pd.DataFrame
    estimators: dict
    embeddings: dict
    X_test: np.ndarray
    y_test: np.ndarray | None
    scaling: str
    notes: list = field(default_factory=list)


def changed_parameters(estimator):
    """``name=value`` for the constructor parameters that differ from their defaults.

    The defaults are those of an estimator built without arguments, so that
    values a constructor fills in itself do not show.
    The embedding dimension and the seed are left out: ``compare`` sets them
    for every method. Estimators without ``get_params`` give ``""``.

    Parameters
    ----------
    estimator : object
        An estimator.

    Returns
    -------
    parameters : str
        Comma-separated ``name=value`` pairs.

    Examples
    --------
    >>> changed_parameters(PCA(3, whiten=True, random_state=0))
    'whiten=True'
    """
    if not hasattr(estimator, "get_params"):
        return ""
    try:
        defaults = type(estimator)().get_params(deep=False)
    except TypeError:  # a constructor with required arguments
        signature = inspect.signature(type(estimator).__init__).parameters
        defaults = {name: p.default for name, p in signature.items()}
    changed = [
        f"{name}={value!r}"
        for name, value in estimator.get_params(deep=False).items()
        if name not in {"n_components", "random_state"}
        and name in defaults
        and repr(value) != repr(defaults[name])
    ]
    return ", ".join(changed)


def _evaluate(method, estimator, X_train, X_test, y_train, y_test, n_neighbors):
    """Fit one method and measure it on the test split."""
    start = time.perf_counter()
    if method.transductive:
        Z = estimator.fit_transform(np.vstack([X_train, X_test]))
        fit_seconds, transform_seconds = time.perf_counter() - start, np.nan
        Z_train, Z_test = Z[: len(X_train)], Z[len(X_train) :]
    else:
        estimator.fit(X_train)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        Z_test = np.asarray(estimator.transform(X_test))
        transform_seconds = time.perf_counter() - start
        Z_train = np.asarray(estimator.transform(X_train))
    row = {
        "fit_seconds": fit_seconds,
        "transform_seconds": transform_seconds,
        # scikit-learn defines trustworthiness for fewer neighbours than half the rows only.
        "trustworthiness": trustworthiness(X_test, Z_test, n_neighbors=n_neighbors)
        if n_neighbors < len(X_test) / 2
        else np.nan,
        "reconstruction_mse": np.nan,
        "knn_accuracy": np.nan,
        "sample_precision": np.nan,
        "sample_recall": np.nan,
        "active_units": np.nan,
        "codebook_usage": getattr(estimator, "codebook_usage_", np.nan),
        "evaluation": "train and test embedded together (no transform)"
        if method.transductive
        else "fit on train, transform test",
    }
    if method.reconstructs:
        X_hat = estimator.inverse_transform(Z_test)
        row["reconstruction_mse"] = float(np.mean((X_test - X_hat) ** 2))
    if y_train is not None:
        knn = KNeighborsClassifier(n_neighbors).fit(Z_train, y_train)
        row["knn_accuracy"] = knn.score(Z_test, y_test)
    if hasattr(estimator, "sample"):
        generated = estimator.sample(len(X_test), random_state=0)
        precision, recall = sample_precision_recall(X_test, generated)
        row["sample_precision"], row["sample_recall"] = precision, recall
    if hasattr(estimator, "posterior"):
        # How many of the latent units the user asked for carry anything (posterior collapse).
        row["active_units"] = float(active_units(estimator, X_test))
    return row, Z_test


def _user_method(estimator):
    """The :class:`Method` that runs a user's estimator as it is (a fresh clone per call)."""
    return Method(
        type(estimator).__name__,
        lambda setting: clone(estimator),
        transductive=not hasattr(estimator, "transform"),
        reconstructs=hasattr(estimator, "inverse_transform"),
    )


def resolve_methods(methods):
    """``(key, Method)`` pairs for the ``methods`` argument of :func:`compare`.

    Parameters
    ----------
    methods : sequence
        Each item a key of :data:`METHODS`, an unfitted estimator (named after
        its class) or a ``(name, estimator)`` pair.

    Returns
    -------
    pairs : list of (str, Method)

    Raises
    ------
    ValueError
        Naming unknown keys, or names that occur twice.

    Examples
    --------
    >>> from sklearn.decomposition import FastICA
    >>> [key for key, _ in resolve_methods(["pca", ("ica", FastICA(2))])]
    ['pca', 'ica']
    >>> resolve_methods(["pca", "tsne2"])
    Traceback (most recent call last):
        ...
    ValueError: Unknown methods ['tsne2']; choose from [...], or pass an estimator.
    """
    pairs, unknown = [], []
    for item in methods:
        if isinstance(item, str):
            if item not in METHODS:
                unknown.append(item)
                continue
            pairs.append((item, METHODS[item]))
        else:
            name, estimator = item if isinstance(item, tuple) else (type(item).__name__, item)
            pairs.append((name, _user_method(estimator)))
    if unknown:
        raise ValueError(
            f"Unknown methods {sorted(unknown)}; choose from {sorted(METHODS)}, or pass an "
            "estimator."
        )
    names = [key for key, _ in pairs]
    repeated = sorted({key for key in names if names.count(key) > 1})
    if repeated:
        raise ValueError(
            f"Method names must differ, but {repeated} occur more than once; name estimators "
            "with (name, estimator) pairs."
        )
    return pairs


def split_and_scale(X, y, test_size, random_state):
    """The held-out split of :func:`compare`, scaled alike for every method.

    Data in [0, 1] are kept as they are; other data are standardized by a
    StandardScaler fitted on the training rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data.
    y : array-like of shape (n_samples,) or None
        Labels; the split is stratified by them where every class can be.
    test_size : float
        Fraction of rows held out.
    random_state : int
        Seed of the split.

    Returns
    -------
    X_train, X_test, y_train, y_test, scaling : tuple
        The split (labels None without y) and how it was scaled, in words.

    Examples
    --------
    >>> import numpy as np
    >>> parts = split_and_scale(np.arange(20.0).reshape(10, 2), None, 0.2, 0)
    >>> parts[0].shape, parts[1].shape, parts[4]
    ((8, 2), (2, 2), 'StandardScaler fitted on the training split')
    """
    labels = [] if y is None else [np.asarray(y)]
    split = train_test_split(
        X,
        *labels,
        test_size=test_size,
        random_state=random_state,
        stratify=stratification(y, test_size),
    )
    X_train, X_test = split[0], split[1]
    y_train, y_test = (split[2], split[3]) if y is not None else (None, None)
    if in_unit_interval(X):
        return X_train, X_test, y_train, y_test, "none: the data lie in [0, 1]"
    scaler = StandardScaler().fit(X_train)
    scaling = "StandardScaler fitted on the training split"
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test, scaling


def stratification(y, test_size):
    """The labels to stratify the split by, or None when some class is too rare.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or None
        Labels.
    test_size : float
        Fraction of rows held out.

    Returns
    -------
    stratify : ndarray or None

    Examples
    --------
    >>> stratification([0, 0, 1, 1, 1, 0, 1, 0, 0, 1], 0.2) is not None
    True
    >>> stratification([0, 0, 0, 1], 0.5) is None
    True
    """
    if y is None:
        return None
    classes, counts = np.unique(y, return_counts=True)
    fits = counts.min() >= 2 and len(classes) <= test_size * len(y)
    return np.asarray(y) if fits else None


def compare(
    X,
    y=None,
    *,
    methods=DEFAULT_METHODS,
    n_components=2,
    test_size=0.2,
    max_iter=None,
    n_neighbors=5,
    random_state=0,
    image_shape=None,
    progress=False,
):
    """Fit several methods on a training split and measure them on the test split.

    Data in [0, 1] (pixels, MinMax-scaled tables) are used as they are; other
    data are standardized (StandardScaler fitted on the training split), the
    same for every method so that reconstruction errors compare.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    y : array-like of shape (n_samples,), default=None
        Labels; enable k-NN accuracy and a stratified split.
    methods : sequence, default=all of ``METHODS``
        What to compare: keys of :data:`METHODS` (methods whose optional package
        is missing are skipped with a note), your own unfitted estimators, or
        ``(name, estimator)`` pairs. Your estimators run as you built them (a
        clone of each is fitted; ``n_components``, ``random_state`` and
        ``max_iter`` are left to you) on the same split and scaling as the
        named methods; those without ``transform`` embed train and test rows
        together, those with ``inverse_transform`` get a reconstruction error.
    n_components : int, default=2
        Embedding dimension.
    test_size : float, default=0.2
        Fraction of rows held out.
    max_iter : int or None, default=None
        Epochs of the neural methods; None keeps their defaults.
    n_neighbors : int, default=5
        Neighbours for k-NN accuracy and trustworthiness (NaN when the test
        split has no more than ``2 * n_neighbors`` rows).
    random_state : int, default=0
        Seed of the split and of every method.
    image_shape : tuple of int or None, default=None
        (height, width) or (channels, height, width) when the rows are
        flattened images. Convolutional methods use it, and the
        autoencoder recipe (:func:`autoencoder_recipe`) uses convolutions
        for large enough images.
    progress : bool, default=False
        Show a progress bar naming the method being fitted.

    Returns
    -------
    comparison : Comparison

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> result = compare(X[:300] / 16, y[:300], methods=["pca", "ae"], max_iter=2)
    >>> result.table[["method", "knn_accuracy"]].shape
    (2, 2)
    """
    pairs = resolve_methods(methods)
    X = np.asarray(X, dtype=np.float64)
    X_train, X_test, y_train, y_test, scaling = split_and_scale(X, y, test_size, random_state)
    setting = Setting(n_components, random_state, max_iter, in_unit_interval(X), image_shape)
    rows, estimators, embeddings, notes = [], {}, {}, []
    if progress:
        from tqdm.auto import tqdm

        pairs = tqdm(pairs, desc="compare", unit="method")
    for key, method in pairs:
        if progress:
            pairs.set_postfix_str(method.label)
        if method.requires and importlib.util.find_spec(method.requires) is None:
            notes.append(
                f"{method.label} skipped: optional package '{method.requires}' is not installed."
            )
            continue
        estimator = method.build(setting)
        # Before the fit: some estimators (UMAP) write fitted state into their parameters.
        parameters = changed_parameters(estimator)
        row, Z_test = _evaluate(method, estimator, X_train, X_test, y_train, y_test, n_neighbors)
        rows.append({"method": key, "label": method.label, "parameters": parameters, **row})
        estimators[key], embeddings[key] = estimator, Z_test
    table = pd.DataFrame(rows, columns=_COLUMNS)
    return Comparison(table, estimators, embeddings, X_test, y_test, scaling, notes)
