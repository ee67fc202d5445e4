"""Surviving faults: Ctrl-C during fit, checkpoints, resuming after a crash, divergence,
and subnormal floats that would slow training down."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

from sklearn_ae import AutoencoderTransformer, VAETransformer
from sklearn_ae._callbacks import FLUSH_BELOW, SubnormalFlush

SMALL = {
    "n_components": 2,
    "hidden_layer_sizes": (16, 8),
    "max_iter": 8,
    "batch_size": 32,
    "random_state": 0,
    "early_stopping": False,  # every epoch trains; early stopping has tests of its own
}


@pytest.fixture(scope="module")
def X():
    return (load_digits().data[:300] / 16).astype(np.float32)


@pytest.fixture(params=[AutoencoderTransformer, VAETransformer])
def Estimator(request):
    return request.param


class InterruptAt(Callback):
    """Raise KeyboardInterrupt, as Ctrl-C would, in a given training epoch.

    ``when="epoch_end"`` interrupts once the epoch is complete, ``"mid_epoch"``
    after its first batch.
    """

    def __init__(self, epoch, when="mid_epoch"):
        self.epoch = epoch
        self.when = when

    def _due(self, net):
        return len(net.history) == self.epoch

    def on_batch_end(self, net, training=False, **kwargs):
        if training and self.when == "mid_epoch" and self._due(net):
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        if self.when == "epoch_end" and self._due(net):
            raise KeyboardInterrupt


@pytest.mark.parametrize(("when", "kept"), [("mid_epoch", 3), ("epoch_end", 4)])
def test_interrupt_keeps_last_complete_epoch_and_warns(Estimator, X, when, kept):
    est = Estimator(**SMALL, callbacks=[InterruptAt(4, when)])
    with pytest.warns(ConvergenceWarning, match=f"interrupted.*keeps the weights of epoch {kept}"):
        est.fit(X)
    assert est.n_iter_ == kept
    assert len(est.loss_curve_) == kept
    assert np.isfinite(est.transform(X)).all()
    assert est.sample(2, random_state=0).shape == (2, X.shape[1])


def test_interrupt_with_early_stopping_keeps_best_weights(X):
    # A random start, so that a trained epoch is the best (a PCA start may be kept instead).
    params = {**SMALL, "max_iter": 30, "early_stopping": True, "n_iter_no_change": 30}
    params["init"] = "random"
    full = AutoencoderTransformer(**params).fit(X)
    best = int(np.argmax(full.validation_scores_[:6])) + 1
    est = AutoencoderTransformer(**params, callbacks=[InterruptAt(7)])
    with pytest.warns(ConvergenceWarning, match=f"epoch {best}, the best on validation"):
        est.fit(X)
    assert est.n_iter_ == 6
    # A fit that stops after the best epoch ends with that epoch's weights.
    until_best = AutoencoderTransformer(**{**params, "max_iter": best}).fit(X)
    np.testing.assert_array_equal(est.transform(X), until_best.transform(X))


def test_warnings_after_pretraining_name_fine_tuning_epochs(X):
    # Pretraining (3 layers x 5 epochs) once wrote its epochs into the net's history, and an
    # interrupt in fine-tuning epoch 7 was reported as epoch 21.
    params = {**SMALL, "max_iter": 30, "pretrain": "greedy", "pretrain_epochs": 5}
    params.update(early_stopping=True, n_iter_no_change=30, init="auto")
    est = AutoencoderTransformer(**params, callbacks=[InterruptAt(7)])
    with pytest.warns(ConvergenceWarning) as caught:
        est.fit(X)
    assert est.n_iter_ == 6
    message = str(caught[0].message)
    assert "interrupted (KeyboardInterrupt) after 6 epochs" in message
    assert all(1 <= int(n) <= 6 for n in re.findall(r"epoch (\d+)", message))


class _PoisonWeights(Callback):
    """Make the weights NaN at the start of a given epoch, to simulate divergence."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


def test_divergence_keeps_last_good_weights_and_warns(Estimator, X):
    est = Estimator(**{**SMALL, "max_iter": 6}, callbacks=[_PoisonWeights(epoch=3)])
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 3"):
        est.fit(X[:200])
    assert est.n_iter_ == 2
    assert np.isfinite(est.transform(X[:200])).all()
    assert np.isfinite(est.loss_curve_).all()


