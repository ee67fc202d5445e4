"""Figures for comparisons and fitted models; each function returns a matplotlib Figure.

matplotlib is an optional dependency: ``pip install "sklearn-ae[compare]"``.
"""

import math

import numpy as np


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "Plotting needs matplotlib, which is not installed: pip install 'sklearn-ae[compare]'"
        ) from None
    return plt


def _grid(n_panels, max_columns=5, size=3.0):
    plt = _pyplot()
    columns = min(n_panels, max_columns)
    rows = math.ceil(n_panels / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, axes.flat


def plot_embeddings(embeddings, labels=None):
    """Scatter the first two dimensions of each embedding side by side, coloured by label.

    Parameters
    ----------
    embeddings : dict of str to ndarray of shape (n_samples, >=2)
        Embeddings by title.
    labels : array-like of shape (n_samples,), default=None
        Colours the points; a key beside the panels names the class of each
        colour (colours repeat after 10 classes).

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_embeddings({"PCA": np.random.rand(20, 2)}, labels=np.arange(20) % 3)
    >>> len(fig.axes), [t.get_text() for t in fig.legends[0].get_texts()]
    (1, ['0', '1', '2'])
    """
    fig, axes = _grid(len(embeddings))
    palette = _pyplot().get_cmap("tab10")
    colors, classes = None, []
    if labels is not None:
        classes, index = np.unique(labels, return_inverse=True)
        colors = palette(index % palette.N)
    for ax, (title, Z) in zip(axes, embeddings.items(), strict=False):
        ax.scatter(Z[:, 0], Z[:, 1], c=colors, s=4, alpha=0.8)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    if len(classes):
        key = [
            _pyplot().Line2D([], [], marker="o", linestyle="", color=palette(i % palette.N))
            for i in range(len(classes))
        ]
        fig.legend(key, [str(c) for c in classes], title="class", loc="center left")
        fig.subplots_adjust(left=0.12 if len(embeddings) > 1 else 0.25)
    return fig


def plot_images(rows, image_shape, n_images=10):
    """Show images in labelled rows: e.g. originals above each method's reconstructions.

    Parameters
    ----------
    rows : dict of str to ndarray of shape (n, prod(image_shape))
        Flat images by row title; the first ``n_images`` of each are shown.
    image_shape : tuple of int
        (height, width) of one image.
    n_images : int, default=10
        Images per row.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_images({"original": np.random.rand(4, 64)}, (8, 8), n_images=4)
    >>> len(fig.axes)
    4
    """
    plt = _pyplot()
    fig, axes = plt.subplots(
        len(rows), n_images, figsize=(n_images, 1.1 * len(rows)), squeeze=False
    )
    for row_axes, (title, images) in zip(axes, rows.items(), strict=True):
        for i, ax in enumerate(row_axes):
            if i < len(images):
                ax.imshow(np.reshape(images[i], image_shape), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        row_axes[0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout()
    return fig


def plot_latent_grid(model, image_shape, codes=None, n_per_side=15):
    """Decode a regular grid of 2-D codes: the "manifold" a 2-D model has learned.

    Parameters
    ----------
    model : fitted estimator with ``inverse_transform`` and 2 components
        E.g. a 2-D :class:`~sklearn_ae.VAETransformer`.
    image_shape : tuple of int
        (height, width) of one image.
    codes : ndarray of shape (n_samples, 2), default=None
        Codes whose 2nd-98th percentiles bound the grid; without them the grid
        spans the central 90% of a standard normal prior.
    n_per_side : int, default=15
        Grid points per axis.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    plt = _pyplot()
    if codes is None:
        from scipy.stats import norm

        axis_values = [norm.ppf(np.linspace(0.05, 0.95, n_per_side))] * 2
    else:
        low, high = np.percentile(codes, [2, 98], axis=0)
        axis_values = [np.linspace(low[d], high[d], n_per_side) for d in range(2)]
    z1, z2 = np.meshgrid(axis_values[0], axis_values[1][::-1])
    images = model.inverse_transform(np.column_stack([z1.ravel(), z2.ravel()]))
    height, width = image_shape
    canvas = images.reshape(n_per_side, n_per_side, height, width).transpose(0, 2, 1, 3)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(canvas.reshape(n_per_side * height, n_per_side * width), cmap="gray_r")
    ax.set_title("Decoded latent grid")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_loss_curves(curves):
    """Training loss per epoch of each model, one panel each (their losses differ in scale).

    Parameters
    ----------
    curves : dict of str to sequence of float
        ``loss_curve_`` by title.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_loss_curves({"AE": [3.0, 2.0, 1.5]})
    >>> fig.axes[0].get_xlabel()
    'epoch'
    """
    fig, axes = _grid(len(curves), size=3.2)
    for ax, (title, curve) in zip(axes, curves.items(), strict=False):
        ax.plot(np.arange(1, len(curve) + 1), curve)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
    fig.tight_layout()
    return fig
