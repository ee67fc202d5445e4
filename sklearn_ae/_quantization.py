"""Discrete codes: a learned codebook, its losses and restarts, and a prior over code indices.

The VQ-VAE of van den Oord, Vinyals & Kavukcuoglu (2017), for codes that are a
row of numbers rather than an image grid: a code of ``n_components`` numbers
is cut into positions of ``width`` numbers each, and every position is
snapped to the nearest entry of one shared codebook. Gradients pass straight
through the snap; the codebook learns from the codebook loss and the encoder
is held near its entries by the commitment loss (:meth:`VectorQuantizer.loss`).
Entries no code chose during an epoch are restarted on recent encoder
outputs, so the codebook stays in use. After training, :class:`CodeIndexPrior`
learns the distribution of the training rows' code indices, position after
position, and ``sample`` draws from it.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback
from torch import nn

from ._penalties import Penalty

# Weight of the commitment loss next to the codebook loss (the paper's beta).
COMMITMENT_WEIGHT = 0.25
# Width of an index's embedding in the code-index prior, and of its hidden layer.
_PRIOR_EMBEDDING = 32
_PRIOR_HIDDEN = 256


class VectorQuantizer(nn.Module):
    """Snap each position of a code to its nearest codebook entry, straight-through.

    Parameters
    ----------
    n_components : int
        Code width; a multiple of ``width``.
    codebook_size : int
        Entries in the codebook, shared by all positions.
    width : int
        Numbers per position (the width of an entry).

    Examples
    --------
    >>> import torch
    >>> vq = VectorQuantizer(4, codebook_size=8, width=2)
    >>> z = torch.randn(3, 4)
    >>> vq.indices(z).shape, vq(z).shape
    (torch.Size([3, 2]), torch.Size([3, 4]))
    >>> bool(torch.isin(vq.snap(z).reshape(-1, 2), vq.codebook).all())
    True
    """

    def __init__(self, n_components, codebook_size, width):
        super().__init__()
        self.width = width
        self.n_positions = n_components // width
        self.codebook = nn.Parameter(
            torch.empty(codebook_size, width).uniform_(-1 / codebook_size, 1 / codebook_size)
        )
        # How often each entry was chosen in training since the last restart.
        self.register_buffer("chosen", torch.zeros(codebook_size))
        self.prior = CodeIndexPrior(self.n_positions, codebook_size)
        self._recent = None

    def _positions(self, z):
        return z.reshape(-1, self.width)

    def indices(self, z):
        """Index of the nearest entry for each position, of shape (n, n_positions)."""
        distances = torch.cdist(self._positions(z.detach()), self.codebook.detach())
        return distances.argmin(dim=1).reshape(-1, self.n_positions)

    def lookup(self, indices):
        """Codes, of shape (n, n_components), made of the entries at ``indices``."""
        return self.codebook[indices].flatten(1)

    def snap(self, z):
        """Each position replaced by its nearest entry (no gradient to z)."""
        return self.lookup(self.indices(z))

    def forward(self, z):
        indices = self.indices(z)
        if self.training:
            self.chosen += torch.bincount(indices.flatten(), minlength=len(self.codebook))
            self._recent = self._positions(z.detach())
        # The decoder sees the entries; the encoder receives the decoder's gradient unchanged.
        return z + (self.lookup(indices) - z).detach()

    def loss(self, z):
        """Codebook loss plus ``COMMITMENT_WEIGHT`` times the commitment loss, per number.

        The first moves the chosen entries to the codes, the second the codes
        to their entries; each is a mean squared distance.
        """
        entries = self.lookup(self.indices(z))
        codebook = F.mse_loss(entries, z.detach())
        commitment = F.mse_loss(z, entries.detach())
        return codebook + COMMITMENT_WEIGHT * commitment

    @torch.no_grad()
    def initialize_from(self, codes):
        """Start the entries at positions drawn from ``codes`` (n, n_components)."""
        positions = self._positions(codes)
        picks = torch.randint(len(positions), (len(self.codebook),), device=positions.device)
        self.codebook.copy_(positions[picks])

    @torch.no_grad()
    def restart_unused(self):
        """Move the entries not chosen since the last call onto recent encoder outputs.

        Returns the number of entries restarted.
        """
        unused = (self.chosen == 0).nonzero().flatten()
        if len(unused) and self._recent is not None:
            picks = torch.randint(len(self._recent), (len(unused),), device=self._recent.device)
            self.codebook[unused] = self._recent[picks]
        self.chosen.zero_()
        return len(unused)


def codebook_usage(indices, codebook_size):
    """Share of the entries used by the code indices, and the perplexity of their use.

    The perplexity is ``exp`` of the entropy of the entries' frequencies: the
    number of equally used entries that would give the same entropy.

    Examples
    --------
    >>> import numpy as np
    >>> codebook_usage(np.array([[0, 1], [2, 3]]), 8)
    (0.5, 4.0)
    """
    counts = np.bincount(np.ravel(indices), minlength=codebook_size)
    frequencies = counts[counts > 0] / counts.sum()
    entropy = -(frequencies * np.log(frequencies)).sum()
    return float((counts > 0).mean()), float(np.round(math.exp(entropy), 6))


class CodeIndexPrior(nn.Module):
    r"""An autoregressive categorical model of code indices,
    :math:`p(k) = \prod_i p(k_i \mid k_{<i})`.

    One network serves every position: it reads the embeddings of the
    indices before position i (later ones zeroed) and a one-hot of i, and
    outputs the logits of :math:`k_i`.

    Parameters
    ----------
    n_positions : int
        Positions of a code.
    codebook_size : int
        Values an index takes.

    Examples
    --------
    >>> import torch
    >>> prior = CodeIndexPrior(3, 8)
    >>> indices = torch.randint(8, (5, 3))
    >>> prior.log_prob(indices).shape, prior.sample(4, torch.Generator()).shape
    (torch.Size([5]), torch.Size([4, 3]))
    """

    def __init__(self, n_positions, codebook_size):
        super().__init__()
        self.n_positions = n_positions
        self.embedding = nn.Embedding(codebook_size, _PRIOR_EMBEDDING)
        self.network = nn.Sequential(
            nn.Linear(n_positions * (_PRIOR_EMBEDDING + 1), _PRIOR_HIDDEN),
            nn.ReLU(),
            nn.Linear(_PRIOR_HIDDEN, codebook_size),
        )

    def _logits(self, indices, position):
        """Logits of the index at ``position`` given the indices before it."""
        n = len(indices)
        seen = torch.arange(self.n_positions, device=indices.device) < position
        embedded = self.embedding(indices) * seen[None, :, None]
        where = torch.zeros(n, self.n_positions, device=indices.device)
        where[:, position] = 1.0
        return self.network(torch.cat([embedded.flatten(1), where], dim=1))

    def log_prob(self, indices):
        """Log-probability of each row of indices (n, n_positions), of shape (n,)."""
        return sum(
            -F.cross_entropy(self._logits(indices, i), indices[:, i], reduction="none")
            for i in range(self.n_positions)
        )

    @torch.no_grad()
    def sample(self, n_samples, generator):
        """Rows of indices drawn position by position with ``generator``."""
        device = self.embedding.weight.device
        indices = torch.zeros(n_samples, self.n_positions, dtype=torch.long, device=device)
        for i in range(self.n_positions):
            probabilities = torch.softmax(self._logits(indices, i), dim=1)
            indices[:, i] = torch.multinomial(probabilities.cpu(), 1, generator=generator)[:, 0]
        return indices

    def fit(self, indices, epochs, generator, batch_size=256, learning_rate=1e-3):
        """Maximise the log-likelihood of the rows of ``indices`` with Adam; return the
        mean negative log-likelihood of each epoch."""
        optimizer = torch.optim.Adam(self.parameters(), lr=learning_rate)
        history = []
        self.train()
        for _ in range(epochs):
            order = torch.randperm(len(indices), generator=generator).to(indices.device)
            total = 0.0
            for start in range(0, len(indices), batch_size):
                batch = indices[order[start : start + batch_size]]
                loss = -self.log_prob(batch).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            history.append(total / len(indices))
        self.eval()
        return history


class CodebookPenalty(Penalty):
    """The codebook and commitment losses of the model's ``quantizer`` (see
    :meth:`VectorQuantizer.loss`), on the codes before they are snapped.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> module = nn.Module()
    >>> module.quantizer = VectorQuantizer(2, codebook_size=4, width=2)
    >>> CodebookPenalty(1.0).value(module, None, torch.zeros(3, 2)).item() >= 0
    True
    """

    name = "codebook"

    def value(self, module, batch, codes):
        return module.quantizer.loss(codes)


class RestartUnusedCodes(Callback):
    """After every epoch, restart the codebook entries no code chose in it.

    The number restarted is recorded as ``restarted_codes`` in the history.
    """

    def on_epoch_end(self, net, **kwargs):
        net.history.record("restarted_codes", net.module_.quantizer.restart_unused())