def test_divergence_after_pretraining_names_the_fine_tuning_epoch(X):
    est = AutoencoderTransformer(
        **{**SMALL, "max_iter": 6},
        pretrain="greedy",
        pretrain_epochs=5,
        callbacks=[_PoisonWeights(epoch=3)],
    )
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 3.*kept the weights of epoch 2"):
        est.fit(X[:200])
    assert est.n_iter_ == 2 and len(est.pretrain_history_) == 3 * 5


def test_divergence_in_first_epoch_raises(Estimator, X):
    est = Estimator(**SMALL, callbacks=[_PoisonWeights(epoch=1)])
    with pytest.raises(ValueError, match="diverged.*Lower learning_rate"):
        est.fit(X[:200])


@pytest.fixture
def python_handles_sigint():
    """Python's own Ctrl-C handler for the test, even where the test run was started with
    SIGINT ignored (a job a non-interactive shell put in the background inherits that, and a
    real-SIGINT test then trains on, unstopped)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _sigint_when(event):
    """Send this process SIGINT (what Ctrl-C does) once ``event`` is set."""

    def fire():
        event.wait(timeout=60)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=fire, daemon=True)
    thread.start()
    return thread


class SetAtEpoch(Callback):
    def __init__(self, epoch, event):
        self.epoch, self.event = epoch, event

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            self.event.set()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to oneself is POSIX")
def test_real_sigint_during_training_leaves_a_usable_model(X, python_handles_sigint):
    started = threading.Event()
    est = AutoencoderTransformer(**{**SMALL, "max_iter": 500}, callbacks=[SetAtEpoch(2, started)])
    thread = _sigint_when(started)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        est.fit(X)
    thread.join()
    assert 1 <= est.n_iter_ < 500
    assert np.isfinite(est.transform(X)).all()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to oneself is POSIX")
def test_real_sigint_during_pretraining_stops_the_fit(X, python_handles_sigint):
    started = threading.Event()
    timer = threading.Timer(0.5, started.set)
    timer.start()
    thread = _sigint_when(started)
    est = AutoencoderTransformer(**SMALL, pretrain="greedy", pretrain_epochs=100_000)
    with pytest.warns(ConvergenceWarning, match="while initialising the network"):
        est.fit(X)
    thread.join()
    assert est.n_iter_ == 0
    assert est.transform(X).shape == (len(X), 2)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_resumed_fit_equals_uninterrupted_fit(Estimator, X, tmp_path, early_stopping):
    params = {**SMALL, "early_stopping": early_stopping}
    uninterrupted = Estimator(**params).fit(X)

    interrupted = Estimator(**params, checkpoint_dir=tmp_path, callbacks=[InterruptAt(5)])
    with pytest.warns(ConvergenceWarning, match="resumes from the checkpoint"):
        interrupted.fit(X)
    assert len(list(tmp_path.iterdir())) == 1

    resumed = Estimator(**params, checkpoint_dir=tmp_path).fit(X)
    assert resumed.n_iter_ == uninterrupted.n_iter_ == 8
    assert resumed.loss_curve_ == uninterrupted.loss_curve_
    np.testing.assert_array_equal(resumed.transform(X), uninterrupted.transform(X))
    # A completed fit removes its checkpoint.
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_fit_of_the_automatic_start_is_not_restarted(X):
    # Uninterrupted, these settings leave a unit unused and restart as PPCA.
    assert VAETransformer(**SMALL, init="auto").fit(X).init_ == "pca"
    interrupted = VAETransformer(**SMALL, init="auto", callbacks=[InterruptAt(3)])
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        interrupted.fit(X)
    # Two epochs complete before the interrupt in the third.
    assert interrupted.init_ == "random" and interrupted.n_iter_ == 2


def test_checkpoints_of_different_fits_do_not_mix(X, tmp_path):
    for n_components in (2, 3):
        est = AutoencoderTransformer(
            **{**SMALL, "n_components": n_components},
            checkpoint_dir=tmp_path,
            callbacks=[InterruptAt(3)],
        )
        with pytest.warns(ConvergenceWarning):
            est.fit(X)
    with pytest.warns(ConvergenceWarning):
        AutoencoderTransformer(**SMALL, checkpoint_dir=tmp_path, callbacks=[InterruptAt(3)]).fit(
            X[:200]
        )
    assert len(list(tmp_path.iterdir())) == 3
    resumed = AutoencoderTransformer(**{**SMALL, "n_components": 3}, checkpoint_dir=tmp_path)
    assert resumed.fit(X).transform(X).shape == (len(X), 3)
    assert len(list(tmp_path.iterdir())) == 2


def test_unreadable_checkpoint_names_the_file(X, tmp_path):
    est = AutoencoderTransformer(**SMALL, checkpoint_dir=tmp_path, callbacks=[InterruptAt(3)])
    with pytest.warns(ConvergenceWarning):
        est.fit(X)
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=f"Could not read the checkpoint {path}.*Delete it"):
        AutoencoderTransformer(**SMALL, checkpoint_dir=tmp_path).fit(X)


def test_planted_checkpoint_cannot_run_code(X, tmp_path, code_payload):
    # Someone who can write into a shared checkpoint_dir plants a pickle at the very path the
    # next fit reads (the file name is a predictable hash of parameters and data).
    est = AutoencoderTransformer(**SMALL, checkpoint_dir=tmp_path / "shared")
    est.fit(X)  # completes, so no checkpoint is left
    with pytest.warns(ConvergenceWarning):
        AutoencoderTransformer(
            **SMALL, checkpoint_dir=tmp_path / "shared", callbacks=[InterruptAt(3)]
        ).fit(X)
    (path,) = (tmp_path / "shared").iterdir()
    payload, marker = code_payload
    torch.save({"module": payload}, path)
    with pytest.raises(ValueError, match=f"Could not read the checkpoint {path}.*Delete it"):
        AutoencoderTransformer(**SMALL, checkpoint_dir=tmp_path / "shared").fit(X)
    assert not marker.exists()


CRASHING_FIT = """
import os, signal, sys
import numpy as np
from skorch.callbacks import Callback
from sklearn_ae import AutoencoderTransformer

