"""PyTorch modules: multilayer perceptrons and the autoencoder network.

Modules know nothing about estimators or losses: the estimator configures them
through skorch's ``module__`` parameters and the net computes the objective.
"""

import torch
from torch import nn

from ._priors import StandardNormalPrior

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def mlp(sizes, activation="relu", output_activation=None):
    """Stack of linear layers with ``activation`` between them.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first: ``(64, 32, 2)`` makes two linear layers.
    activation : str, default="relu"
        Key of :data:`ACTIVATIONS` applied after every layer but the last.
    output_activation : str or None, default=None
        Key of :data:`ACTIVATIONS` applied after the last layer.

    Examples
    --------
    >>> mlp((64, 32, 2))
    Sequential(
      (0): Linear(in_features=64, out_features=32, bias=True)
      (1): ReLU()
      (2): Linear(in_features=32, out_features=2, bias=True)
    )
    """
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        last = i == len(sizes) - 2
        name = output_activation if last else activation
        if name is not None:
            layers.append(ACTIVATIONS[name]())
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """Encoder and decoder; the decoder mirrors the encoder's hidden layers.

    ``forward(x)`` returns ``(decoder_output, code)``. The decoder output is in
    the criterion's parameterisation (values for squared error, logits for
    cross-entropy); the criterion maps it to data space.

    Parameters
    ----------
    n_features : int
        Input width.
    n_components : int
        Code width.
    hidden_layer_sizes : tuple of int, default=()
        Encoder hidden widths, outermost first. Empty gives a linear autoencoder.
    activation : str, default="relu"
        Hidden activation, a key of :data:`ACTIVATIONS`.
    code_activation : str or None, default=None
        Activation of the code layer (``"sigmoid"`` for KL sparsity).
    corruption : nn.Module or None, default=None
        Applied to the input in training mode only (denoising).
    linear_path : bool, default=False
        Add a linear map beside the encoder and the decoder: the code is
        ``linear(x) + encoder(x)`` and the reconstruction ``linear(z) + decoder(z)``.
        :meth:`init_linear_path_from_pca` then makes the network start as PCA.

    Examples
    --------
    >>> import torch
    >>> net = Autoencoder(10, 2, hidden_layer_sizes=(8,))
    >>> out, code = net(torch.zeros(5, 10))
    >>> out.shape, code.shape
    (torch.Size([5, 10]), torch.Size([5, 2]))
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(),
        activation="relu",
        code_activation=None,
        corruption=None,
        linear_path=False,
    ):
        super().__init__()
        self.n_components = n_components
        hidden = tuple(hidden_layer_sizes)
        self.corruption = corruption if corruption is not None else nn.Identity()
        self.encoder = mlp((n_features, *hidden, n_components), activation, code_activation)
        self.decoder = mlp((n_components, *hidden[::-1], n_features), activation)
        self.linear_encoder = nn.Linear(n_features, n_components) if linear_path else None
        self.linear_decoder = nn.Linear(n_components, n_features) if linear_path else None

    def init_linear_path_from_pca(self, components, mean):
        """Start as PCA: linear maps from the principal axes, nonlinear branches at zero.

        ``components`` (n_axes, n_features) may have fewer rows than the code;
        the remaining code units start with zero linear weights. The last layers
        of the encoder and decoder start at zero, so at initialisation
        ``encode`` is the PCA projection and ``decode`` its inverse; their
        gradients are not zero, so training moves away from PCA only where that
        lowers the loss.
        """
        components = torch.as_tensor(components, dtype=torch.float32)
        mean = torch.as_tensor(mean, dtype=torch.float32)
        n_axes = len(components)
        with torch.no_grad():
            for layer in (self.linear_encoder, self.linear_decoder):
                layer.weight.zero_()
            self.linear_encoder.weight[:n_axes] = components
            self.linear_encoder.bias.copy_(-self.linear_encoder.weight @ mean)
            self.linear_decoder.weight[:, :n_axes] = components.T
            self.linear_decoder.bias.copy_(mean)
            for branch in (self.encoder, self.decoder):
                last = [m for m in branch if isinstance(m, nn.Linear)][-1]
                last.weight.zero_()
                last.bias.zero_()

    def encode(self, x, condition=None):
        """Code of clean input ``x`` (``condition`` is unused: not a conditional model)."""
        z = self.encoder(x)
        return z if self.linear_encoder is None else z + self.linear_encoder(x)

    def decode(self, z, condition=None):
        """Decoder output for code ``z`` (before the criterion's output map)."""
        out = self.decoder(z)
        return out if self.linear_decoder is None else out + self.linear_decoder(z)

    def forward(self, x):
        z = self.encode(self.corruption(x))
        return self.decode(z), z


def _append_condition(a, condition):
    """Concatenate the per-row condition to the last axis of ``a`` (any leading axes)."""
    if condition is None:
        return a
    return torch.cat([a, condition.expand(*a.shape[:-1], condition.shape[-1])], dim=-1)


class VariationalAutoencoder(nn.Module):
    """Gaussian-posterior encoder, decoder and prior of a (conditional) VAE.

    ``forward(x, condition=None)`` returns the posterior parameters
    ``(mean, logvar)`` of q(z|x) for the (optionally corrupted) input; the
    objective draws codes and decodes them. With ``n_conditions > 0`` the
    encoder and decoder also receive a per-row condition (one-hot labels).

    Parameters
    ----------
    n_features : int
        Input width.
    n_components : int
        Latent dimension.
    hidden_layer_sizes : tuple of int, default=()
        Encoder hidden widths, outermost first; the decoder mirrors them.
    activation : str, default="relu"
        Hidden activation, a key of :data:`ACTIVATIONS`.
    n_conditions : int, default=0
        Width of the condition appended to the encoder and decoder inputs.
    corruption : nn.Module or None, default=None
        Applied to the input in training mode only (denoising VAE).
    prior : nn.Module or None, default=None
        The prior p(z) (see ``sklearn_ae._priors``); standard normal if None.

    Examples
    --------
    >>> import torch
    >>> vae = VariationalAutoencoder(10, 2, hidden_layer_sizes=(8,), n_conditions=3)
    >>> mean, logvar = vae(torch.zeros(5, 10), torch.eye(3)[[0, 1, 2, 0, 1]])
    >>> mean.shape, vae.decode(torch.zeros(4, 5, 2), torch.zeros(5, 3)).shape
    (torch.Size([5, 2]), torch.Size([4, 5, 10]))
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(),
        activation="relu",
        n_conditions=0,
        corruption=None,
        prior=None,
    ):
        super().__init__()
        self.n_components = n_components
        hidden = tuple(hidden_layer_sizes)
        width_in = n_features + n_conditions
        self.corruption = corruption if corruption is not None else nn.Identity()
        self.encoder = mlp((width_in, *hidden), activation, activation)
        self.posterior = nn.Linear(hidden[-1] if hidden else width_in, 2 * n_components)
        self.decoder = mlp((n_components + n_conditions, *hidden[::-1], n_features), activation)
        self.prior = prior if prior is not None else StandardNormalPrior(n_components)

    def posterior_parameters(self, x, condition=None):
        """Mean and log-variance of q(z|x), each of shape (n, n_components)."""
        h = self.encoder(_append_condition(x, condition))
        mean, logvar = self.posterior(h).chunk(2, dim=-1)
        return mean, logvar

    def encode(self, x, condition=None):
        """Posterior mean: the deterministic code used by ``transform``."""
        return self.posterior_parameters(x, condition)[0]

    def decode(self, z, condition=None):
        """Decoder output for codes z of shape (..., n, n_components)."""
        return self.decoder(_append_condition(z, condition))

    def forward(self, x, condition=None):
        return self.posterior_parameters(self.corruption(x), condition)
