"""Docstring parts that both estimators share, filled into their class docstrings.

Each part documents a run of constructor parameters that both signatures have
in the same order; a class docstring places the parts among its own
parameters, so the documentation follows the signature (checked by
``tests/test_docstrings.py``).
"""

import inspect

NETWORK_PARAMETERS = """\
    architecture : {"mlp", "conv"} or object, default="mlp"
        ``"mlp"``: fully connected layers of ``hidden_layer_sizes``. ``"conv"``:
        for images, 3x3 convolutions of stride 2 with ``conv_channels``
        channels down to a dense code, transposed convolutions back up (any
        image size: odd sizes are rounded up going down and cropped coming back).
        Rows stay flat: give ``image_shape``, or pass a 3-D (n, height, width)
        or 4-D (n, channels, height, width) array, which is flattened.
        An object with methods ``trunk(n_features, n_conditions)`` and
        ``decoder(n_inputs, n_features)`` plugs in your own ``nn.Module``\\ s
        (:ref:`own-network`); ``hidden_layer_sizes``,
        ``conv_channels``, ``batch_norm`` and ``activation`` then do not apply.

    image_shape : tuple of int or None, default=None
        (height, width) or (channels, height, width) of one row, for
        ``architecture="conv"``. None takes the shape of a 3-D/4-D input, or
        a square when n_features is a square number (64 is 8x8, 784 is
        28x28), or else a 1 x n_features strip.

    conv_channels : tuple of int, default=(32, 64)
        Channels of the convolutions, input side first (``architecture="conv"``).

    batch_norm : bool, default=False
        Batch normalisation after every convolution (``architecture="conv"``).

    hidden_layer_sizes : tuple of int, default=(512, 256)
        Widths of the encoder's hidden layers, input side first; the decoder
        mirrors them. ``()`` gives a linear autoencoder. Smaller networks
        train faster; on a few hundred rows they also generalise better.

    activation : {"relu", "tanh", "sigmoid", "elu", "gelu", "identity"}, default="relu"
        Activation of the hidden layers."""

NOISE_PARAMETERS = """\
    noise : {"gaussian", "masking"} or None, default=None
        Corruption of the inputs during training (a denoising model); the
        loss still compares the reconstruction with the clean input, and
        ``transform`` never adds noise. ``"gaussian"`` adds noise of standard
        deviation ``noise_level`` and, when the training data lie in [0, 1],
        clips the result to [0, 1]. ``"masking"`` sets a random fraction
        ``noise_level`` of the inputs to zero.

    noise_level : float, default=0.1
        Standard deviation (``"gaussian"``, in units of the input) or
        fraction of masked inputs (``"masking"``, below 1)."""