class Crash(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 5:
            os.kill(os.getpid(), signal.SIGKILL)

X = np.load(sys.argv[1])
params = dict({params})
AutoencoderTransformer(**params, checkpoint_dir=sys.argv[2], callbacks=[Crash()]).fit(X)
"""


def test_fit_resumes_after_the_process_was_killed(X, tmp_path):
    data, checkpoints = tmp_path / "X.npy", tmp_path / "checkpoints"
    np.save(data, X)
    script = textwrap.dedent(CRASHING_FIT).replace("{params}", repr(SMALL))
    run = subprocess.run(
        [sys.executable, "-c", script, str(data), str(checkpoints)],
        capture_output=True,
        timeout=300,
    )
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()
    (saved,) = checkpoints.iterdir()

    resumed = AutoencoderTransformer(**SMALL, checkpoint_dir=checkpoints).fit(X)
    uninterrupted = AutoencoderTransformer(**SMALL).fit(X)
    assert resumed.n_iter_ == 8
    # The kill came before epoch 5 was saved: the fit resumed from epoch 4's state.
    assert resumed.loss_curve_ == uninterrupted.loss_curve_
    assert not saved.exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_checkpoint_resumes_on_a_gpu(X, tmp_path):
    params = {**SMALL, "device": "cuda"}
    interrupted = AutoencoderTransformer(
        **params, checkpoint_dir=tmp_path, callbacks=[InterruptAt(5)]
    )
    with pytest.warns(ConvergenceWarning):
        interrupted.fit(X)
    resumed = AutoencoderTransformer(**params, checkpoint_dir=tmp_path).fit(X)
    assert resumed.n_iter_ == 8
    assert resumed.loss_curve_[:4] == interrupted.loss_curve_[:4]
    assert np.isfinite(resumed.transform(X)).all()


def test_a_value_kept_by_a_flush_cannot_turn_subnormal_before_the_next_flush():
    # Adam's first moment shrinks fastest: by beta1 = 0.9 per step once its gradient is zero.
    smallest_kept = torch.tensor(FLUSH_BELOW, dtype=torch.float32)
    steps_between_flushes = SubnormalFlush().every
    decayed = smallest_kept * torch.tensor(0.9) ** steps_between_flushes
    assert decayed >= torch.finfo(torch.float32).tiny
    # And it is far below anything that changes a float32 sum with a number above 2**-75.
    assert float(torch.tensor(2.0**-75) + smallest_kept) == 2.0**-75
