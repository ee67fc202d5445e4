"""The scikit-learn face that both estimators share: parameters, fit, inference, sampling.

A subclass declares its likelihood choices, its objective, its module and how
it draws codes; the training itself is ``_session.py``, the choices live
next to their pieces (``_architectures``, ``_noise``, ``_penalties``,
``_likelihoods``, ``_priors``).
"""

import numbers

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from . import _session as session
from ._architectures import ARCHITECTURES, has_batch_norm
from ._checkpoint import TrainingCheckpoint, checkpoint_file, read_checkpoint
from ._data import TensorDataset
from ._docs import with_labels_doc
from ._graphs import MAX_SEED, with_neighbor_graphs
from ._inference import map_row_chunks
from ._likelihoods import check_data_suits
from ._neighbor_terms import NEIGHBOR_LOSSES
from ._noise import make_corruption
from ._parameters import SHARED_PARAMETER_CONSTRAINTS
from ._penalties import penalties_from_params
from ._placement import check_placement, fit_placement, place_rows
from ._threads import torch_threads_for_task
from ._validation import (
    FLOAT_DTYPES,
    as_rows,
    check_n_columns,
    in_unit_interval,
    resolve_device,
    resolve_image_shape,
    validate_numeric,
    warn_if_constant,
)


class BaseAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base of the autoencoder estimators; not for direct use.

    A subclass sets ``_likelihood_parameter`` (the name of its likelihood
    parameter) and ``_likelihoods`` (the choices, from ``_likelihoods.py``),
    and implements ``_objective``, ``_module_spec`` and ``_sample_codes``; it
    may override ``_check_training_data``, ``_initialize_module``,
    ``_condition`` (per-row inputs besides X, e.g. one-hot labels) and
    ``_after_fit``.
    """

    _parameter_constraints = SHARED_PARAMETER_CONSTRAINTS

    # ---- fitting -------------------------------------------------------------

    @with_labels_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the model on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; at least 2 rows, no NaN or infinity.
        {y}

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, partial=False)

    @with_labels_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None):
        """Train on one chunk of rows: one epoch (one pass) over X.

        Calling it once per chunk trains on data that need not fit in memory:
        chunks read from a ``numpy.memmap``, yielded by a generator, or the
        blocks of a dask array through ``dask_ml.wrappers.Incremental``. The
        first call builds the network from its chunk as ``fit`` would (the PCA
        start and greedy pretraining use that chunk); later calls continue
        training it, whatever ``warm_start`` says. ``max_iter`` and early
        stopping do not apply (there are no held-out rows), nor does
        ``checkpoint_dir``: save the estimator between chunks instead. With an
        int ``random_state`` each call draws its own shuffle and noise,
        reproducibly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One chunk of training data, no NaN or infinity.
        {y}
        classes : array-like of shape (n_classes,), default=None
            Every label the stream contains, for a conditional VAE whose first
            chunk may not show them all; read on the first call only. None
            takes the labels of the first chunk. Ignored by other models.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        return self._fit(X, y, partial=True, classes=classes)

    @with_labels_doc
    def fit_transform(self, X, y=None):
        """Fit, then return the codes of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        {y}

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            The codes (a VAE's posterior means).
        """
        return self.fit(X, y).transform(X, y)

    def _fit(self, X, y, partial, classes=None):
        """Validate, build the network unless continuing, and train (one epoch if ``partial``)."""
        continuing = self._continues_training(partial)
        check_placement(self.placement, self.neighbor_loss)
        X, condition, groups = self._training_data(X, y, partial, continuing, classes)
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        seed = rng.randint(MAX_SEED)
        if partial and continuing:
            # With an int random_state every call draws the same seed; offset it so that
            # each chunk gets its own shuffle and noise.
            seed = (seed + self.n_iter_) % MAX_SEED
        data = TensorDataset.from_arrays(X, condition, device, groups)
        train, valid = data, None
        if self.early_stopping and not partial:
            train, valid = session.split_validation(data, self.validation_fraction, rng)
        if self._uses_neighbor_graph():
            train, valid = with_neighbor_graphs(
                train, valid, self.neighbor_loss, self.n_neighbors, rng, self._uses_neighbor_graph()
            )
        checkpoint, state = None, None
        if self.checkpoint_dir is not None and not partial:
            start = self.net_ if continuing else None
            params, name = self._checkpoint_params(), type(self).__name__
            checkpoint = checkpoint_file(self.checkpoint_dir, name, params, X, condition, start)
            state = read_checkpoint(checkpoint)
        with session.seeded_torch(seed, device), torch_threads_for_task():
            net = self.net_ if continuing else self._build_net(X, device, valid is not None)
            # Continued training (warm_start, partial_fit) takes the batch size set now.
            net.batch_size = self._training_settings(len(X)).batch_size
            session.check_trainable(net, len(train))
            self.net_ = net
            self._train(
                X, train, valid, 1 if partial else self.max_iter, continuing, checkpoint, state
            )
        self._after_fit(X, condition, rng, partial)
        self.placement_ = None
        if self.placement == "neighbors":
            # The training graph covers the map's rows unless validation rows were held out.
            # partial_fit keeps its last chunk, coded by the network as it now is.
            self.placement_ = fit_placement(
                self.net_,
                X,
                self._encode(X, condition),
                data,
                train.neighbors if valid is None else None,
                self.neighbor_loss,
                self.n_neighbors,
                self.refine_epochs,
                rng,
            )
        return self

    def _continues_training(self, partial):
        """Whether this fit trains the network it has on (partial_fit, warm_start)."""
        return hasattr(self, "net_") and (partial or self.warm_start)

    def _checkpoint_params(self):
        """The parameters that name a training run's checkpoint file."""
        return self.get_params(deep=False)

    def _training_data(self, X, y, partial, continuing, classes):
        """Validated training rows, their per-row condition and factor groups (or None)."""
        X, seen_shape = as_rows(X)
        X = validate_numeric(self, X, ensure_min_samples=1 if partial else 2, reset=not continuing)
        warn_if_constant(X)
        check_data_suits(self._likelihoods, self._likelihood_parameter, self._likelihood_name(), X)
        self._check_training_data(X)
        condition = self._condition(y, len(X), fitting=not continuing, classes=classes)
        if not continuing:
            self.image_shape_ = self._image_shape(X.shape[1], seen_shape)
        return X, condition, self._factor_groups(y, len(X))

    def _image_shape(self, n_features, seen_shape):
        shape = self.image_shape if self.image_shape is not None else seen_shape
        if shape is None and self.architecture != "conv":
            return None
        return resolve_image_shape(shape, n_features)

    def _build_net(self, X, device, early_stopping):
        """The initialized skorch net, before any data-dependent initialisation."""
        penalties = penalties_from_params(
            self.sparsity, self.sparsity_weight, self.sparsity_target, self.contractive_weight
        )
        penalties += self._model_penalties(X)
        if self.neighbor_loss is not None:
            penalties.append(NEIGHBOR_LOSSES[self.neighbor_loss](self.neighbor_weight))
        module, module_params = self._module_spec(X, penalties)
        module_params = {**self._network_params(X), **module_params}
        extra = [*(self.callbacks or []), *self._model_callbacks()]
        net = session.make_net(
            self._training_settings(len(X)),
            module,
            module_params,
            self._likelihoods[self._likelihood_name()].for_data(X),
            self._objective(),
            penalties,
            device=device,
            early_stopping=early_stopping,
            # Last, so that it saves what every other callback did in the epoch.
            callbacks=[*extra, ("checkpoint", TrainingCheckpoint())],
        )
        net.initialize()
        if has_batch_norm(net.module_):
            # Batch normalisation cannot train on one row: a last batch of one joins the one
            # before. Set as an attribute: skorch's set_params would re-initialise the module.
            net.iterator_train__min_batch_size = 2
        return net

    def _network_params(self, X):
        """The module arguments every model takes: sizes, architecture and input corruption."""
        architecture = self.architecture
        if isinstance(architecture, str):
            build = ARCHITECTURES[architecture]
            architecture = build(self.get_params(deep=False), self.image_shape_)
        return {
            "n_features": X.shape[1],
            "n_components": self.n_components,
            "architecture": architecture,
            "corruption": make_corruption(
                self.noise, self.noise_level, clip=(0.0, 1.0) if in_unit_interval(X) else None
            ),
        }

    def _train(self, X, train, valid, epochs, continuing, checkpoint, state):
        """Initialise a new network from the data, then run the training session."""
        new = not continuing and state is None
        initialize = (lambda: self._initialize_module(self.net_, X)) if new else None
        try:
            outcome = session.initialize_and_train(
                self.net_, initialize, train, valid, epochs, checkpoint, state
            )
            for name, value in session.history_attributes(self.net_, valid is not None).items():
                setattr(self, name, value)
            session.report(outcome, self.net_)
            # A fit the user interrupted ends here: nothing may train on after it.
            self._training_interrupted = outcome is None or outcome.interrupted
        except ValueError:
            # A fit that failed leaves no model behind.
            del self.net_
            raise

    def _training_settings(self, n_rows):
        return session.TrainingSettings.from_params(self.get_params(deep=False), n_rows)

    # ---- hooks for subclasses --------------------------------------------------

    def _likelihood_name(self):
        return getattr(self, self._likelihood_parameter)

    def _check_training_data(self, X):
        """Raise ValueError (or warn) if X does not suit the model's other settings."""

    def _uses_neighbor_graph(self):
        """What asks for a neighbour graph in the training batches (for error messages), or ''."""
        return "" if self.neighbor_loss is None else f"neighbor_loss={self.neighbor_loss!r}"

    def _model_penalties(self, X):
        """Loss terms the model's parameters add for training rows X (e.g. a discriminator's)."""
        return []

    def _model_callbacks(self):
        """``(name, callback)`` pairs the model's parameters add to training."""
        return []

    def _initialize_module(self, net, X):
        """Set data-dependent initial weights of the freshly built ``net.module_`` (e.g. PCA)."""

    def _condition(self, y, n_samples, fitting=False, classes=None):
        """Per-row condition array passed to the module with X, or None (y is ignored)."""
        return None

    def _factor_groups(self, y, n_samples):
        """Rows' one-factor-varies group memberships (``_factor_groups``), or None."""

    def _after_fit(self, X, condition, rng, partial):
        """Fit whatever the model needs besides the network (e.g. a code density)."""

    def _decode_draws(self, Z, condition, rng):
        """The rows ``sample`` returns for drawn codes Z (a decoder that draws may use rng)."""
        return self._decode(Z, condition)

    # ---- inference -------------------------------------------------------------

    def _map_batches(self, fn, A, condition=None, pad_rows=True):
        """``fn(rows, condition_rows)`` over A in eval mode (``map_row_chunks``)."""
        self.net_.module_.eval()
        return map_row_chunks(fn, A, condition, self.net_.device, pad_rows=pad_rows)

    def _encode(self, X, condition=None):
        """Codes of the validated array X."""
        return self._map_batches(self.net_.module_.encode, X, condition)

    def _decode(self, Z, condition=None):
        """Rows in data space for the validated code array Z."""
        module, criterion = self.net_.module_, self.net_.criterion_
        return self._map_batches(lambda z, c: criterion.to_data(module.decode(z, c)), Z, condition)

    def _validated_rows(self, X):
        """Rows (or image arrays) of a fitted model, validated against what fit saw."""
        check_is_fitted(self)
        return validate_numeric(self, as_rows(X)[0], reset=False)

    def _validated(self, X, y):
        """Validated rows and their per-row condition."""
        X = self._validated_rows(X)
        return X, self._condition(y, len(X))

    @with_labels_doc
    def transform(self, X, y=None):
        """Encode X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.
        {y}

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            The codes (a VAE's posterior means), in X's float dtype; with
            ``placement="neighbors"``, optimised among the training codes.
        """
        X, condition = self._validated(X, y)
        codes = self._encode(X, condition)
        if self.placement == "encoder":
            return codes
        return place_rows(getattr(self, "placement_", None), X, codes)

    @with_labels_doc
    def inverse_transform(self, Z, y=None):
        """Decode codes back to the input space.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)
            Codes, e.g. from ``transform`` (a DataFrame from ``set_output`` works).
        {y}

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features)
            Decoded rows (a VAE's means of p(x|z)), in Z's float dtype.
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=FLOAT_DTYPES)
        check_n_columns(Z, self._n_features_out, "inverse_transform", "n_components")
        return self._decode(Z, self._condition(y, len(Z)))

    @with_labels_doc
    def sample(self, n_samples=1, random_state=None, y=None):
        """Generate new rows by decoding random codes.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the draw of codes.
        {y}

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Generated rows (float64).
        """
        check_is_fitted(self)
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        condition, rng = self._condition(y, int(n_samples)), check_random_state(random_state)
        Z = np.asarray(self._sample_codes(int(n_samples), rng, condition), dtype=np.float64)
        return self._decode_draws(Z, condition, rng)

    @property
    def _n_features_out(self):
        # Raises AttributeError before fit, which get_feature_names_out reports as NotFittedError.
        return self.net_.module_.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