PENALTY_PARAMETERS = """\
    sparsity : {"kl", "l1"} or None, default=None
        Sparsity penalty on the codes (a VAE's posterior means). ``"kl"``
        makes the code units sigmoid and adds :math:`\\sum_j KL(\\rho \\| \\hat\\rho_j)`,
        where :math:`\\hat\\rho_j` is unit j's mean activation in the batch and
        :math:`\\rho` is ``sparsity_target``; a VAE's Gaussian codes cannot be
        sigmoid, so it takes ``"l1"`` only. ``"l1"`` adds the batch mean of
        :math:`\\|z\\|_1` (linear codes: use ``weight_decay`` too so the
        decoder cannot undo it by growing its weights).

    sparsity_weight : float, default=1e-3
        Weight :math:`\\lambda_s` of the sparsity penalty.

    sparsity_target : float, default=0.05
        Target mean activation :math:`\\rho` for ``sparsity="kl"``, in (0, 1).

    contractive_weight : float, default=0.0
        Weight :math:`\\lambda_c` of the contractive penalty: the squared
        Frobenius norm of the encoder's Jacobian (of the posterior mean, for a
        VAE) at each clean training row. It is computed exactly with one extra
        backward pass per code unit (kept in the graph for the second
        derivative), so a training step costs roughly ``n_components + 2``
        times a plain one. 0 disables it.

    neighbor_loss : {"umap", "infonce"} or None, default=None
        A neighbour-graph term that makes the codes keep the data's
        neighbourhoods, for 2-D maps like UMAP's that still ``transform`` new
        rows, ``inverse_transform`` and ``sample``. ``"umap"``: UMAP's fuzzy
        cross-entropy between the ``n_neighbors`` nearest-neighbour graph of
        the training rows and the similarities of their codes (a VAE's
        posterior means), as in Parametric UMAP. ``"infonce"``: the same
        graph's neighbours contrasted with all other rows of the batch under
        t-SNE's Cauchy similarity (InfoNCE, Damrich et al. 2023), which draws
        maps closer to t-SNE's: more separated clusters on a larger scale.
        Both need umap-learn. The validation rows' neighbours are training
        rows and the term counts in the validation loss. ``partial_fit``
        builds a graph per chunk. See :ref:`neighbor-maps`.

    neighbor_weight : float, default={neighbor_weight_default}
        Weight of the neighbour-graph term. {neighbor_weight_note}

    n_neighbors : int, default=15
        Neighbours per row in the graph (counting the row, as UMAP does):
        fewer keep finer, more local structure.

    placement : {"encoder", "neighbors"}, default="encoder"
        How ``transform`` places rows on the map. ``"encoder"``: one pass
        through the encoder. ``"neighbors"`` (needs ``neighbor_loss``): as
        UMAP's ``transform``, start at the encoder's code and optimise UMAP's
        cross-entropy (under the ``neighbor_loss``'s similarity curve) between
        the row's memberships to its ``n_neighbors`` nearest training rows and
        the similarities of its code to the training codes, which stay fixed
        (100 epochs, the same negatives for every row, so that a row's code
        depends on the row alone), with steps that follow the map's size
        under ``"infonce"``. It follows the map more closely than the encoder
        (:ref:`placement`) but keeps a copy of the training rows in the model
        (``placement_``) and costs a nearest-neighbour search per call. ``inverse_transform``,
        ``score`` and the exported ONNX encoder use the network either way.
        It is read at ``transform``: ``set_params(placement="encoder")``
        switches a model fitted with ``"neighbors"`` back to the encoder.
        After ``partial_fit``, rows are placed among the last chunk's rows.

    refine_epochs : int, default=100
        With ``placement="neighbors"``, epochs in which the training rows'
        codes, the map that new rows are placed on, are optimised after the
        network's training as free parameters of the ``neighbor_loss`` term,
        starting at the encoder's codes, as UMAP and t-SNE optimise their
        maps. A smooth encoder cannot put every row exactly among its
        neighbours; the refinement can, which sharpens the map's local
        structure (:ref:`refinement`). Each row takes its own Adam steps, so
        the refinement is as strong on 60,000 rows as on 4,000. The decoder
        is then fitted to the refined codes (600 batches, at most 25 epochs),
        the encoder left as it is. 0 keeps the encoder's codes and the
        decoder as trained."""

TRAINING_PARAMETERS = """\
    max_iter : int, default=100
        Number of epochs (passes over the training data) of each ``fit``.

    batch_size : int or "auto", default=128
        Rows per gradient step. ``"auto"`` takes a 32nd of the rows passed to
        ``fit``, at least 16 and at most 128, so that an epoch on a small data
        set is more than one or two steps.

    learning_rate : float, default=1e-3
        Step size of the optimizer.

    optimizer : {"adam", "adamw", "sgd", "rmsprop"}, default="adam"
        The ``torch.optim`` optimizer.

    weight_decay : float, default=1e-5
        L2 penalty on the weights, applied by the optimizer. A little of it
        curbs overfitting on small data sets; 1e-4 already stops learning.

    early_stopping : bool, default={early_stopping_default}
        Hold out ``validation_fraction`` of the training rows, stop when the
        validation loss has not improved by a relative ``tol`` for
        ``n_iter_no_change`` epochs, and restore the weights of the best epoch.
        The starting network competes too: the trained weights are kept only
        if their loss on blocks of the validation rows beats the start's in a
        one-sided paired t-test at level 0.05; otherwise the start is restored.
        {early_stopping_note}

    validation_fraction : float, default=0.1
        Fraction of rows held out when ``early_stopping=True``.

    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.

    tol : float, default=1e-4
        Minimum relative improvement of the validation loss that resets the
        patience.

    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks (instances or ``(name, callback)`` tuples) for the
        underlying :class:`skorch.NeuralNet`, e.g. ``skorch.callbacks.ProgressBar()``
        or ``skorch.callbacks.LRScheduler(...)``.

    device : str, default="cpu"
        Torch device to train on: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or
        ``"auto"`` (CUDA when available). A model trained on a GPU loads on a
        CPU-only machine.

    verbose : int, default=0
        0 is silent; 1 or more prints one line of losses per epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the noise, the shuffling, the
        validation split and the code density. With an int, two fits on the
        same data give identical models on CPU. Torch's global random state is
        left untouched.

    warm_start : bool, default=False
        When True, ``fit`` continues training the current network for
        ``max_iter`` more epochs instead of starting anew.

    checkpoint_dir : str, path or None, default=None
        Folder in which ``fit`` saves its whole training state after every
        epoch, to a file named after the parameters, the data and the starting
        weights. If a fit is interrupted (Ctrl-C, a crash, a killed job),
        calling ``fit`` again with the same settings and data resumes from
        that file and ends with the same model as an uninterrupted fit on CPU.
        The file is removed when the fit completes; parallel fits (a grid
        search) can share the folder. A checkpoint holds tensors and plain data
        only and is read with torch's restricted loader, so a file planted in
        a shared folder cannot run code: ``fit`` refuses it with an error.
        ``partial_fit`` does not checkpoint."""

