"""Save and load fitted estimators without pickle: one safetensors file, JSON inside its header.

The file is a safetensors file (a JSON header and raw little-endian tensor
bytes; nothing in it can run code). Its header metadata holds
``format`` and ``format_version``, the sklearn-ae version that wrote it, and
one JSON document with the estimator's class, parameters and fitted
attributes. The tensors are the network's weights (``module.*``), the
likelihood's parameters (``criterion.*``) and the arrays of the code density
behind ``AutoencoderTransformer.sample`` (``code_density.*``, float64) and,
with ``placement="neighbors"``, the training rows and their codes
(``placement.rows``, ``placement.codes``).

Format promise: every later sklearn-ae reads files of every earlier format
version; a file of a newer format than this version knows is refused with an
error that says to upgrade.
"""

import hashlib
import json
import os

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted

from ._autoencoder import AutoencoderTransformer
from ._checkpoint import plain_data
from ._placement import NeighborPlacement
from ._session import seeded_torch
from ._vae import VAETransformer

FORMAT = "sklearn-ae model"
FORMAT_VERSION = 1

# The classes a file may name; a file cannot make load build anything else.
ESTIMATORS = {cls.__name__: cls for cls in (AutoencoderTransformer, VAETransformer)}

# Parameters that only steer training and need not survive a save (skorch callbacks are code).
_TRAINING_ONLY = {"callbacks": None}

_GAUSSIAN_MIXTURE_ARRAYS = ("weights_", "means_", "covariances_", "precisions_cholesky_")


def _encode(value, name):
    """A parameter value as JSON data; tuples are tagged so that they come back as tuples."""
    if isinstance(value, tuple):
        return {"tuple": [_encode(item, name) for item in value]}
    if isinstance(value, list):
        return [_encode(item, name) for item in value]
    if isinstance(value, np.ndarray):
        return {"tuple": [_encode(item, name) for item in value.tolist()]}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"The parameter {name}={value!r} cannot be saved without pickle (it is an object "
        "whose code would have to be loaded back). Save this model with pickle or joblib, "
        "which can hold it, and load such files only from sources you trust."
    )


def _decode(value):
    if isinstance(value, dict):
        return tuple(_decode(item) for item in value["tuple"])
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _params(estimator):
    params = estimator.get_params(deep=False)
    params.update(_TRAINING_ONLY)
    if isinstance(params["random_state"], np.random.RandomState):
        params["random_state"] = None  # used by fit only
    return {name: _encode(value, name) for name, value in params.items()}


def _array(values):
    """A 1-D array as JSON data that restores its dtype (labels, feature names)."""
    return {
        "values": values.tolist(),
        "dtype": "object" if values.dtype == object else values.dtype.str,
    }


def _fitted_attributes(estimator):
    attributes = {
        name: plain_data(getattr(estimator, name))
        for name in (
            "n_iter_",
            "loss_curve_",
            "validation_scores_",
            "image_shape_",
            "pretrain_history_",
            "semi_supervised_",
            "init_",
            "codebook_usage_",
            "codebook_perplexity_",
        )
        if hasattr(estimator, name)
    }
    attributes["n_features_in_"] = estimator.n_features_in_
    for name in ("feature_names_in_", "classes_"):
        if hasattr(estimator, name):
            attributes[name] = _array(getattr(estimator, name))
    return attributes


def save(estimator, path):
    """Save a fitted estimator to one file that holds no pickle.

    Parameters
    ----------
    estimator : AutoencoderTransformer or VAETransformer
        Fitted, with any architecture, noise, penalty, prior or pretraining;
        not with an ``architecture`` object of your own (its code would have
        to be saved), for which pickle remains.
    path : str or path-like
        Where to write; ``.safetensors`` is the customary suffix.

    Returns
    -------
    path : str
        The path written.

    Notes
    -----
    Saved: parameters (``callbacks`` as None: they are code, and only steer
    training), the weights, the likelihood's parameters, the training history
    and the fitted attributes. Not saved: the optimizer's state, so a
    ``warm_start`` or ``partial_fit`` after loading starts a fresh optimizer.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from sklearn_ae import AutoencoderTransformer, load, save
    >>> X = np.random.RandomState(0).rand(50, 4)
    >>> ae = AutoencoderTransformer(2, hidden_layer_sizes=(8,), max_iter=2).fit(X)
    >>> path = save(ae, tempfile.mkdtemp() + "/ae.safetensors")
    >>> bool((load(path).transform(X) == ae.transform(X)).all())
    True
    """
    check_is_fitted(estimator)
    if type(estimator).__name__ not in ESTIMATORS:
        raise TypeError(
            f"save takes an AutoencoderTransformer or VAETransformer, got {estimator!r}."
        )
    net = estimator.net_
    tensors = {f"module.{k}": v for k, v in net.module_.state_dict().items()}
    tensors.update({f"criterion.{k}": v for k, v in net.criterion_.state_dict().items()})
    document = {
        "class": type(estimator).__name__,
        "params": _params(estimator),
        "attributes": _fitted_attributes(estimator),
        "history": plain_data(list(net.history)),
        "noise_clipped": getattr(net.module_.corruption, "clip", None) is not None,
        "code_density": _save_density(getattr(estimator, "code_density_", None), tensors),
        "placement": _save_placement(getattr(estimator, "placement_", None), tensors),
    }
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "sklearn_ae_version": _version(),
        "estimator": json.dumps(document),
        "sha256": _digest(tensors),
    }
    save_file(tensors, os.fspath(path), metadata=metadata)
    return os.fspath(path)


