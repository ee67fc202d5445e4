"""Why the inverse-graphics network's shape and rotation units stay empty: what those factors
are worth to a decoder, whether an encoder can read them, a DC-IGN without rotation, one
trained longer, where the shape's information goes, which shapes' rotations the codes read, and
whether the clamp's invariance holds on unseen rows.

Data: ``make_sprites(6000, random_state=0)``, the 80/20 split (random_state 0) of
``inverse_graphics.py``. Seven measurements:

- a supervised decoder: an MLP with the VAE decoder's layer sizes (256, 512), trained for
  100 epochs (Adam, learning rate 1e-3, batches of 128, seed 0) to map the training rows'
  true factors (shape one-hot, scale, cosine and sine of the rotation, x, y) to their images
  under the Bernoulli likelihood; its test NLL with every factor given, and with shape,
  rotation or both withheld (their inputs set to 0): what each factor is worth, in nats a row,
  to a decoder that knows the others exactly;
- a supervised encoder: ``MLPClassifier((512, 256))``, the VAE encoder's layer sizes, reading
  the shape from the training images; its test accuracy;
- the DC-IGN of ``inverse_graphics.py`` (seed 0, 100 epochs) on the same factors with every
  rotation set to 0 and the images rendered again: does the shape unit carry its factor when
  rotation cannot hide it?
- the DC-IGN of ``inverse_graphics.py`` (seed 0) trained three times as long, 300 epochs, at
  the default learning rate and at 3e-4: does longer training fill the shape and rotation
  units?
- where the shape's information goes in the DC-IGN of ``inverse_graphics.py`` (seed 0, 100
  epochs) and in the upright one: each unit's share of each factor's entropy
  (``sklearn_ae.metrics.factor_information``), and how well a logistic regression and a small
  MLP read the shape from the pixels, from the trained encoder's last hidden layer, from the
  code and from the code of the same VAE trained without factors (nothing clamped), with both
  test bounds;
- which shapes' rotations the codes read: on new sprites, for each shape, the rotation unit's
  share of the rotation as that shape shows it (a square repeats every quarter turn, an ellipse
  every half turn), for the DC-IGN above, for one trained with factor floors on linked
  quarter-turn sprites (``inverse_graphics_quarter_linked_factor_floor.md``, seed 0), and for
  the supervised CNN reader of ``inverse_graphics.py`` on each kind of sprites; and the MIG of
  the same codes on those new sprites, which share no group with the training rows;
- whether the clamp's invariance holds on unseen rows: for the groups that vary each factor,
  in the training rows and in the test rows, each unit's variance within its group as a share
  of its variance over all rows, for the same DC-IGN, and how much of the varying factor's
  own unit's moves within those groups the factor's value explains the same way in every group,
  and what those moves are worth to the decoder.

Writes benchmarks/results/inverse_graphics_worth.md.

    python benchmarks/inverse_graphics_worth.py
"""

import time

