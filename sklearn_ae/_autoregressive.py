"""Masked autoregressive decoders: p(x|z) = prod_i p(x_i | x_<i, z).

Two networks share one contract: over the features of a row, MADE (Germain et
al. 2015, :class:`AutoregressiveDecoder`); over the pixels of an image in
raster order, PixelCNN (van den Oord, Kalchbrenner & Kavukcuoglu 2016,
:class:`PixelCNNDecoder`). Each sees the row itself, masked so that the output
for a feature depends on the features before it and on the code z only.
Trained with the row given (teacher forcing), it scores a row in one pass; it
generates step by step, one pass per step. Such a decoder can model the row
without the code, which is why a VAE built on it collapses easily: the setting
in which the remedies of ``_objectives`` and ``committed_rate`` are measured.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._architectures import ACTIVATIONS, CONV_MEMORY_FORMAT, ConvArchitecture, MLPArchitecture

# Residual masked layers of the PixelCNN decoder after its 7x7 one: a pixel sees about eight
# rows above it, enough on binarized MNIST-5k for the decoder to explain most of a digit
# without the code (benchmarks/collapse.py).
PIXELCNN_RESIDUAL_LAYERS = 5

# How a generated feature is fed back as the next features' input, by likelihood: its mean.
FEEDBACK = {"gaussian": lambda output: output, "bernoulli": torch.sigmoid}


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 ``mask`` of its shape."""

    def __init__(self, n_inputs, n_outputs, mask):
        super().__init__(n_inputs, n_outputs)
        self.register_buffer("mask", mask.to(self.weight.dtype))

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


def made_masks(n_features, hidden_sizes):
    """The masks of MADE's hidden layers, output layer and direct input-output connection.

    Inputs and outputs have degrees 1..n_features; hidden units cycle through
    degrees 1..n_features - 1. A unit connects to the units of the layer before
    whose degree is at most its own, an output of degree i to hidden units and
    inputs of degree below i, so output i depends on inputs 1..i-1 only.

    Examples
    --------
    >>> hidden, output, direct = made_masks(3, (4,))
    >>> direct.int().tolist()
    [[0, 0, 0], [1, 0, 0], [1, 1, 0]]
    >>> (output @ hidden[0]).int().tolist()  # paths from input j to output i
    [[0, 0, 0], [2, 0, 0], [4, 2, 0]]
    """
    inputs = torch.arange(1, n_features + 1)
    degrees, masks = inputs, []
    for width in hidden_sizes:
        hidden = torch.arange(width) % max(1, n_features - 1) + 1
        masks.append((hidden[:, None] >= degrees[None, :]).float())
        degrees = hidden
    output = (inputs[:, None] > degrees[None, :]).float()
    direct = (inputs[:, None] > inputs[None, :]).float()
    return masks, output, direct


class _Autoregressive(nn.Module):
    """What both decoders share: generation step by step through ``forward``.

    A subclass sets ``n_features`` and ``likelihood`` and defines
    ``forward(code, x)`` and ``generation_steps()``, the features each step
    generates, in order.
    """

    autoregressive = True

    def generate(self, code, draw=None):
        """Outputs along a row generated step by step from ``code``.

        Each generated feature is fed to the next steps as its mean (a
        deterministic decoding) or, with ``draw`` (a function of the
        outputs), as a draw.
        """
        x = code.new_zeros((*code.shape[:-1], self.n_features))
        # One transfer for all the steps, not one per step.
        for features in self.generation_steps().to(code.device):
            output = self.forward(code, x)
            value = FEEDBACK[self.likelihood](output) if draw is None else draw(output)
            x = x.index_copy(-1, features, value.index_select(-1, features))
        return self.forward(code, x)


class AutoregressiveDecoder(_Autoregressive):
    """MADE over the features, conditioned on the code (and condition) in every layer.

    Parameters
    ----------
    n_inputs : int
        Width of the code, with a conditional model's condition appended.
    n_features : int
        Number of features.
    hidden_sizes : tuple of int
        Widths of the masked hidden layers.
    activation : str
        A key of ``ACTIVATIONS``.
    likelihood : {"gaussian", "bernoulli"}
        How a generated feature is fed to the next ones (``FEEDBACK``).

    Examples
    --------
    >>> import torch
    >>> decoder = AutoregressiveDecoder(2, 5, (16,), "relu", "bernoulli")
    >>> z, x = torch.zeros(3, 4, 2), torch.rand(4, 5)
    >>> decoder(z, x).shape, decoder.generate(z[0]).shape
    (torch.Size([3, 4, 5]), torch.Size([4, 5]))
    """

    def __init__(self, n_inputs, n_features, hidden_sizes, activation, likelihood):
        super().__init__()
        self.n_features = n_features
        hidden_masks, output_mask, direct_mask = made_masks(n_features, hidden_sizes)
        widths = (n_features, *hidden_sizes)
        self.masked = nn.ModuleList(
            MaskedLinear(n_in, n_out, mask)
            for n_in, n_out, mask in zip(widths[:-1], widths[1:], hidden_masks, strict=True)
        )
        self.context = nn.ModuleList(nn.Linear(n_inputs, width) for width in hidden_sizes)
        self.output = MaskedLinear(widths[-1], n_features, output_mask)
        self.direct = MaskedLinear(n_features, n_features, direct_mask)
        self.context_output = nn.Linear(n_inputs, n_features)
        self.activation = ACTIVATIONS[activation]()
        self.likelihood = likelihood

    def forward(self, code, x):
        """Outputs for every feature given the features before it: one pass, ``x`` known."""
        x = x.expand(*code.shape[:-1], x.shape[-1])
        hidden = x
        for masked, context in zip(self.masked, self.context, strict=True):
            hidden = self.activation(masked(hidden) + context(code))
        return self.output(hidden) + self.direct(x) + self.context_output(code)

    def generation_steps(self):
        """One feature a step, in order."""
        return torch.arange(self.n_features)[:, None]


