"""Greedy layer-wise pretraining of a stacked autoencoder (Hinton & Salakhutdinov, 2006).

Pretraining is an initialisation: it sets the weights of a freshly built
network and keeps its own record (``pretrain_history_`` of the estimator), so
the net's history and every epoch number a user sees count fine-tuning only.
"""

import torch

from ._architectures import MLPArchitecture
from ._data import TensorDataset
from ._likelihoods import SquaredError
from ._modules import Autoencoder
from ._objectives import ReconstructionObjective
from ._session import make_net, settle_after_training


def _dense_layer_pairs(module):
    """(encoder layer, decoder layer) pairs of a dense autoencoder, outermost first."""
    encoder = [m for m in module.trunk.modules() if isinstance(m, torch.nn.Linear)]
    encoder.append(module.code[0])
    decoder = [m for m in module.decoder.modules() if isinstance(m, torch.nn.Linear)]
    return list(zip(encoder, decoder[::-1], strict=True))


def pretrain_greedily(net, X, record, *, settings, activation, epochs):
    """Train one shallow autoencoder per encoder layer and copy its weights into ``net``.

    Layer 1 learns to reconstruct X; each further layer learns to reconstruct
    the codes of the one before, with the plain squared error (no noise or
    penalties), for ``epochs`` epochs each.

    Parameters
    ----------
    net : ObjectiveNet
        Initialised net of a dense :class:`~sklearn_ae._modules.Autoencoder`.
    X : ndarray of shape (n_samples, n_features)
        Training data.
    record : list
        Receives one dict per pretraining epoch: ``layer``, ``epoch``,
        ``train_loss`` and ``dur`` (seconds), also when the user interrupts.

    Raises
    ------
    KeyboardInterrupt
        When the user interrupted a layer's training (skorch swallows it).

    Other Parameters
    ----------------
    settings : TrainingSettings
        Optimizer, learning rate, batch size and verbosity of each layer's training.
    activation : str
        Activation of the hidden layers (a key of ``ACTIVATIONS``).
    epochs : int
        Epochs of each layer's training.
    """
    pairs = _dense_layer_pairs(net.module_)
    code_activation = net.module_.code_activation
    inputs = torch.tensor(X, dtype=torch.float32, device=net.device)
    for depth, (encoder, decoder) in enumerate(pairs, start=1):
        is_code = depth == len(pairs)
        shallow = make_net(
            settings,
            Autoencoder,
            {
                "n_features": encoder.in_features,
                "n_components": encoder.out_features,
                "architecture": MLPArchitecture((), activation),
                "code_activation": code_activation if is_code else activation,
            },
            SquaredError(),
            ReconstructionObjective(),
            device=net.device,
            max_epochs=epochs,
        ).fit(TensorDataset(inputs))
        interrupted = settle_after_training(shallow, epochs, validated=False)
        encoder.load_state_dict(shallow.module_.code[0].state_dict())
        decoder.load_state_dict(shallow.module_.decoder[0].state_dict())
        record += [
            {
                "layer": depth,
                "epoch": row["epoch"],
                "train_loss": row["train_loss"],
                "dur": row["dur"],
            }
            for row in shallow.history
        ]
        if interrupted:
            raise KeyboardInterrupt
        with torch.no_grad():
            inputs = shallow.module_.eval().encode(inputs)


# ``pretrain=...`` of the autoencoder.
PRETRAINING = {"greedy": pretrain_greedily}
