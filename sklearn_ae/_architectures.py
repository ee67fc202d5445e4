"""Network bodies: a trunk that maps rows to features, and a decoder that maps codes to rows.

An architecture object builds both for a model; the model adds its own head
(a code layer, or the mean and log-variance of a VAE posterior). Rows are flat
everywhere: a convolutional trunk reshapes them to images and its decoder
flattens its output, so estimators, losses and batching never see images.

The contract, which a user's own object passed as ``architecture=`` follows too:

- ``trunk(n_features, n_conditions=0)`` returns ``(module, width)``: an
  ``nn.Module`` whose ``forward(x, condition=None)`` maps rows of shape
  ``(n, n_features)`` (and, for a conditional model, one-hot conditions of
  shape ``(n, n_conditions)``, which it must use) to features of shape
  ``(n, width)``;
- ``decoder(n_inputs, n_features)`` returns an ``nn.Module`` that maps codes of
  shape ``(..., n_inputs)`` (any leading axes: a VAE decodes several draws
  at once) to ``(..., n_features)``, with a linear output (the likelihood
  adds its own link, e.g. a sigmoid).

Both methods are called once per fit, so the object may be reused and must
not hold fitted state. Rows must not interact (no batch statistics) where the
contractive penalty or row-independent inference is wanted.
"""

import math

import torch
from torch import nn

from ._validation import check_layer_sizes

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


def append_condition(a, condition):
    """Concatenate the per-row condition to the last axis of ``a`` (any leading axes)."""
    if condition is None:
        return a
    return torch.cat([a, condition.expand(*a.shape[:-1], condition.shape[-1])], dim=-1)


class _MLPTrunk(nn.Module):
    def __init__(self, n_inputs, hidden_layer_sizes, activation):
        super().__init__()
        self.layers = mlp((n_inputs, *hidden_layer_sizes), activation, activation)

    def forward(self, x, condition=None):
        return self.layers(append_condition(x, condition))


class MLPArchitecture:
    """Fully connected trunk and mirrored decoder.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        Trunk widths, input side first; the decoder mirrors them.
    activation : str, default="relu"
        Key of :data:`ACTIVATIONS`.

    Examples
    --------
    >>> import torch
    >>> arch = MLPArchitecture((32, 16))
    >>> trunk, width = arch.trunk(64, n_conditions=0)
    >>> width, arch.decoder(2, 64)(torch.zeros(5, 2)).shape
    (16, torch.Size([5, 64]))
    """

    def __init__(self, hidden_layer_sizes, activation="relu"):
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.activation = activation

    def trunk(self, n_features, n_conditions=0):
        """Module ``(x, condition) -> features`` (the condition joins the input) and its width."""
        n_inputs = n_features + n_conditions
        width = self.hidden_layer_sizes[-1] if self.hidden_layer_sizes else n_inputs
        return _MLPTrunk(n_inputs, self.hidden_layer_sizes, self.activation), width

    def decoder(self, n_inputs, n_features):
        """Module mapping ``(..., n_inputs)`` to ``(..., n_features)``, linear output."""
        return mlp((n_inputs, *self.hidden_layer_sizes[::-1], n_features), self.activation)


# Convolution weights are kept channels-last, the layout oneDNN's kernels prefer on x86: a
# training epoch of the conv autoencoder on MNIST-5k took 0.73x the time of the default layout
# (benchmarks/conv_speed.py).
CONV_MEMORY_FORMAT = torch.channels_last


def _conv_block(conv, n_channels, activation, batch_norm):
    layers = [conv]
    if batch_norm:
        layers.append(nn.BatchNorm2d(n_channels))
    layers.append(ACTIVATIONS[activation]())
    return layers


class _ConvTrunk(nn.Module):
    def __init__(self, image_shape, channels, activation, batch_norm):
        super().__init__()
        self.image_shape = image_shape
        layers, n_in = [], image_shape[0]
        for n_out in channels:
            conv = nn.Conv2d(n_in, n_out, kernel_size=3, stride=2, padding=1)
            layers += _conv_block(conv, n_out, activation, batch_norm)
            n_in = n_out
        self.layers = nn.Sequential(*layers).to(memory_format=CONV_MEMORY_FORMAT)

    def forward(self, x, condition=None):
        features = self.layers(x.reshape(-1, *self.image_shape)).flatten(1)
        return append_condition(features, condition)


