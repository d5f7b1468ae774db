"""Progress bars (tqdm, on stderr): training and gradcheck show them, and both can be turned off."""

import io

import numpy as np

from odesnn._progress import stage_bar, training_bar
from odesnn.models import Params
from odesnn.training import default_config, train

SMALL = {"n_neurons": 4, "duration": 50.0, "batch_size": 2, "steps": 3, "checkpoint_every": 3,
         "task_kwargs": {"period": 50.0}}


def _fake_loss_and_grad(params, batch, v0, count):
    grads = Params(*(np.full(np.shape(p), 0.01) for p in params))
    return 1.0, grads, np.full(batch.size, 10)


def test_training_shows_its_bar_on_stderr_and_hides_it_when_asked(tmp_path, capsys):
    cfg = default_config("autoencoder", quick=True, **SMALL)
    train(cfg, tmp_path / "shown", loss_and_grad=_fake_loss_and_grad, progress=True, log=lambda *a: None)
    err = capsys.readouterr().err
    assert "train" in err and "3/3" in err and "loss 1" in err and "spikes/neuron/s" in err
    train(cfg, tmp_path / "hidden", loss_and_grad=_fake_loss_and_grad, progress=False, log=lambda *a: None)
    assert capsys.readouterr().err == ""


def test_stage_bar_counts_units_and_names_the_stage():
    out = io.StringIO()
    with stage_bar("gradcheck", file=out) as progress:
        progress.set_total(4)
        progress("adjoint")
        progress("finite differences", 3)
    text = out.getvalue()
    assert "adjoint" in text and "finite differences" in text and "4/4" in text
    silent = io.StringIO()
    with stage_bar("gradcheck", enabled=False, file=silent) as progress:
        progress.set_total(2)
        progress("adjoint")
    assert silent.getvalue() == ""


def test_training_bar_starts_at_a_resumed_step():
    out = io.StringIO()
    bar = training_bar(10, start=4, file=out)
    bar.update(1)
    bar.close()
    assert "5/10" in out.getvalue()
