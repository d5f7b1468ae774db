"""gradient_agreement: a run's gradients at loose tolerances against a tight solve of the same trials."""

import json

import numpy as np
import pytest

from odesnn.training import build_network, default_config, gradient_agreement, train

SMALL = dict(n_neurons=8, duration=120.0, batch_size=3,
             task_kwargs={"first_range": [10.0, 20.0], "gap_range": [15.0, 25.0], "cue_delay_range": [15.0, 25.0]})


def _xor_setup(**overrides):
    cfg = default_config("xor", quick=True, **{**SMALL, **overrides})
    net = build_network(cfg)
    return cfg, net, net.init_params(0, w_scale=0.5, wf_scale=0.2, u_scale=1.0, o_scale=0.2, i0_scale=0.005)


@pytest.mark.slow  # 10-60 s on a 2-core CPU; the default suite stays under 10 minutes
def test_gradients_converge_to_the_reference_as_the_tolerance_tightens():
    """At a tolerance close to the reference every trial's gradient, the step and the cost agree with it; a
    loose tolerance is further off in cost (the rows are compared trial by trial, so a mix-up of trials or
    initial voltages would show as low cosines at the tight tolerance)."""
    cfg, net, params = _xor_setup(trial_clip=1.0)
    loose, tight = gradient_agreement(cfg, net, params, rtols=(1e-3, 1e-8), reference_rtol=1e-10, batch_size=4)
    assert (loose.rtol, tight.rtol) == (1e-3, 1e-8)
    assert tight.atol == pytest.approx(1e-8 * cfg.atol / cfg.rtol)
    assert loose.cosines.shape == tight.cosines.shape == (4,)
    assert np.all(tight.cosines > 0.9999) and tight.batch_cosine > 0.9999
    assert tight.cost_error < 1e-6
    assert loose.cost_error > tight.cost_error
    assert loose.seconds > 0 and tight.seconds > 0
    np.testing.assert_allclose(tight.norm_ratios, 1.0, atol=1e-3)
    assert tight.v0_shift == loose.v0_shift == 0.0


def test_shifted_initial_voltages_move_the_gradient_continuously():
    """Rows for shifted initial voltages use the reference tolerance on the same trials: a tiny shift leaves
    each trial's gradient and the cost as they were, a larger one moves the cost further."""
    cfg, net, params = _xor_setup()
    tiny, large = gradient_agreement(cfg, net, params, rtols=(), reference_rtol=1e-10, batch_size=3,
                                     v0_shifts=(1e-9, 1e-2))
    assert (tiny.v0_shift, large.v0_shift) == (1e-9, 1e-2) and tiny.rtol == large.rtol == 1e-10
    assert np.all(tiny.cosines > 0.99999) and tiny.cost_error < 1e-7
    np.testing.assert_allclose(tiny.norm_ratios, 1.0, atol=1e-4)
    assert large.cost_error > 100 * tiny.cost_error


def test_bad_tolerances_are_rejected_by_name():
    cfg, net, params = _xor_setup()
    with pytest.raises(ValueError, match=r"`reference_rtol`=1e-05 must be tighter"):
        gradient_agreement(cfg, net, params, rtols=(1e-4, 1e-5), reference_rtol=1e-5)
    with pytest.raises(ValueError, match=r"`reference_rtol` must be a positive number, got nan"):
        gradient_agreement(cfg, net, params, reference_rtol=float("nan"))
    with pytest.raises(ValueError, match=r"`rtols\[0\]` must be a positive number, got -0.001"):
        gradient_agreement(cfg, net, params, rtols=(-1e-3,))
    with pytest.raises(ValueError, match=r"`rtols\[1\]` must be a positive number, got 'a'"):
        gradient_agreement(cfg, net, params, rtols=(1e-4, "a"))
    with pytest.raises(ValueError, match="`rtols` must name at least one tolerance"):
        gradient_agreement(cfg, net, params, rtols=())
    with pytest.raises(ValueError, match=r"`v0_shifts\[0\]` must be a positive number, got 0"):
        gradient_agreement(cfg, net, params, v0_shifts=(0,))
    with pytest.raises(ValueError, match="batch_size"):
        gradient_agreement(cfg, net, params, batch_size=1)


@pytest.mark.slow  # 10-60 s on a 2-core CPU; the default suite stays under 10 minutes
def test_cli_reports_each_tolerance(tmp_path, capsys):
    from odesnn.cli import main

    cfg = default_config("xor", quick=True, steps=0, **SMALL)
    train(cfg, tmp_path / "run", progress=False)
    assert main(["tolerance", str(tmp_path / "run"), "--rtols", "1e-4", "1e-7", "--reference", "1e-10",
                 "--trials", "3", "--v0-shifts", "1e-9", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["rtol"], r["v0_shift"]) for r in records] == [(1e-4, 0.0), (1e-7, 0.0), (1e-10, 1e-9)]
    assert records[1]["cosine_median"] > 0.9999 and records[1]["cost_error"] < 1e-6
