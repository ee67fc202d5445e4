"""PyTorch modules: the autoencoder and the variational autoencoder networks.

A network is an architecture's trunk and decoder (``_architectures.py``) plus
its own head. Modules know nothing about estimators or losses: the estimator
configures them through skorch's ``module__`` parameters and the net computes
the objective.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ._adversarial import discriminator
from ._architectures import ACTIVATIONS, append_condition
from ._autoregressive import autoregressive_decoder
from ._factor_groups import clamp_to_group_mean, clamped_units
from ._priors import StandardNormalPrior

_WEIGHTED_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def _last_weighted_layer(module):
    return [m for m in module.modules() if isinstance(m, _WEIGHTED_LAYERS)][-1]


def _start_linear_path(module, encoder_weight, decoder_weight, mean, branches):
    """Set a module's linear path to ``x -> encoder_weight (x - mean)`` and
    ``z -> decoder_weight z + mean``, and zero the last layers of its nonlinear ``branches``.

    ``encoder_weight`` (n_axes, n_features) may have fewer rows than the code;
    the remaining code units start with zero linear weights. With the last
    nonlinear layers at zero the network starts as the linear model, and since
    their gradients are not zero, training leaves it only where that lowers the loss.
    """
    device = module.linear_encoder.weight.device
    encoder_weight, decoder_weight, mean = (
        torch.as_tensor(a, dtype=torch.float32, device=device)
        for a in (encoder_weight, decoder_weight, mean)
    )
    n_axes = len(encoder_weight)
    with torch.no_grad():
        for layer in (module.linear_encoder, module.linear_decoder):
            layer.weight.zero_()
        module.linear_encoder.weight[:n_axes] = encoder_weight
        module.linear_encoder.bias.copy_(-module.linear_encoder.weight @ mean)
        module.linear_decoder.weight[:, :n_axes] = decoder_weight
        module.linear_decoder.bias.copy_(mean)
        for branch in branches:
            last = _last_weighted_layer(branch)
            last.weight.zero_()
            last.bias.zero_()


class Autoencoder(nn.Module):
    """Encoder (trunk and code layer) and decoder of a deterministic autoencoder.

    ``forward(x)`` returns ``(decoder_output, code)``. The decoder output is in
    the criterion's parameterisation (values for squared error, logits for
    cross-entropy); the criterion maps it to data space.

    Parameters
    ----------
    n_features : int
        Input width.
    n_components : int
        Code width.
    architecture : object
        Builds the trunk and the decoder (``MLPArchitecture``, ``ConvArchitecture``
        or a user's object with the contract of ``sklearn_ae._architectures``).
    code_activation : str or None, default=None
        Activation of the code layer (``"sigmoid"`` for KL sparsity).
    corruption : nn.Module or None, default=None
        Applied to the input in training mode only (denoising).
    linear_path : bool, default=False
        Add a linear map beside the encoder and the decoder: the code is
        ``linear(x) + encoder(x)`` and the reconstruction ``linear(z) + decoder(z)``.
        :meth:`init_linear_path_from_pca` then makes the network start as PCA.
    code_prior : nn.Module or None, default=None
        A fixed prior over the codes (``sklearn_ae._adversarial``); with it, a
        discriminator on the codes is built too (adversarial autoencoder).
    quantizer : VectorQuantizer or None, default=None
        Snaps the codes to a learned codebook (``sklearn_ae._quantization``):
        the decoder and ``encode`` then see codebook entries, and ``forward``
        still returns the code before the snap, which the codebook losses read.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ae._architectures import MLPArchitecture
    >>> net = Autoencoder(10, 2, MLPArchitecture((8,)))
    >>> out, code = net(torch.zeros(5, 10))
    >>> out.shape, code.shape
    (torch.Size([5, 10]), torch.Size([5, 2]))
    """

    def __init__(
        self,
        n_features,
        n_components,
        architecture,
        code_activation=None,
        corruption=None,
        linear_path=False,
        code_prior=None,
        quantizer=None,
    ):
        super().__init__()
        self.n_components = n_components
        self.code_activation = code_activation
        self.corruption = corruption if corruption is not None else nn.Identity()
        self.trunk, width = architecture.trunk(n_features)
        code = [nn.Linear(width, n_components)]
        if code_activation is not None:
            code.append(ACTIVATIONS[code_activation]())
        self.code = nn.Sequential(*code)
        self.decoder = architecture.decoder(n_components, n_features)
        self.linear_encoder = nn.Linear(n_features, n_components) if linear_path else None
        self.linear_decoder = nn.Linear(n_components, n_features) if linear_path else None
        self.code_prior = code_prior
        self.discriminator = None if code_prior is None else discriminator(n_components)
        self.quantizer = quantizer

    def init_linear_path_from_pca(self, components, mean):
        """Start as PCA: ``encode`` the projection on the principal axes
        ``components`` (n_axes, n_features), ``decode`` its inverse (see
        ``_start_linear_path``)."""
        components = torch.as_tensor(components, dtype=torch.float32)
        _start_linear_path(self, components, components.T, mean, (self.code, self.decoder))

    def continuous_code(self, x):
        """The encoder's output for ``x``, before any snap to a codebook."""
        z = self.code(self.trunk(x))
        return z if self.linear_encoder is None else z + self.linear_encoder(x)

    def encode(self, x, condition=None):
        """Code of clean input ``x`` (``condition`` is unused: not a conditional model)."""
        z = self.continuous_code(x)
        return z if self.quantizer is None else self.quantizer.snap(z)

    def decode(self, z, condition=None, x=None):
        """Decoder output for code ``z`` (before the criterion's output map); x is unused."""
        out = self.decoder(z)
        return out if self.linear_decoder is None else out + self.linear_decoder(z)

    def forward(self, x):
        z = self.continuous_code(self.corruption(x))
        return self.decode(z if self.quantizer is None else self.quantizer(z)), z


class VariationalAutoencoder(nn.Module):
    """Gaussian-posterior encoder, decoder and prior of a (conditional) VAE.

    ``forward(x, condition=None, factor_groups=None)`` returns the posterior
    parameters ``(mean, logvar)`` of q(z|x) for the (optionally corrupted)
    input; the objective draws codes and decodes them. With
    ``n_conditions > 0`` the encoder and decoder also receive a per-row
    condition (one-hot labels). With ``factor_dims``, training batches may
    carry ``factor_groups`` (each row's group id and the factor it varies,
    ``sklearn_ae._factor_groups``): in training mode, every unit but the
    varying factor's is then clamped to its group's mean.

    Parameters
    ----------
    n_features : int
        Input width.
    n_components : int
        Latent dimension.
    architecture : object
        Builds the trunk and the decoder (``MLPArchitecture``, ``ConvArchitecture``
        or a user's object with the contract of ``sklearn_ae._architectures``).
    n_conditions : int, default=0
        Width of the condition given to the trunk and appended to the codes.
    corruption : nn.Module or None, default=None
        Applied to the input in training mode only (denoising VAE).
    prior : nn.Module or None, default=None
        The prior p(z) (see ``sklearn_ae._priors``); standard normal if None.
    n_classes : int, default=0
        Above 0, a classifier q(y|x) with that many classes beside the encoder
        (a trunk of the same architecture and a linear layer of logits), for
        semi-supervised training (the M2 model).
    max_log_variance : float or None, default=None
        An upper bound on the posterior's log-variances, approached smoothly
        (``committed_rate``: see ``sklearn_ae._priors.committed_log_variance``).
    autoregressive : {"gaussian", "bernoulli"} or None, default=None
        A likelihood's name builds the architecture's masked autoregressive
        decoder (``sklearn_ae._autoregressive.autoregressive_decoder``: MADE for
        an MLP, PixelCNN for convolutions), fed back through that likelihood's
        mean; None builds the architecture's own decoder, whose features are
        independent given z.
    factor_dims : tuple of int or None, default=None
        Units per known factor of variation, from unit 0 (the inverse-graphics
        network); the units after them are free.
    linear_path : bool, default=False
        Add a linear map of the input to the posterior mean and of the code to
        the decoder's output (a factorized decoder's only);
        :meth:`init_linear_path_from_ppca` then makes the network start as
        probabilistic PCA.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ae._architectures import MLPArchitecture
    >>> vae = VariationalAutoencoder(10, 2, MLPArchitecture((8,)), n_conditions=3)
    >>> mean, logvar = vae(torch.zeros(5, 10), torch.eye(3)[[0, 1, 2, 0, 1]])
    >>> mean.shape, vae.decode(torch.zeros(4, 5, 2), torch.zeros(5, 3)).shape
    (torch.Size([5, 2]), torch.Size([4, 5, 10]))
    """

    def __init__(
        self,
        n_features,
        n_components,
        architecture,
        n_conditions=0,
        corruption=None,
        prior=None,
        n_classes=0,
        max_log_variance=None,
        autoregressive=None,
        factor_dims=None,
        linear_path=False,
    ):
        super().__init__()
        self.n_components = n_components
        self.factor_dims = factor_dims
        self.max_log_variance = max_log_variance
        self.corruption = corruption if corruption is not None else nn.Identity()
        self.trunk, width = architecture.trunk(n_features, n_conditions)
        self.posterior = nn.Linear(width, 2 * n_components)
        if autoregressive is None:
            self.decoder = architecture.decoder(n_components + n_conditions, n_features)
        else:
            self.decoder = autoregressive_decoder(
                architecture, n_components + n_conditions, n_features, autoregressive
            )
        self.prior = prior if prior is not None else StandardNormalPrior(n_components)
        self.linear_encoder = nn.Linear(n_features, n_components) if linear_path else None
        self.linear_decoder = nn.Linear(n_components, n_features) if linear_path else None
        self.classifier_trunk, self.classifier_logits = None, None
        if n_classes:
            self.classifier_trunk, width = architecture.trunk(n_features, 0)
            self.classifier_logits = nn.Linear(width, n_classes)

    def classify(self, x):
        """Logits of q(y|x), of shape (n, n_classes)."""
        return self.classifier_logits(self.classifier_trunk(x, None))

    def posterior_parameters(self, x, condition=None):
        """Mean and log-variance of q(z|x), each of shape (n, n_components)."""
        mean, logvar = self.posterior(self.trunk(x, condition)).chunk(2, dim=-1)
        if self.linear_encoder is not None:
            mean = mean + self.linear_encoder(x)
        if self.max_log_variance is not None:
            # A smooth min(logvar, bound), strictly below the bound, with a gradient everywhere.
            logvar = self.max_log_variance - F.softplus(self.max_log_variance - logvar)
        return mean, logvar

    def encode(self, x, condition=None):
        """Posterior mean: the deterministic code used by ``transform``."""
        return self.posterior_parameters(x, condition)[0]

    def inference_parameters(self):
        """The encoder's parameters (trunk, posterior layer and linear path), without the
        generative model's."""
        linear = [] if self.linear_encoder is None else self.linear_encoder.parameters()
        return [*self.trunk.parameters(), *self.posterior.parameters(), *linear]

    def init_linear_path_from_ppca(self, components, variances, noise_variance, mean):
        """Start as probabilistic PCA (Tipping & Bishop, 1999), with its exact posterior.

        With the principal axes U (``components``, n_axes x n_features), their
        ``variances`` lambda and the isotropic ``noise_variance`` s2, the
        decoder starts as ``z -> U^T diag(a) z + mean`` with
        ``a = sqrt(max(lambda - s2, 0))``, and the posterior as PPCA's:
        mean ``diag(a / lambda) U (x - mean)``, variances ``s2 / lambda``
        (at most 1); an axis with no more variance than s2 starts as the
        prior. Units beyond the axes start at the prior too. With a Gaussian
        likelihood whose variances start at s2 (> 0) and a standard normal
        prior, every importance weight p(x|z) p(z) / q(z|x) is then PPCA's
        likelihood of the row: the ELBO is PPCA's log-likelihood.
        """
        # At least s2, so that axes without variance (constant data) divide by s2, not 0.
        variances = torch.as_tensor(variances, dtype=torch.float32).clamp(min=noise_variance)
        scale = (variances - noise_variance).sqrt()
        components = torch.as_tensor(components, dtype=torch.float32)
        encoder_weight = (scale / variances)[:, None] * components
        decoder_weight = (scale[:, None] * components).T
        branches = (self.posterior, self.decoder)
        _start_linear_path(self, encoder_weight, decoder_weight, mean, branches)
        with torch.no_grad():
            logvar = self.posterior.bias[self.n_components :]
            logvar[: len(variances)] = (noise_variance / variances).log().to(logvar.device)

    def decode(self, z, condition=None, x=None, draw=None):
        """Decoder output for codes z of shape (..., n, n_components).

        An autoregressive decoder reads the rows ``x`` it scores (one pass);
        without them it generates the rows feature by feature, feeding each
        feature's mean, or with ``draw`` (a function of the outputs) a draw.
        """
        code = append_condition(z, condition)
        if not getattr(self.decoder, "autoregressive", False):
            out = self.decoder(code)
            return out if self.linear_decoder is None else out + self.linear_decoder(z)
        if x is None:
            return self.decoder.generate(code, draw)
        return self.decoder(code, x)

    def forward(self, x, condition=None, factor_groups=None):
        mean, logvar = self.posterior_parameters(self.corruption(x), condition)
        if factor_groups is None or not self.training or self.factor_dims is None:
            return mean, logvar
        clamp = clamped_units(factor_groups[:, 1], self.factor_dims, self.n_components)
        # Means and log-variances clamped alike, in one pass over the groups.
        both = torch.cat([mean, logvar], dim=1)
        both = clamp_to_group_mean(both, factor_groups[:, 0], clamp.repeat(1, 2))
        return both.chunk(2, dim=1)
