"""skorch nets: each overrides ``get_loss`` only; skorch runs the loop."""

from skorch import NeuralNet

from ._losses import (
    elbo_terms,
    importance_weighted_bound,
    log_importance_weights,
    standard_normal_draws,
)


def batch_rows(X):
    """The data rows of a skorch batch (conditional batches are dicts)."""
    return X["x"] if isinstance(X, dict) else X


class AutoencoderNet(NeuralNet):
    """skorch net whose loss is reconstruction error plus weighted penalties.

    The module returns ``(decoder_output, codes)``; the criterion gives a
    per-sample reconstruction error (summed over features), averaged here per
    feature and sample, so the squared-error loss is the usual mean squared
    error. Penalties are applied during training only; validation scores the
    reconstruction alone, so early stopping watches what ``score`` measures.
    Each term is recorded in the history (``train_reconstruction``,
    ``train_<penalty name>``).

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`skorch.NeuralNet`.
    penalties : sequence of Penalty, default=()
        Regularisation terms (see ``sklearn_ae._losses``).
    """

    def __init__(self, *args, penalties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.penalties = penalties

    def get_loss(self, y_pred, y_true, X=None, training=False):
        output, codes = y_pred[0], y_pred[1]
        x = batch_rows(X)
        loss = self.criterion_(output, x).mean() / x.shape[1]
        if not (training and self.penalties):
            return loss
        self.history.record_batch("train_reconstruction", loss.item())
        for penalty in self.penalties:
            value = penalty.value(self.module_, x, codes)
            self.history.record_batch("train_" + penalty.name, value.item())
            loss = loss + penalty.weight * value
        return loss


def _condition(X):
    return X["condition"] if isinstance(X, dict) else None


class VAENet(NeuralNet):
    r"""skorch net whose loss is the negative (beta-weighted, annealed) ELBO or IWAE bound.

    The module returns the posterior parameters; the loss draws codes,
    decodes them and scores them (``sklearn_ae._losses``). During training the
    KL weight is ``beta * min(1, epoch / kl_warmup)``, and ``free_bits`` floors
    the batch-mean KL of each latent unit. Validation always scores the plain
    negative ELBO (beta 1, one draw), the quantity ``score`` reports. The
    history records ``train_reconstruction`` and ``train_kl`` every epoch.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`skorch.NeuralNet`.
    beta : float, default=1.0
        Weight of the KL term.
    kl_warmup : int, default=0
        Epochs over which the KL weight grows linearly from ``beta / kl_warmup``
        to ``beta``; 0 disables annealing.
    free_bits : float, default=0.0
        Minimum KL, in nats, charged per latent unit.
    n_importance_samples : int, default=1
        Draws per row; above 1 the loss is the importance-weighted bound.
    """

    def __init__(
        self, *args, beta=1.0, kl_warmup=0, free_bits=0.0, n_importance_samples=1, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.n_importance_samples = n_importance_samples

    def kl_weight(self):
        """The KL weight of the current epoch."""
        if not self.kl_warmup:
            return self.beta
        return self.beta * min(1.0, len(self.history) / self.kl_warmup)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        mean, logvar = y_pred
        n_draws = self.n_importance_samples if training else 1
        eps = standard_normal_draws(n_draws, mean)
        posterior = (batch_rows(X), _condition(X), mean, logvar, eps)
        if not training:
            reconstruction, kl = elbo_terms(self.module_, self.criterion_, *posterior)
            return (reconstruction + kl.sum(dim=-1)).mean()
        if n_draws > 1:
            log_likelihood, log_ratio = log_importance_weights(
                self.module_, self.criterion_, *posterior
            )
            bound = importance_weighted_bound(log_likelihood + self.kl_weight() * log_ratio)
            loss = -bound.mean()
            reconstruction, kl = -log_likelihood.mean(), -log_ratio.mean()
        else:
            per_row, per_unit = elbo_terms(self.module_, self.criterion_, *posterior)
            charged_kl = per_unit.mean(dim=0).clamp(min=self.free_bits).sum()
            loss = per_row.mean() + self.kl_weight() * charged_kl
            reconstruction, kl = per_row.mean(), per_unit.sum(dim=-1).mean()
        self.history.record_batch("train_reconstruction", reconstruction.item())
        self.history.record_batch("train_kl", kl.item())
        return loss
