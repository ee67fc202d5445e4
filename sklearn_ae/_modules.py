"""PyTorch modules: multilayer perceptrons and the autoencoder network.

Modules know nothing about estimators or losses: the estimator configures them
through skorch's ``module__`` parameters and the net computes the objective.
"""

from torch import nn

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
    ):
        super().__init__()
        self.n_components = n_components
        hidden = tuple(hidden_layer_sizes)
        self.corruption = corruption if corruption is not None else nn.Identity()
        self.encoder = mlp((n_features, *hidden, n_components), activation, code_activation)
        self.decoder = mlp((n_components, *hidden[::-1], n_features), activation)

    def encode(self, x):
        """Code of clean input ``x``."""
        return self.encoder(x)

    def decode(self, z):
        """Decoder output for code ``z`` (before the criterion's output map)."""
        return self.decoder(z)

    def forward(self, x):
        z = self.encoder(self.corruption(x))
        return self.decoder(z), z