class _ConvDecoder(nn.Module):
    def __init__(self, n_inputs, image_shape, channels, spatial, activation, batch_norm):
        super().__init__()
        self.image_shape = image_shape
        self.start = (channels[-1], *spatial)
        self.project = nn.Sequential(
            nn.Linear(n_inputs, math.prod(self.start)), ACTIVATIONS[activation]()
        )
        layers = []
        for n_in, n_out in zip(channels[::-1], (*channels[::-1][1:], channels[0]), strict=True):
            up = nn.ConvTranspose2d(n_in, n_out, 3, stride=2, padding=1, output_padding=1)
            layers += _conv_block(up, n_out, activation, batch_norm)
        layers.append(nn.Conv2d(channels[0], image_shape[0], kernel_size=3, padding=1))
        self.layers = nn.Sequential(*layers).to(memory_format=CONV_MEMORY_FORMAT)

    def forward(self, z):
        leading = z.shape[:-1]
        h = self.project(z.reshape(-1, z.shape[-1])).reshape(-1, *self.start)
        _, height, width = self.image_shape
        # Each stride-2 layer doubles the size; the encoder rounded odd sizes up, so crop.
        images = self.layers(h)[:, :, :height, :width]
        return images.reshape(*leading, -1)


class ConvArchitecture:
    """Strided-convolution trunk and transposed-convolution decoder (the classic conv AE/VAE).

    Each channel width adds a 3x3 convolution of stride 2 (halving height and
    width, odd sizes rounded up) followed by the activation, with optional
    batch normalisation before it. The decoder projects the code to the
    smallest feature map, doubles it with 3x3 transposed convolutions, crops to
    the image size and ends with a 3x3 convolution to the image channels. Any
    image size works: 28x28 goes 28-14-7 and back; 7x7 goes 7-4-2, up to 8,
    cropped to 7.

    Parameters
    ----------
    image_shape : tuple of int
        (channels, height, width) of one image.
    channels : tuple of int, default=(32, 64)
        Channel widths of the convolutions, input side first.
    activation : str, default="relu"
        Key of :data:`ACTIVATIONS`.
    batch_norm : bool, default=False
        Batch normalisation after every (transposed) convolution.

    Examples
    --------
    >>> import torch
    >>> arch = ConvArchitecture((1, 7, 7), channels=(8, 16))
    >>> trunk, width = arch.trunk(49)
    >>> trunk(torch.zeros(5, 49)).shape, width
    (torch.Size([5, 64]), 64)
    >>> arch.decoder(2, 49)(torch.zeros(3, 5, 2)).shape
    torch.Size([3, 5, 49])
    """

    def __init__(self, image_shape, channels=(32, 64), activation="relu", batch_norm=False):
        self.image_shape = tuple(image_shape)
        self.channels = tuple(channels)
        self.activation = activation
        self.batch_norm = batch_norm

    def _spatial(self):
        height, width = self.image_shape[1:]
        for _ in self.channels:
            height, width = math.ceil(height / 2), math.ceil(width / 2)
        return height, width

    def trunk(self, n_features, n_conditions=0):
        """Module ``(x, condition) -> features`` (the condition joins the flat conv features)."""
        if n_features != math.prod(self.image_shape):
            raise ValueError(
                f"image_shape {self.image_shape} has {math.prod(self.image_shape)} pixels, "
                f"but X has {n_features} features."
            )
        trunk = _ConvTrunk(self.image_shape, self.channels, self.activation, self.batch_norm)
        return trunk, self.channels[-1] * math.prod(self._spatial()) + n_conditions

    def decoder(self, n_inputs, n_features):
        """Module mapping ``(..., n_inputs)`` to flat images ``(..., n_features)``."""
        return _ConvDecoder(
            n_inputs,
            self.image_shape,
            self.channels,
            self._spatial(),
            self.activation,
            self.batch_norm,
        )


def mlp_from_params(params, image_shape):
    """The :class:`MLPArchitecture` of an estimator's parameters."""
    return MLPArchitecture(check_layer_sizes(params["hidden_layer_sizes"]), params["activation"])


def conv_from_params(params, image_shape):
    """The :class:`ConvArchitecture` of an estimator's parameters for images of ``image_shape``."""
    channels = check_layer_sizes(params["conv_channels"], "conv_channels")
    if not channels:
        raise ValueError("architecture='conv' needs at least one entry in conv_channels.")
    return ConvArchitecture(image_shape, channels, params["activation"], params["batch_norm"])


# ``architecture=...`` of both estimators: name -> builder from (parameters, image shape).
ARCHITECTURES = {"mlp": mlp_from_params, "conv": conv_from_params}


def has_batch_norm(module):
    """Whether any layer of ``module`` normalises over the batch (rows then interact).

    Examples
    --------
    >>> has_batch_norm(mlp((4, 2))), has_batch_norm(nn.Sequential(nn.BatchNorm1d(2)))
    (False, True)
    """
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
