"""A masked autoregressive decoder: p(x|z) = prod_i p(x_i | x_<i, z) (MADE, Germain et al. 2015).

The decoder sees the row itself, masked so that the output for feature i
depends on the features before it and on the code z only. Trained with the
row given (teacher forcing), it scores a row in one pass; it generates feature
by feature, one pass per feature. Such a decoder can model the row without
the code, which is why a VAE built on it collapses easily: the setting in
which the remedies of ``_objectives`` and ``committed_rate`` are measured.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ._architectures import ACTIVATIONS

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


class AutoregressiveDecoder(nn.Module):
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

    autoregressive = True

    def __init__(self, n_inputs, n_features, hidden_sizes, activation, likelihood):
        super().__init__()
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

    def generate(self, code, draw=None):
        """Outputs along a row generated feature by feature from ``code``.

        Each feature is fed to the next ones as its mean (a deterministic
        decoding) or, with ``draw`` (a function of the outputs), as a draw.
        """
        n_features = self.output.out_features
        x = code.new_zeros((*code.shape[:-1], n_features))
        for feature in range(n_features):
            output = self.forward(code, x)
            value = FEEDBACK[self.likelihood](output) if draw is None else draw(output)
            x = torch.cat(
                [x[..., :feature], value[..., feature : feature + 1], x[..., feature + 1 :]], dim=-1
            )
        return self.forward(code, x)