SHARED_ATTRIBUTES = """\
    net_ : skorch.NeuralNet
        The trained network; ``net_.module_`` is the ``torch.nn.Module`` and
        ``net_.history`` the per-epoch log.

    n_iter_ : int
        Number of epochs trained so far (all ``fit`` calls of a warm start).

    loss_curve_ : list of float
        Training loss of every epoch.

    validation_scores_ : list of float
        Negative validation loss of every epoch; only with ``early_stopping=True``.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features seen during ``fit``, when X has string column names.

    image_shape_ : tuple of int or None
        (channels, height, width) of one row as the model sees it; None for
        ``architecture="mlp"`` without image input.

    placement_ : NeighborPlacement or None
        The training rows and their codes that ``placement="neighbors"``
        places new rows among; None when fitted with ``placement="encoder"``."""

# Indented for a method's docstring.
LABELS_PARAMETER = """\
        y : array-like of shape (n_samples,) or (n_samples, n_factors), default=None
            Labels of the rows: required by a conditional VAE
            (``VAETransformer(conditional=True)``). In ``fit``, a VAE with
            ``factor_dims`` takes the rows' factors of variation here. Ignored
            by every other model and method."""

_PARTS = {
    "{network_parameters}": NETWORK_PARAMETERS,
    "{noise_parameters}": NOISE_PARAMETERS,
    "{penalty_parameters}": PENALTY_PARAMETERS,
    "{training_parameters}": TRAINING_PARAMETERS,
    "{shared_attributes}": SHARED_ATTRIBUTES,
}


def fill_shared_docs(cls):
    """Replace the placeholders of ``cls.__doc__`` with the shared parts; return ``cls``.

    ``cls._early_stopping_note`` and ``cls._neighbor_weight_note`` complete the
    ``early_stopping`` and ``neighbor_weight`` entries, whose defaults differ
    between the estimators.

    Parameters
    ----------
    cls : type
        An estimator class whose docstring holds placeholders such as
        ``{network_parameters}`` on lines of their own.

    Returns
    -------
    cls : type
        The same class.
    """
    params = inspect.signature(cls).parameters
    default = params["early_stopping"].default
    doc = cls.__doc__
    for placeholder, text in _PARTS.items():
        text = text.replace("{early_stopping_default}", str(default))
        text = text.replace("{early_stopping_note}", cls._early_stopping_note)
        text = text.replace("{neighbor_weight_default}", repr(params["neighbor_weight"].default))
        text = text.replace("{neighbor_weight_note}", cls._neighbor_weight_note)
        doc = doc.replace("    " + placeholder, text)
    cls.__doc__ = doc
    return cls


def with_labels_doc(method):
    """Put the shared ``y`` entry into ``method``'s docstring (placeholder ``{y}``); return it.

    Parameters
    ----------
    method : callable
        A function whose docstring has ``{y}`` on a line of its own.

    Returns
    -------
    method : callable
        The same function.
    """
    method.__doc__ = method.__doc__.replace("        {y}", LABELS_PARAMETER)
    return method
