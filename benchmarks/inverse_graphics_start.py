"""Does the inverse-graphics objective keep a code whose units follow the factors?

The DC-IGN of ``inverse_graphics.py`` is started from its random start, and from an encoder
trained on the factors themselves, whose units already follow them. If training then
keeps that code, a better start (or a better optimizer) is what the random start lacks; if it
moves away from it, and the code held in place scores a higher loss than the codes training
finds, the objective itself prefers another code.

Data: ``make_sprites(6000, random_state=0)`` over the full turn, and the same with
``rotation_range="quarter"``, whose images tell every factor; the 80/20 split (random_state 0)
of ``inverse_graphics.py``. For each kind of sprites and seed:

- random start: ``VAETransformer(7, likelihood="bernoulli", factor_dims=(1, 1, 1, 1, 1),
  max_iter=130, random_state=seed)`` fitted with the training rows' factors: as many epochs
  as the supervised start below gives its decoder;
- supervised start: the same network (``init="random"``, built by one epoch of ``fit``), its
  encoder trained for 100 epochs (Adam, learning rate 1e-3, batches of 64) to put each
  factor, standardized, in its own unit's posterior mean (the rotation as the angle every
  shape shows alike: the rotation within a quarter turn), the free units' means at 0 and
  every log-variance at -3; then 30 epochs of the DC-IGN objective with the encoder frozen,
  so the decoder learns to read that code; then 100 epochs of the DC-IGN objective for the
  whole network (``warm_start=True``);
- supervised code held: the same supervised start, then 130 epochs of the DC-IGN objective
  with the encoder's posterior means held where the factors put them (its trunk frozen, the
  means' part of its last layer put back after every batch); the decoder and the posterior
  variances train. Its training loss is what the objective makes of that code.

Measures on the test rows: the MIG and each factor's gap, the test NLL bound (minus the test
ELBO), each unit's KL and each unit's share of the shape's entropy
(``sklearn_ae.metrics.factor_information``). On the training rows, whose codes the training
loss scores: the MIG, and the training loss (minus the bound with clamped units, mean of the
last five epochs; the pull towards the group means acts on the gradient only and is not part
of it). Every epoch's time and loss are written. Writes
benchmarks/results/inverse_graphics_start.md.

    python benchmarks/inverse_graphics_start.py
    python benchmarks/inverse_graphics_start.py --seeds 0 --kinds quarter
"""

import argparse
import time

import numpy as np
import torch
from _report import markdown_table, write_result
from inverse_graphics import FACTOR_DIMS, epoch_log, factor_gaps
from sklearn.model_selection import train_test_split
from skorch.callbacks import Callback

from sklearn_ae import VAETransformer
from sklearn_ae._factor_groups import PULL_WEIGHT
from sklearn_ae.datasets import make_sprites
from sklearn_ae.metrics import factor_information, kl_per_dimension

ENCODER_EPOCHS, DECODER_EPOCHS, JOINT_EPOCHS = 100, 30, 100


def factor_targets(factors):
    """Each factor standardized, the rotation taken within a quarter turn (what every shape
    shows alike: a square looks the same a quarter turn on)."""
    targets = factors.copy()
    targets[:, 2] = np.mod(targets[:, 2], np.pi / 2)
    return (targets - targets.mean(axis=0)) / targets.std(axis=0)


