"""The PCA that a network's linear start (``init="pca"``) is set from, for both estimators."""

import numpy as np
from sklearn.decomposition import PCA


def fit_start_pca(X, n_components, init):
    """PCA of the training data X with at most ``n_components`` axes, or a clear error.

    An exact solver, so that a kept start is PCA itself (the default picks a
    randomized SVD for wide data, which differed by 0.2% in test MSE on 66 rows
    x 2,308 genes). ``init`` names the estimator's setting in the error.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training data.
    n_components : int
        The code width; fewer axes are kept where X has fewer rows or features.
    init : str
        The estimator's ``init``, for the error message.

    Returns
    -------
    pca : PCA
        Fitted.

    Examples
    --------
    >>> import numpy as np
    >>> fit_start_pca(np.random.default_rng(0).normal(size=(50, 4)), 8, "pca").n_components_
    4
    """
    tall = X.shape[1] <= 1000 and X.shape[0] >= 10 * X.shape[1]
    pca = PCA(
        n_components=min(n_components, *X.shape),
        svd_solver="covariance_eigh" if tall else "full",
    )
    try:
        # Constant data (warned about in fit) leave PCA's explained-variance ratio 0 / 0.
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return pca.fit(X)
    except np.linalg.LinAlgError as error:
        raise ValueError(
            f"The network starts as PCA (init={init!r}), whose decomposition of X failed: "
            f"X holds values as large as {np.abs(X).max():.3g}, too large to compute "
            "with. Scale X first, e.g. with StandardScaler or MinMaxScaler."
        ) from error


def ppca_noise_variance(X, pca):
    """The maximum-likelihood noise variance of probabilistic PCA with ``pca``'s axes.

    Tipping & Bishop's estimate: the mean variance of X along the
    ``n_features - n_axes`` directions that ``pca`` leaves out. scikit-learn's
    ``noise_variance_`` averages over only the ``n_samples - n_axes`` nonzero
    ones when X has fewer rows than features: 41 times as much on the
    benchmarks' 66 training rows of 2,308 genes, at 10 axes.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The data ``pca`` was fitted to.
    pca : PCA
        Fitted to X.

    Returns
    -------
    noise_variance : float
        0 when ``pca`` keeps every direction.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 5))
    >>> pca = fit_start_pca(X, 2, "pca")
    >>> bool(np.isclose(ppca_noise_variance(X, pca), pca.noise_variance_))
    True
    """
    n_left_out = X.shape[1] - pca.n_components_
    if n_left_out == 0:
        return 0.0
    left_out = X.var(axis=0, ddof=1).sum() - pca.explained_variance_.sum()
    return max(float(left_out) / n_left_out, 0.0)