class MaskedConv2d(nn.Conv2d):
    """A square convolution that sees only the pixels before the centre in raster order.

    ``include_centre=False`` (PixelCNN's mask A, for the first layer) also
    hides the centre pixel; ``True`` (mask B, for the later layers, whose
    centre holds features of the pixels before it) keeps it.
    """

    def __init__(self, n_in, n_out, kernel_size, include_centre):
        super().__init__(n_in, n_out, kernel_size, padding=kernel_size // 2)
        centre = kernel_size // 2
        mask = torch.ones_like(self.weight)
        mask[:, :, centre, centre + int(include_centre) :] = 0
        mask[:, :, centre + 1 :] = 0
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNNDecoder(_Autoregressive):
    """PixelCNN over the pixels of an image, conditioned on the code in every layer.

    A 7x7 masked convolution (mask A) to ``width`` feature maps, then
    ``n_layers`` residual 3x3 masked convolutions (mask B), then a 1x1
    convolution to the image's channels; the code adds a learned bias to every
    layer's maps and to every output. Pixels come in raster order; the channels
    of one pixel depend on the pixels before it and are independent of each
    other given them, so a step generates one pixel's channels together.

    Parameters
    ----------
    n_inputs : int
        Width of the code, with a conditional model's condition appended.
    image_shape : tuple of int
        (channels, height, width) of one image.
    width : int
        Feature maps of every hidden layer.
    n_layers : int
        Residual masked layers after the first.
    activation : str
        A key of ``ACTIVATIONS``.
    likelihood : {"gaussian", "bernoulli"}
        How a generated pixel is fed to the next ones (``FEEDBACK``).

    Examples
    --------
    >>> import torch
    >>> decoder = PixelCNNDecoder(2, (1, 4, 4), 8, 2, "relu", "bernoulli")
    >>> z, x = torch.zeros(3, 5, 2), torch.rand(5, 16)
    >>> decoder(z, x).shape, decoder.generate(z[0]).shape
    (torch.Size([3, 5, 16]), torch.Size([5, 16]))
    """

    def __init__(self, n_inputs, image_shape, width, n_layers, activation, likelihood):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.n_features = math.prod(self.image_shape)
        self.first = MaskedConv2d(self.image_shape[0], width, 7, include_centre=False)
        self.layers = nn.ModuleList(
            MaskedConv2d(width, width, 3, include_centre=True) for _ in range(n_layers)
        )
        self.context = nn.ModuleList(nn.Linear(n_inputs, width) for _ in range(n_layers + 1))
        self.output = nn.Conv2d(width, self.image_shape[0], 1)
        self.context_output = nn.Linear(n_inputs, self.n_features)
        self.activation = ACTIVATIONS[activation]()
        self.likelihood = likelihood

    def forward(self, code, x):
        """Outputs for every pixel given the pixels before it: one pass, ``x`` known."""
        leading = code.shape[:-1]
        code = code.reshape(-1, code.shape[-1])
        images = x.expand(*leading, self.n_features).reshape(-1, *self.image_shape)
        biases = [context(code)[:, :, None, None] for context in self.context]
        hidden = self.activation(self.first(images) + biases[0])
        for layer, bias in zip(self.layers, biases[1:], strict=True):
            hidden = hidden + self.activation(layer(hidden) + bias)
        output = self.output(hidden).flatten(1) + self.context_output(code)
        return output.reshape(*leading, self.n_features)

    def generation_steps(self):
        """One pixel a step in raster order, all of its channels together."""
        n_channels, height, width = self.image_shape
        pixels = height * width
        return torch.arange(pixels)[:, None] + pixels * torch.arange(n_channels)[None, :]


def autoregressive_decoder(architecture, n_inputs, n_features, likelihood):
    """The masked autoregressive decoder of an architecture.

    MADE for an :class:`MLPArchitecture`, its hidden layers mirroring the
    trunk's; PixelCNN for a :class:`ConvArchitecture`, ``channels[0]`` maps
    wide (no batch norm); a user's architecture provides its own through an
    ``autoregressive_decoder(n_inputs, n_features, likelihood)`` method.

    Examples
    --------
    >>> arch = ConvArchitecture((1, 4, 4), channels=(8,))
    >>> type(autoregressive_decoder(arch, 2, 16, "bernoulli")).__name__
    'PixelCNNDecoder'
    """
    if hasattr(architecture, "autoregressive_decoder"):
        return architecture.autoregressive_decoder(n_inputs, n_features, likelihood)
    if isinstance(architecture, MLPArchitecture):
        return AutoregressiveDecoder(
            n_inputs,
            n_features,
            architecture.hidden_layer_sizes[::-1],
            architecture.activation,
            likelihood,
        )
    if isinstance(architecture, ConvArchitecture):
        decoder = PixelCNNDecoder(
            n_inputs,
            architecture.image_shape,
            architecture.channels[0],
            PIXELCNN_RESIDUAL_LAYERS,
            architecture.activation,
            likelihood,
        )
        return decoder.to(memory_format=CONV_MEMORY_FORMAT)
    raise ValueError(
        "decoder='autoregressive' needs an architecture with an autoregressive decoder; "
        f"{type(architecture).__name__} has no autoregressive_decoder method. Use "
        "architecture='mlp' (MADE) or 'conv' (PixelCNN), or decoder='factorized'."
    )