def train_encoder_on_factors(model, X, factors, seed):
    """Fit the encoder's posterior means to the factors, one unit each (free units at 0,
    log-variances at -3); return the last epoch's mean squared error and each epoch's time."""
    module = model.net_.module_
    n_factors = factors.shape[1]
    rows = torch.tensor(X, dtype=torch.float32)
    targets = torch.tensor(factor_targets(factors), dtype=torch.float32)
    optimizer = torch.optim.Adam(module.inference_parameters(), lr=1e-3)
    torch.manual_seed(seed)
    module.train()
    seconds = []
    for _ in range(ENCODER_EPOCHS):
        start, total = time.perf_counter(), 0.0
        for batch in torch.randperm(len(rows)).split(64):
            mean, logvar = module.posterior_parameters(rows[batch])
            loss = (
                (mean[:, :n_factors] - targets[batch]).square().mean()
                + mean[:, n_factors:].square().mean()
                + (logvar + 3).square().mean()
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        seconds.append(time.perf_counter() - start)
    module.eval()
    return total / len(rows), seconds


def measure(name, seed, model, split):
    """A table row: the test codes' MIG, gaps, bound, KL and shares of the shape, the training
    codes' MIG and the training loss."""
    X_train, X_test, f_train, f_test = split
    codes = model.transform(X_test)
    gaps = factor_gaps(codes, f_test)
    shape_share = factor_information(codes, f_test)[:, 0]
    return [
        name,
        seed,
        f"{np.mean(gaps):.3f}",
        *(f"{g:.3f}" for g in gaps),
        f"{np.mean(factor_gaps(model.transform(X_train), f_train)):.3f}",
        f"{-model.score(X_test):.2f}",
        f"{np.mean(model.loss_curve_[-5:]):.2f}",
        " / ".join(f"{kl:.2f}" for kl in kl_per_dimension(model, X_test)),
        " / ".join(f"{s:.2f}" for s in shape_share),
    ]


class HoldPosteriorMeans(Callback):
    """Puts the rows of the encoder's last layer that give the posterior means back after every
    batch, once :meth:`hold` has saved them: with the trunk frozen, every row's code stays."""

    def __init__(self):
        self.saved = None

    def hold(self, module):
        n = module.n_components
        self.saved = [p.detach()[:n].clone() for p in module.posterior.parameters()]

    def on_batch_end(self, net, **kwargs):
        if self.saved is None:
            return
        with torch.no_grad():
            for parameter, saved in zip(
                net.module_.posterior.parameters(), self.saved, strict=True
            ):
                parameter[: len(saved)] = saved


def supervised_start(seed, common, X_train, f_train, callbacks=None):
    """A DC-IGN (``warm_start=True``) built by one epoch, its encoder then trained on the
    factors; and the encoder training's log lines."""
    model = VAETransformer(
        7, max_iter=1, warm_start=True, init="random", callbacks=callbacks, **common
    )
    model.fit(X_train, f_train)
    mse, seconds = train_encoder_on_factors(model, X_train, f_train, seed)
    return model, [
        "- encoder on the factors, seconds of every epoch: "
        + ", ".join(f"{s:.1f}" for s in seconds),
        f"- its loss (squared error of the means, free units and log-variances) in the last "
        f"epoch: {mse:.3f}",
    ]


def start_log(name, model, encoder_log):
    """The epoch log of a supervised start, with its encoder's training first."""
    log = epoch_log(name, model)
    return log[:2] + encoder_log + log[2:]


def set_trainable(parameters, trainable):
    for parameter in parameters:
        parameter.requires_grad_(trainable)


def run(kind, seed, split):
    """Table rows and epoch logs of the three starts on one kind of sprites."""
    X_train, _, f_train, _ = split
    rows, logs = [], []
    common = dict(likelihood="bernoulli", factor_dims=FACTOR_DIMS, random_state=seed)
    epochs = DECODER_EPOCHS + JOINT_EPOCHS
    model = VAETransformer(7, max_iter=epochs, **common)
    model.fit(X_train, f_train)
    rows.append(measure("random start", seed, model, split))
    logs += epoch_log(f"{kind}, random start, seed {seed}", model)

    model, encoder_log = supervised_start(seed, common, X_train, f_train)
    encoder = model.net_.module_.inference_parameters()
    set_trainable(encoder, False)
    model.set_params(max_iter=DECODER_EPOCHS).fit(X_train, f_train)
    set_trainable(encoder, True)
    rows.append(measure("supervised start", seed, model, split))
    model.set_params(max_iter=JOINT_EPOCHS).fit(X_train, f_train)
    rows.append(measure("supervised start, then trained", seed, model, split))
    # One history: epoch 1 builds the network, then the frozen encoder's epochs, then the rest.
    name = f"{kind}, supervised start (epoch 1: built; 2-{DECODER_EPOCHS + 1}: decoder only)"
    logs += start_log(f"{name}, then trained, seed {seed}", model, encoder_log)

    hold = HoldPosteriorMeans()
    model, encoder_log = supervised_start(seed, common, X_train, f_train, [("hold", hold)])
    set_trainable(model.net_.module_.trunk.parameters(), False)
    hold.hold(model.net_.module_)
    model.set_params(max_iter=epochs).fit(X_train, f_train)
    rows.append(measure("supervised code held", seed, model, split))
    name = f"{kind}, supervised code held (epoch 1: built), seed {seed}"
    logs += start_log(name, model, encoder_log)
    for row in rows:
        print(kind, *row, flush=True)
    return rows, logs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--kinds", default="full,quarter", help="rotation ranges, comma-separated")
    args = parser.parse_args()
    header = ["code", "seed", "MIG", "gap shape", "gap scale", "gap rotation", "gap x", "gap y"]
    header += ["MIG, training rows", "test NLL bound", "training loss", "KL of units 1-7"]
    header += ["share of the shape"]
    body, logs = [], []
    for kind in args.kinds.split(","):
        X, factors = make_sprites(6000, rotation_range=kind, random_state=0)
        split = train_test_split(X, factors, test_size=0.2, random_state=0)
        rows = []
        for seed in [int(s) for s in args.seeds.split(",")]:
            seed_rows, seed_logs = run(kind, seed, split)
            rows += seed_rows
            logs += seed_logs
        data = "" if kind == "full" else f"rotation_range={kind!r}, "
        body += [f"## make_sprites(6000, {data}random_state=0)", ""]
        body += [*markdown_table(header, rows), ""]
    intro = (
        "The DC-IGN of inverse_graphics.py (VAETransformer(7, likelihood='bernoulli', "
        f"factor_dims=(1, 1, 1, 1, 1)); the clamp's pull weight PULL_WEIGHT = {PULL_WEIGHT:g}) "
        f"from its random start ({DECODER_EPOCHS + JOINT_EPOCHS} epochs), and from an encoder "
        f"trained {ENCODER_EPOCHS} epochs to put each factor in its own unit (the rotation "
        f"within a quarter turn) and a decoder trained {DECODER_EPOCHS} epochs to read it "
        f"(*supervised start*), then {JOINT_EPOCHS} epochs of the objective for the whole "
        "network (*then trained*), or the same start's posterior means held in place for "
        f"{DECODER_EPOCHS + JOINT_EPOCHS} epochs while the decoder and the posterior variances "
        "train (*supervised code held*). 80/20 split; MIG and gaps on the test codes (20 bins), "
        "and the MIG of the training rows' codes; "
        "test NLL bound: minus the test ELBO, in nats; training loss: minus the bound with "
        "clamped units (without the pull, which acts on the gradient only), mean of the last "
        "five epochs; KL of each unit (shape, scale, rotation, x, y, then the two "
        "free units) on the test rows, in nats; each unit's share of the shape's entropy "
        "on the test rows (units 1-7)."
    )
    body = [intro, "", *body, "## Epochs", "", *logs]
    title = "Inverse-graphics network: does the objective keep a code that follows the factors?"
    print(write_result("inverse_graphics_start", title, body))


if __name__ == "__main__":
    main()