def _save_density(density, tensors):
    if density is None:
        return None
    for name in _GAUSSIAN_MIXTURE_ARRAYS:
        tensors[f"code_density.{name}"] = torch.from_numpy(
            np.ascontiguousarray(getattr(density, name))
        )
    params = density.get_params()
    params["random_state"] = None
    return params


def _save_placement(placement, tensors):
    if placement is None:
        return None
    tensors["placement.rows"] = torch.from_numpy(np.ascontiguousarray(placement.rows))
    tensors["placement.codes"] = torch.from_numpy(np.ascontiguousarray(placement.codes))
    return {"n_neighbors": placement.n_neighbors, "seed": placement.seed, "loss": placement.loss}


def _digest(tensors):
    """SHA-256 of the tensors' names, dtypes, shapes and bytes: safetensors has no checksum."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        tensor = tensors[key]
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def _version():
    from . import __version__

    return __version__


def load(path):
    """Load an estimator saved by :func:`save`; no code from the file is ever run.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    estimator : AutoencoderTransformer or VAETransformer
        Fitted and on the CPU (``device="cpu"``), with the same outputs as the
        saved estimator: ``transform``, ``inverse_transform``, ``score``,
        ``score_samples`` and ``sample(random_state=...)``.

    Raises
    ------
    ValueError
        When the file is not an sklearn-ae model, is damaged, or was written
        by a newer format version.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from sklearn_ae import VAETransformer, load, save
    >>> X = np.random.RandomState(0).rand(50, 4)
    >>> vae = VAETransformer(2, hidden_layer_sizes=(8,), max_iter=2).fit(X)
    >>> loaded = load(save(vae, tempfile.mkdtemp() + "/vae.safetensors"))
    >>> loaded.sample(3, random_state=0).shape
    (3, 4)
    """
    metadata, tensors = _read(path)
    try:
        document = json.loads(metadata["estimator"])
        estimator = _rebuild(document, tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        reason = str(error).splitlines()[0] if str(error) else ""
        raise ValueError(
            f"{os.fspath(path)} is damaged: its content does not describe a model sklearn-ae "
            f"can rebuild ({type(error).__name__}: {reason})."
        ) from None
    return estimator


def _read(path):
    """The header metadata and the tensors of a model file, or a ValueError naming the file."""
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise ValueError(f"No model file at {name}.")
    try:
        with safe_open(name, framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            tensors = {key: file.get_tensor(key) for key in file.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ValueError(
            f"{name} is not a readable sklearn-ae model file (a truncated or damaged file, or "
            f"another format): {error}"
        ) from None
    if metadata.get("format") != FORMAT:
        raise ValueError(
            f"{name} is a safetensors file but not an sklearn-ae model (its header has no "
            f"'format': '{FORMAT}'); write models with sklearn_ae.save."
        )
    version = int(metadata.get("format_version", "0"))
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{name} was written by sklearn-ae {metadata.get('sklearn_ae_version', '?')} in "
            f"model format {version}; this sklearn-ae ({_version()}) reads formats up to "
            f"{FORMAT_VERSION}. Upgrade sklearn-ae to load it."
        )
    if metadata.get("sha256") != _digest(tensors):
        raise ValueError(
            f"{name} is damaged: its tensors do not match the checksum saved with them."
        )
    return metadata, tensors


def _rebuild(document, tensors):
    cls = ESTIMATORS[document["class"]]
    params = {name: _decode(value) for name, value in document["params"].items()}
    estimator = cls(**{**params, "device": "cpu"})
    attributes = document["attributes"]
    for name, value in attributes.items():
        if isinstance(value, dict):
            value = np.asarray(
                value["values"], dtype=object if value["dtype"] == "object" else value["dtype"]
            )
        elif name == "image_shape_" and value is not None:
            value = tuple(value)
        setattr(estimator, name, value)
    # Stand-in rows in [0, 1] when fit clipped the training noise to it: the net is built as
    # fit built it, and every weight is then replaced by the saved one.
    low, high = (0.0, 1.0) if document["noise_clipped"] else (-1.0, 1.0)
    stand_in = np.array([[low] * estimator.n_features_in_, [high] * estimator.n_features_in_])
    with seeded_torch(0):
        net = estimator._build_net(stand_in, "cpu", early_stopping=estimator.early_stopping)
    net.module_.load_state_dict(_prefixed(tensors, "module."))
    net.criterion_.load_state_dict(_prefixed(tensors, "criterion."))
    net.history.clear()
    net.history.extend(document["history"])
    estimator.net_ = net
    if document["code_density"] is not None or isinstance(estimator, AutoencoderTransformer):
        estimator.code_density_ = _load_density(document["code_density"], tensors)
    # Files written before placement existed have no entry: their models place with the encoder.
    placement = document.get("placement")
    estimator.placement_ = None
    if placement is not None:
        estimator.placement_ = NeighborPlacement(
            tensors["placement.rows"].numpy(), tensors["placement.codes"].numpy(), **placement
        )
    return estimator


def _prefixed(tensors, prefix):
    return {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}


def _load_density(params, tensors):
    if params is None:
        return None
    density = GaussianMixture(**params)
    for name in _GAUSSIAN_MIXTURE_ARRAYS:
        setattr(density, name, tensors[f"code_density.{name}"].numpy())
    cholesky = density.precisions_cholesky_
    density.precisions_ = cholesky @ np.transpose(cholesky, (0, 2, 1))
    density.converged_, density.n_features_in_ = True, density.means_.shape[1]
    return density
