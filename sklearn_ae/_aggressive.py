"""Aggressive encoder updates against a lagging encoder (He, Spokoyny, Neubig & Berg-Kirkpatrick).

Early in training the encoder's posterior lags behind the true posterior of
a decoder that is still changing; the KL term then pushes the posterior to
the prior, and the decoder learns to do without the code. He et al.'s remedy:
before each decoder step, train the encoder alone, on fresh batches, until its
loss stops improving; once the mutual information between rows and codes
stops rising from one epoch to the next, go back to ordinary joint steps.
"""

import math

import torch
from skorch.callbacks import Callback

from ._objectives import generative_parameters, held_fixed
from ._priors import posterior_mutual_information

# The encoder's inner loop ends when the summed loss of a block of CHECK_EVERY steps is not
# below the previous block's, or after MAX_INNER_STEPS steps (the paper's 10 and 100).
CHECK_EVERY = 10
MAX_INNER_STEPS = 100
# Rows of the training data, drawn once, on which the mutual information is estimated.
MI_ROWS = 1000


class AggressiveEncoderUpdates(Callback):
    """Train the encoder to convergence before each decoder step while I(x; z) rises.

    While active, every training batch first runs encoder-only steps (a
    separate Adam over the encoder's parameters, on batches drawn at random
    from the training rows, the generative model held fixed); the batch's own
    step then updates the generative model only. At the end of each epoch
    the mutual information between rows and codes is estimated on up to
    ``MI_ROWS`` training rows; the first epoch in which it does not rise
    ends the aggressive phase for good.

    Attributes
    ----------
    active_ : bool
        Whether the aggressive phase is still on.
    mutual_information_ : list of float
        The estimate at the end of every epoch.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.active_, self.mutual_information_ = True, []
        self.data_ = X
        module = net.module_
        self.encoder_ = module.inference_parameters()
        self.generative_ = generative_parameters(module, net.criterion_)
        self.optimizer_ = torch.optim.Adam(self.encoder_, lr=net.lr)
        self.mi_rows_ = torch.randperm(len(X), device=X.X.device)[:MI_ROWS]

    def _draw_batch(self, net):
        rows = torch.randint(len(self.data_), (net.batch_size,), device=self.data_.X.device)
        condition = self.data_.condition
        return self.data_.X[rows], None if condition is None else condition[rows]

    def _encoder_step(self, net):
        """One encoder-only step on a fresh batch; its loss."""
        module = net.module_
        x, condition = self._draw_batch(net)
        with held_fixed(self.generative_):
            loss, _ = net.objective(net, module(x, condition), x, condition, True)
        self.optimizer_.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_.step()
        return loss.item()

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not (training and self.active_):
            return
        previous, block = math.inf, 0.0
        for step in range(1, MAX_INNER_STEPS + 1):
            block += self._encoder_step(net)
            if step % CHECK_EVERY == 0:
                if block >= previous:
                    break
                previous, block = block, 0.0
        # The batch's own step then trains the generative model only.
        for parameter in self.encoder_:
            parameter.requires_grad_(False)

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        for parameter in self.encoder_:
            parameter.requires_grad_(True)

    def on_epoch_end(self, net, **kwargs):
        if self.active_:
            module = net.module_
            x = self.data_.X[self.mi_rows_]
            condition = self.data_.condition
            condition = None if condition is None else condition[self.mi_rows_]
            with torch.no_grad():
                mean, logvar = module.posterior_parameters(x, condition)
                mi = posterior_mutual_information(mean, logvar, torch.randn_like(mean)).item()
            if self.mutual_information_ and mi <= max(self.mutual_information_):
                self.active_ = False
            self.mutual_information_.append(mi)
        net.history.record("aggressive_encoder_updates", self.active_)