import numpy as np
import torch
from _report import markdown_table, write_result
from inverse_graphics import (
    FACTOR_DIMS,
    FACTORS,
    epoch_log,
    factor_gaps,
    grid_indices,
    supervised_codes,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ae import VAETransformer
from sklearn_ae._factor_groups import PULL_WEIGHT, one_factor_groups
from sklearn_ae._sprites import SHAPES, render
from sklearn_ae.datasets import make_sprites
from sklearn_ae.metrics import factor_information, kl_per_dimension

WITHHELD = [(), ("shape",), ("rotation",), ("shape", "rotation")]
# Steps of the rotation grid (40 a turn) after which each shape in SHAPES looks the same again.
SHAPE_PERIODS = (10, 20, 40)
# New sprites, drawn one at a time, on which the rotation reads are measured: enough rows of
# each shape that the 20-bin estimate of a unit's information is not mostly its bias.
NEW_SPRITES = 30_000
FACTOR_FLOORS = (1, 1, 1, 1, 1, 0, 0)
LONG_EPOCHS = 300
# The units of a DC-IGN with factor_dims=FACTOR_DIMS and 7 units, in order.
UNITS = (*FACTORS, "free", "free")
# The variance of a unit's codes below which sklearn_ae.metrics.active_units calls it inactive.
ACTIVE_VARIANCE = 0.01
LEARNING_RATES = (1e-3, 3e-4)


def decoder_inputs(factors, withheld):
    """The true factors as a decoder's input; withheld factors' columns are 0."""
    columns = {
        "shape": np.eye(3)[factors[:, 0].astype(int)],
        "scale": factors[:, [1]],
        "rotation": np.column_stack([np.cos(factors[:, 2]), np.sin(factors[:, 2])]),
        "x": factors[:, [3]],
        "y": factors[:, [4]],
    }
    inputs = [value * (name not in withheld) for name, value in columns.items()]
    return torch.tensor(np.column_stack(inputs), dtype=torch.float32)


def supervised_decoder_nll(X_train, f_train, X_test, f_test, withheld, epochs=100, seed=0):
    """Test NLL (nats a row) of an MLP decoder trained on the true factors but ``withheld``."""
    torch.manual_seed(seed)
    inputs = decoder_inputs(f_train, withheld)
    net = torch.nn.Sequential(
        torch.nn.Linear(inputs.shape[1], 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 512),
        torch.nn.ReLU(),
        torch.nn.Linear(512, X_train.shape[1]),
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    images = torch.tensor(X_train, dtype=torch.float32)

    def nll(logits, target):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="sum")
        return loss / len(target)

    for _ in range(epochs):
        for batch in torch.randperm(len(images)).split(128):
            loss = nll(net(inputs[batch]), images[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        test = decoder_inputs(f_test, withheld)
        return nll(net(test), torch.tensor(X_test, dtype=torch.float32)).item()


def fit_dcign(X, factors, **params):
    """The DC-IGN of ``inverse_graphics.py`` (seed 0) fitted on ``X``, and its fit time."""
    model = VAETransformer(
        7, likelihood="bernoulli", factor_dims=FACTOR_DIMS, random_state=0, **params
    )
    start = time.perf_counter()
    model.fit(X, factors)
    return model, time.perf_counter() - start


def hidden_layer(model, X):
    """The encoder's last hidden layer for the rows ``X`` (the input of the posterior layer)."""
    module = model.net_.module_.eval()
    with torch.no_grad():
        return module.trunk(torch.tensor(X, dtype=torch.float32), None).numpy()


def shape_reads(train, test, shapes_train, shapes_test):
    """Test accuracy of a linear and of a small nonlinear reader of the shape (standardized)."""
    readers = [
        LogisticRegression(max_iter=2000),
        MLPClassifier((64, 64), max_iter=500, random_state=0),
    ]
    return [
        make_pipeline(StandardScaler(), reader).fit(train, shapes_train).score(test, shapes_test)
        for reader in readers
    ]


def information_rows(model, X_test, factors_test):
    """factor_information of the model's test codes, a row per unit named after its factor."""
    information = factor_information(model.transform(X_test), factors_test)
    rows = zip(UNITS, information, strict=True)
    return [[unit, *(f"{v:.2f}" for v in values)] for unit, values in rows]


def visible_rotation(factors):
    """Each row's rotation as its shape shows it: the grid step modulo the shape's period."""
    return grid_indices(factors)[:, 2] % np.take(SHAPE_PERIODS, factors[:, 0].astype(int))


def rotation_read_row(name, codes, factors):
    """For each shape, the rotation unit's share of the shape's visible rotation, and the
    largest share among the other units, from factor_information on that shape's rows."""
    rotation_unit = FACTORS.index("rotation")
    visible = visible_rotation(factors)
    cells = []
    for s in range(len(SHAPES)):
        member = factors[:, 0] == s
        shares = factor_information(codes[member], visible[member, None])[:, 0]
        cells.append(f"{shares[rotation_unit]:.2f} ({np.delete(shares, rotation_unit).max():.2f})")
    return [name, *cells]


def new_sprite_rows(dcign, X_train, f_train, rotation_range, sprites):
    """The supervised CNN reader (trained on the same rows) and ``dcign`` on NEW_SPRITES new
    sprites drawn with ``rotation_range``: a rotation_read_row and a row of MIG and gaps each."""
    X_new, f_new = make_sprites(
        NEW_SPRITES, group_size=1, rotation_range=rotation_range, random_state=1
    )
    rotation_rows, gap_rows = [], []
    for name, codes in [
        ("supervised CNN reader", supervised_codes(X_train, f_train, X_new)),
        ("DC-IGN", dcign.transform(X_new)),
    ]:
        rotation_rows.append(rotation_read_row(f"{name}, {sprites}", codes, f_new))
        gaps = factor_gaps(codes, f_new)
        gap_rows.append([f"{name}, {sprites}", f"{np.mean(gaps):.3f}", *(f"{g:.3f}" for g in gaps)])
    return rotation_rows, gap_rows


def _deviation_from_means(values, labels):
    """``values`` (rows x columns) minus their mean over the rows that share a label."""
    _, index = np.unique(labels, return_inverse=True)
    sums = np.zeros((index.max() + 1, values.shape[1]))
    np.add.at(sums, index, values)
    return values - (sums / np.bincount(index)[:, None])[index]


def _one_hot(labels):
    _, index = np.unique(labels, return_inverse=True)
    return np.eye(index.max() + 1)[index]


def _explained_within_groups(unit, groups, values):
    """Share of ``unit``'s variance within its groups that an effect of each factor value, the
    same in every group, explains: least squares on group indicators, then on group and value
    indicators."""
    by_group = _one_hot(groups)
    by_both = np.hstack([by_group, _one_hot(values)])

    def residual(design):
        coefficients = np.linalg.lstsq(design, unit, rcond=None)[0]
        return ((unit - design @ coefficients) ** 2).sum()

    return 1 - residual(by_both) / residual(by_group)


def decoder_nll(model, codes, X):
    """Mean Bernoulli NLL, in nats a row, of the rows ``X`` decoded from ``codes``."""
    module = model.net_.module_.eval()
    with torch.no_grad():
        logits = module.decode(torch.tensor(codes, dtype=torch.float32))
        target = torch.tensor(X, dtype=torch.float32)
        nll = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return nll.sum(dim=1).mean().item()


def within_group_rows(model, X, factors):
    """For the groups of ``X`` varying each factor, with the model's codes: each unit's variance
    within them, as a share of its variance over all rows (0: the unit is constant within every
    group); the share of the factor's own unit's variance within them that the factor's value
    explains (1: the unit moves with the factor the same way in every group), beside the same
    for a unit of noise (what chance explains with as many groups and values); and the rows'
    NLL decoded with every unit at its group mean but the factor's own, and with that one at
    its group mean too (what the unit's moves are worth). A row per factor."""
    codes = model.transform(X)
    total = codes.var(axis=0)
    noise = np.random.default_rng(0)
    rows = []
    memberships = one_factor_groups(factors)
    for k, name in enumerate(FACTORS):
        member, group, _ = memberships[memberships[:, 2] == k].T
        deviation = _deviation_from_means(codes[member], group)
        # An inactive unit's variance is near 0, so its shares would only measure noise.
        shares = (deviation**2).mean(axis=0) / np.where(total > ACTIVE_VARIANCE, total, np.nan)
        explained = [
            _explained_within_groups(unit, group, factors[member, k])
            for unit in (codes[member, k], noise.standard_normal(len(member)))
        ]
        explained[0] = explained[0] if total[k] > ACTIVE_VARIANCE else np.nan
        clamped = codes[member] - deviation
        own = clamped.copy()
        own[:, k] = codes[member, k]
        nll = [decoder_nll(model, c, X[member]) for c in (own, clamped)]
        label = f"{name} ({len(member)} rows)"
        cells = ("-" if np.isnan(v) else f"{v:.2f}" for v in [*shares, *explained, *nll])
        rows.append([label, *cells])
    return rows


def main():
    X, factors = make_sprites(6000, random_state=0)
    X_train, X_test, f_train, f_test = train_test_split(X, factors, test_size=0.2, random_state=0)

    decoder_rows = []
    for withheld in WITHHELD:
        nll = supervised_decoder_nll(X_train, f_train, X_test, f_test, withheld)
        decoder_rows.append([", ".join(withheld) or "none", f"{nll:.2f}"])
        print(*decoder_rows[-1], flush=True)

    shapes_train, shapes_test = f_train[:, 0].astype(int), f_test[:, 0].astype(int)
    reader = MLPClassifier((512, 256), max_iter=200, early_stopping=True, random_state=0)
    accuracy = reader.fit(X_train, shapes_train).score(X_test, shapes_test)
    print("shape read at", accuracy, flush=True)

    unturned = factors.copy()
    unturned[:, 2] = 0.0
    U_train, U_test, u_train, u_test = train_test_split(
        render(unturned, 32), unturned, test_size=0.2, random_state=0
    )
    model, seconds = fit_dcign(U_train, u_train, max_iter=100)
    learned = [k for k, name in enumerate(FACTORS) if name != "rotation"]
    gaps = factor_gaps(model.transform(U_test), u_test[:, learned])
    dcign_row = [*(f"{gap:.3f}" for gap in gaps), f"{-model.score(U_test):.2f}"]
    dcign_row += [" / ".join(f"{kl:.2f}" for kl in kl_per_dimension(model, U_test))]
    dcign_row += [f"{seconds:.0f}"]
    print(*dcign_row, flush=True)

    upright_information = information_rows(model, U_test, u_test[:, learned])

    dcign, dcign_seconds = fit_dcign(X_train, f_train, max_iter=100)
    dcign_information = information_rows(dcign, X_test, f_test)
    # The same network and bound with nothing clamped: does the clamp cost the code its shape?
    unclamped = VAETransformer(7, likelihood="bernoulli", random_state=0, max_iter=100)
    unclamped.fit(X_train)
    reads = {
        "pixels": (X_train, X_test),
        "the DC-IGN encoder's last hidden layer": (
            hidden_layer(dcign, X_train),
            hidden_layer(dcign, X_test),
        ),
        "the DC-IGN's 7-unit code": (dcign.transform(X_train), dcign.transform(X_test)),
        "the 7-unit code of the same VAE trained without factors": (
            unclamped.transform(X_train),
            unclamped.transform(X_test),
        ),
    }
    read_rows = [
        [name, *(f"{a:.3f}" for a in shape_reads(*features, shapes_train, shapes_test))]
        for name, features in reads.items()
    ]
    print(*dcign_information, *read_rows, sep="\n", flush=True)
    rotation_rows, new_gap_rows = new_sprite_rows(
        dcign, X_train, f_train, "full", "default sprites"
    )
    Q, q = make_sprites(6000, linked=True, rotation_range="quarter", random_state=0)
    Q_train, _, q_train, _ = train_test_split(Q, q, test_size=0.2, random_state=0)
    floored, _ = fit_dcign(Q_train, q_train, max_iter=100, free_bits=FACTOR_FLOORS)
    quarter_rotation_rows, quarter_gap_rows = new_sprite_rows(
        floored, Q_train, q_train, "quarter", "linked quarter-turn sprites, factor floors"
    )
    rotation_rows += quarter_rotation_rows
    new_gap_rows += quarter_gap_rows
    print(*rotation_rows, *new_gap_rows, sep="\n", flush=True)
    invariance = {
        name: within_group_rows(dcign, rows, row_factors)
        for name, rows, row_factors in [("training", X_train, f_train), ("test", X_test, f_test)]
    }
    print(*invariance["training"], *invariance["test"], sep="\n", flush=True)

    long_rows, long_logs = [], []
    for learning_rate in LEARNING_RATES:
        long_model, seconds = fit_dcign(
            X_train, f_train, max_iter=LONG_EPOCHS, learning_rate=learning_rate
        )
        gaps = factor_gaps(long_model.transform(X_test), f_test)
        losses = long_model.loss_curve_
        long_rows.append(
            [f"{learning_rate:g}", f"{np.mean(gaps):.3f}", *(f"{gap:.3f}" for gap in gaps)]
            + [f"{-long_model.score(X_test):.2f}"]
            + [f"{losses[epoch - 1]:.2f}" for epoch in (100, 200, 300)]
            + [f"{min(losses):.2f} (epoch {int(np.argmin(losses)) + 1})", f"{seconds:.0f}"]
        )
        print(*long_rows[-1], flush=True)
        long_logs += epoch_log(f"DC-IGN, learning rate {learning_rate:g}, seed 0", long_model)

    body = [
        f"make_sprites(6000, random_state=0), {len(X_train)} training and {len(X_test)} test "
        "rows (the split of inverse_graphics.md); every DC-IGN clamps with the pull weight "
        f"PULL_WEIGHT = {PULL_WEIGHT:g}.",
        "",
        "## What each factor is worth to a decoder",
        "",
        "An MLP decoder with the VAE decoder's layer sizes (256, 512), trained 100 epochs (Adam, "
        "learning rate 1e-3, batches of 128, seed 0) on the training rows' true factors (shape "
        "one-hot, scale, cosine and sine of the rotation, x, y); withheld factors' inputs are 0. "
        "Test NLL under the Bernoulli likelihood, in nats a row.",
        "",
        *markdown_table(["withheld factors", "test NLL"], decoder_rows),
        "",
        "## Whether an encoder can read the shape",
        "",
        "MLPClassifier((512, 256), early_stopping=True, random_state=0), the VAE encoder's layer "
        "sizes, trained on the training images and their shapes: test accuracy "
        f"{accuracy:.3f} (a third by chance).",
        "",
        "## The DC-IGN with every rotation 0",
        "",
        "The same factors with rotation set to 0 and the images rendered again; "
        "VAETransformer(7, likelihood='bernoulli', factor_dims=(1, 1, 1, 1, 1), max_iter=100, "
        "random_state=0) fitted with the training rows' factors. Each factor's MIG gap on the "
        "test codes (20 bins), minus the test ELBO, and the KL of each unit (shape, scale, "
        "rotation, x, y, two free units) in nats.",
        "",
        *markdown_table(
            ["gap shape", "gap scale", "gap x", "gap y", "test NLL bound", "KL of units 1-7"]
            + ["fit s"],
            [dcign_row],
        ),
        "",
        "## Longer training",
        "",
        f"The DC-IGN of inverse_graphics.md (seed 0) trained {LONG_EPOCHS} epochs at two "
        "learning rates: MIG and each factor's gap on the test codes, minus the test ELBO, the "
        "training loss (the objective with clamped units, in nats a row) after 100, 200 and 300 "
        "epochs and its lowest.",
        "",
        *markdown_table(
            ["learning rate", "MIG", *(f"gap {f}" for f in FACTORS), "test NLL bound"]
            + ["loss, epoch 100", "epoch 200", "epoch 300", "lowest loss", "fit s"],
            long_rows,
        ),
        "",
        "## Where the shape's information goes",
        "",
        "Each unit's share of each factor's entropy on the test codes "
        "(sklearn_ae.metrics.factor_information, 20 bins): the DC-IGN of inverse_graphics.md "
        f"(seed 0, 100 epochs, fit {dcign_seconds:.0f} s) and the upright one above. A "
        "factor's gap is the difference between the two largest entries of its column.",
        "",
        *markdown_table(["unit", *FACTORS], dcign_information),
        "",
        "The upright DC-IGN (rotation is constant, so it has no column):",
        "",
        *markdown_table(["unit", *(FACTORS[k] for k in learned)], upright_information),
        "",
        "The shape read by a logistic regression and by MLPClassifier((64, 64), max_iter=500, "
        "random_state=0) (standardized inputs, trained on the training rows' shapes) on the test "
        "rows, a third by chance; the last row's VAE is "
        "VAETransformer(7, likelihood='bernoulli', max_iter=100, random_state=0) fitted on the "
        "training images alone, which clamps nothing:",
        "",
        *markdown_table(["read from", "logistic regression", "MLP (64, 64)"], read_rows),
        "",
        f"Minus the test ELBO: {-dcign.score(X_test):.2f} nats a row for the DC-IGN, "
        f"{-unclamped.score(X_test):.2f} for the VAE trained without factors.",
        "",
        "## Which shapes' rotations the codes read",
        "",
        f"On {NEW_SPRITES:,} new sprites drawn one at a time (make_sprites(group_size=1, "
        "random_state=1), with the rotations of the sprites the codes were trained on), for "
        "each shape, the rotation unit's share of the entropy of the rotation as that shape "
        "shows it (its step on the grid of 40 modulo 10 for a square, 20 for an ellipse, 40 "
        "for a heart), from factor_information on that shape's rows (20 bins), and in brackets "
        "the largest share among the other units. The DC-IGN on the default sprites is the one "
        "above; the other is trained on make_sprites(6000, linked=True, "
        "rotation_range='quarter', random_state=0)'s training rows with "
        f"free_bits={FACTOR_FLOORS} (seed 0, 100 epochs), as in "
        "inverse_graphics_quarter_linked_factor_floor.md. The supervised CNN reader is the "
        "reference of inverse_graphics.md, trained on the same training rows; its rotation "
        "unit is the grid value it predicts.",
        "",
        *markdown_table(["codes, trained on", *SHAPES], rotation_rows),
        "",
        "The MIG and each factor's gap of the same codes on the same new sprites (20 bins). The "
        "test rows of inverse_graphics.md come from make_sprites' groups of ten, split at "
        "random, so every one of them shares every factor but one with training rows; these "
        "share no group with them.",
        "",
        *markdown_table(["codes, trained on", "MIG", *(f"gap {f}" for f in FACTORS)], new_gap_rows),
        "",
        "## Whether the clamp's invariance holds on unseen rows",
        "",
        "The same DC-IGN's codes (transform) on the training rows and on the test rows, whose "
        "own one-factor-varies groups are found as fit finds them (the split leaves some of "
        "make_sprites' groups of ten on each side). For the groups that vary each factor: each "
        "unit's variance within its group, as a share of the unit's variance over all rows of "
        "the set. Training clamps every unit but the varying factor's in these groups, so off "
        "the varying factor's own unit a share near 0 means the unit ignores that factor; a "
        "unit whose codes vary by less than 0.01 over the set (inactive, as "
        "sklearn_ae.metrics.active_units counts) shows -, and so does what the factor explains "
        "of an inactive own unit. *Explained by the "
        "factor*: the share of the varying factor's own unit's variance within these groups "
        "that an effect of each of the factor's values, the same in every group, explains "
        "(least squares on group indicators against group and value indicators): 1 when the "
        "unit moves with the factor the same way in every group, near 0 when its moves have "
        "nothing in common from group to group. *By chance*: the same for a unit of standard "
        "normal noise, which the value indicators fit in part when there are few rows a "
        "value. *NLL*: the rows "
        "decoded (Bernoulli NLL in nats a row) from their codes with every unit at its group "
        "mean but the varying factor's own, as training clamps them; *unit at mean*: with that "
        "unit at its group mean too, so the difference is what the unit's moves within the "
        "groups are worth to the decoder.",
        "",
        *(
            line
            for name, rows in invariance.items()
            for line in (
                f"{name.capitalize()} rows:",
                "",
                *markdown_table(
                    [
                        "groups varying",
                        *UNITS,
                        "explained by the factor",
                        "by chance",
                        "NLL",
                        "NLL, unit at mean",
                    ],
                    rows,
                ),
                "",
            )
        ),
        "## Epochs",
        "",
        *epoch_log("DC-IGN, every rotation 0, seed 0", model),
        *long_logs,
    ]
    title = "Inverse-graphics network: what shape and rotation are worth"
    print(write_result("inverse_graphics_worth", title, body))


if __name__ == "__main__":
    main()
