"""Evaluate trained networks on fresh test trials and reproduce the paper's figures and numbers.

Metrics (the keys of ``summary.json``):

``rel_error``
    ``Σ‖o - o_d‖² / Σ‖o_d‖²`` over the test trials, after a 50 ms warm-up
    for the sinusoid tasks (the network starts from rest while the target is
    periodic). For XOR it is the error over that of a silent readout.
``corr_Wf_UO``
    Pearson correlation of the off-diagonal entries of ``W_f`` with ``-U O``.
``corr_U_OT``
    Pearson correlation of ``U`` with ``Oᵀ``.
``spike_ratio``
    Spikes of the trained network over those of the input-only virtual trace
    (the same network and inputs with ``W = W_f = 0``).
``corr_W_UAO``
    Pearson correlation of ``W`` with ``U A O`` (predictive coding).
``accuracy``
    Fraction of XOR test trials decided correctly by :meth:`odesnn.tasks.XORTask.decide`
    (with ``accuracy_by_label``, and ``confusion``: the number of trials of each label given each decision).
``accuracy_interval``
    XOR: the Wilson 95 % interval ``[low, high]`` of that accuracy over that many test trials
    (:func:`odesnn.training.validation.accuracy_interval`).
``rel_error_by_period``, ``decoding_at_go``
    XOR only (:func:`xor_diagnostics`): ``rel_error`` split into the periods
    before, in and after the response window, and how well linear decoders
    read the first sign, the number of pulses and the XOR label from ``s`` at
    the go-cue.

The predictive-coding tasks are evaluated with the zero-width threshold
synapse (Δ = 0), as in the paper, on the SciPy backend. XOR is evaluated with
the trained gate; its accuracy comes from the batched JAX forward
(:func:`jax_readouts`, tested against SciPy) over many trials, and its figure
from SciPy simulations of the first six.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from .._api import simulate
from .._checks import check_bool, check_integer, check_number, check_optional_integer
from ..models.gates import Gate
from ..training.config import (
    batch_for_step,
    build_network,
    check_window_weight,
    initial_voltages,
    make_task,
)
from ..training.objective import fitted_readout, jax_states, readout_weights, task_span
from ..training.runs import load_run
from ..training.validation import accuracy_interval, rel_error
from .batch import TaskBatch
from .draw import draw_figures
from .sinusoid import PREDICTIVE_A

WARMUP_MS = 50.0


EVAL_SALT = 7919  # test trials never coincide with training batches


FIT_SALT = 104729  # the trials a refitted readout is fitted to: neither training batches nor test trials


def _corr(a, b):
    a, b = np.ravel(a), np.ravel(b)
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _offdiag(M):
    return M[~np.eye(M.shape[0], dtype=bool)]


def eval_batch(cfg, n_trials=None):
    """Fresh test trials (never a training batch) and their initial voltages: ``(batch, v0)``."""
    batch, rng = batch_for_step(cfg, make_task(cfg), 0, size=n_trials or cfg.eval_trials, salt=EVAL_SALT)
    return batch, initial_voltages(cfg, rng, batch.size)


def refit_readout(cfg, net, params, n_trials=300, ridge=1e-4, chunk=50, window_weight=1.0):
    """``params`` with the readout ``O`` refitted by ridge regression to fresh trials.

    A trained readout reflects the batches it was trained on. Refitting it to
    many fresh trials scores what the network's states hold, on neutral ground:
    two networks compared this way are compared by their representations, not
    by their readouts' histories.

    Parameters
    ----------
    cfg : TrainConfig
        The run's configuration; its task draws the trials.
    net : Network
        The network whose states are read out (the evaluation network).
    params : Params
        Its parameters; only ``O`` changes.
    n_trials : int
        Fresh trials to fit to. They are neither training batches nor the
        test trials of :func:`evaluate`.
    ridge : float
        Ridge penalty relative to the mean eigenvalue of ``E[s sᵀ]``, as in
        :class:`odesnn.training.readout.LstsqReadout`.
    chunk : int
        Trials per batched JAX forward.
    window_weight : float
        XOR only: weight of the squared error inside each trial's response
        window against 1 elsewhere. The default 1 is the paper's cost; other
        values are a diagnostic (how loud a readout the states allow).

    Returns
    -------
    Params
        ``params`` with ``O`` minimising ``Σ w‖O s − o_d‖² + penalty·‖O‖²`` over
        the fitting trials (after the warm-up for the sinusoid tasks).

    Raises
    ------
    ValueError
        If ``n_trials`` is not a positive integer, or ``window_weight`` is not
        a positive number or is not 1 for a task other than XOR.
    """
    n_trials = check_integer("n_trials", n_trials, 1)
    check_window_weight("window_weight", window_weight, cfg.task)
    task = make_task(cfg)
    batch, rng = batch_for_step(cfg, task, 0, size=n_trials, salt=FIT_SALT)
    keep = slice(None) if cfg.task == "xor" else batch.t >= WARMUP_MS
    return fitted_readout(cfg, net, params, batch, initial_voltages(cfg, rng, batch.size), ridge, keep, chunk,
                          weights=readout_weights(task, batch, window_weight))


def simulate_test_trials(cfg, net, params, n_trials=None, rtol=1e-6, atol=1e-8):
    """Simulate fresh test trials; returns ``(batch, solutions, v0)``."""
    batch, v0 = eval_batch(cfg, n_trials)
    sols = [simulate(net, params, (batch.t, batch.inputs[b]), (batch.t, batch.targets[b]), task_span(batch),
                     v0=v0[b], t_eval=batch.t, rtol=rtol, atol=atol, max_events=200_000)
            for b in range(batch.size)]
    return batch, sols, v0


def jax_readouts(cfg, net, params, batch, v0, chunk=50, with_states=False):
    """Readouts ``o`` (B, T, K) on ``batch.t`` and spike counts (B,) from the batched JAX forward.

    With ``with_states``, the synaptic states ``s`` (B, T, N) they were read from come third.
    """
    states, counts = jax_states(cfg, net, params, batch, v0, chunk)
    outputs = states @ np.asarray(params.O, dtype=float).T
    return (outputs, counts, states) if with_states else (outputs, counts)


def decoding_accuracy(X, y, folds=5, ridge=1e-3):
    """Cross-validated accuracy of a linear decoder of the signs ``y`` (±1) from the rows of ``X``.

    The decoder is the ridge regression of ``y`` on ``X`` with a constant term,
    read by its sign, fitted on all folds but one and scored on the held-out
    fold (folds interleaved: trial ``i`` is in fold ``i mod folds``). ``ridge``
    is relative to the mean eigenvalue of the fitting data's Gram matrix.
    Returns NaN if any fold lacks a trial, or a training split lacks either sign.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    n = y.size
    fold = np.arange(n) % folds
    Xa = np.c_[X, np.ones(n)]
    hits = 0
    for f in range(folds):
        test = fold == f
        train_y = y[~test]
        if not test.any() or not (np.any(train_y > 0) and np.any(train_y < 0)):
            return float("nan")
        A = Xa[~test].T @ Xa[~test]
        A += ridge * np.trace(A) / A.shape[0] * np.eye(A.shape[0])
        w = np.linalg.solve(A, Xa[~test].T @ train_y)
        hits += int(np.sum(np.sign(Xa[test] @ w) == y[test]))
    return hits / n


def xor_diagnostics(task, batch, states, outputs):
    """Where an XOR network's error lies, and what its state holds at the go-cue.

    Returns ``rel_error_by_period``: the squared error before, in and after the
    response window of :meth:`~odesnn.tasks.XORTask.decide`, each over the
    silent readout's error of the whole batch (they sum to ``rel_error``);
    and ``decoding_at_go``: the cross-validated accuracy (:func:`decoding_accuracy`)
    of linear decoders of the first pulse's sign, of one against two pulses,
    and of the XOR label (two-pulse trials), reading ``s`` at the go-cue's onset (None where the
    test trials are too few to cross-validate).
    A network whose state holds the XOR there but whose ``response`` error is
    large fails at producing the output pulse, not at remembering.
    ``window_mean_by_label`` gives, per label, the mean and standard deviation
    of the quantity the decision rule thresholds (:meth:`~odesnn.tasks.XORTask.window_means`):
    how far each kind of trial sits from its threshold.
    """
    t, info = batch.t, batch.info
    window = task.response_mask(t, info["go"])
    before = t[None, :] < np.asarray(info["go"])[:, None] + task.response_delay
    sq = np.sum((outputs - batch.targets) ** 2, axis=-1)
    silent = np.sum(batch.targets ** 2)
    periods = {"before": before, "response": window, "after": ~before & ~window}
    at_go = states[np.arange(batch.size), np.searchsorted(t, info["go"])]
    two = info["labels"] != 0
    decoded = {"first_sign": decoding_accuracy(at_go, info["first_sign"]),
               "two_pulses": decoding_accuracy(at_go, np.where(two, 1.0, -1.0)),
               "xor": decoding_accuracy(at_go[two], info["labels"][two])}
    means = task.window_means(t, outputs, info["go"])
    by_label = {f"{k:+d}": {"mean": float(np.mean(means[info["labels"] == k])),
                            "sd": float(np.std(means[info["labels"] == k]))}
                for k in (-1, 0, 1) if np.any(info["labels"] == k)}
    return {"rel_error_by_period": {k: float(np.sum(sq[m]) / silent) for k, m in periods.items()},
            "window_mean_by_label": by_label,
            # None where too few test trials of a kind to cross-validate
            "decoding_at_go": {k: None if np.isnan(v) else v for k, v in decoded.items()}}


def figure_trials(batch, n=6):
    """Indices of the XOR trials drawn in Figure 4, in the paper's order.

    First-pulse sign ``+`` then ``-``, and for each the desired outputs ``-``,
    ``+`` and null (the paper's panels A-F); where a combination is missing
    from ``batch``, the next unused trials fill its place.
    """
    info = batch.info
    picked = []
    for first in (1, -1):
        for label in (-1, 1, 0):
            hits = np.flatnonzero((info["first_sign"] == first) & (info["labels"] == label))
            if hits.size:
                picked.append(int(hits[0]))
    rest = [b for b in range(batch.size) if b not in picked]
    return (picked + rest)[:min(n, batch.size)]


def evaluate(out, n_trials=None, duration=None, refit=None, seed=None, width=None, figures=True,
             refit_window_weight=None):
    """Metrics of the run in directory ``out`` on fresh test trials (see module docstring).

    ``duration`` (ms) sets the length of the test trials (default: that of the training trials).
    ``refit`` (a number of trials) first replaces the trained readout by one refitted to that many fresh
    trials (:func:`refit_readout`, with the run's ``readout_ridge``); the summary then says so under
    ``"readout"``.
    ``seed`` (an integer) draws the test trials, and the refitting trials, from it instead of the run's own
    training seed, so that runs trained with different seeds can be scored on the same trials. The summary
    records it as ``"test_seed"``.
    ``width`` (Δ, XOR only) evaluates the network with a gate of that width in place of the one it was
    trained with; the summary records the width used as ``"gate_width"``. Pair it with ``refit``: the
    trained readout was fitted to the other gate's states. (The sinusoid tasks are evaluated with the
    threshold synapse, Δ = 0, so a width there is an error.)
    ``refit_window_weight`` (XOR, with ``refit``) fits the refitted readout with the squared error inside
    each trial's response window weighted that many times (:func:`refit_readout`'s ``window_weight``): a
    diagnostic of how loud an answer the network's states allow, not the paper's cost, as the summary's
    ``"readout"`` says.
    ``figures=False`` (XOR) skips the SciPy simulations of the figure trials and returns ``(metrics, None)``.
    """
    n_trials = check_optional_integer("n_trials", n_trials, 1)  # 0 is refused, not read as "the default"
    duration = check_number("duration", duration, optional=True, note=" of ms")
    refit = check_optional_integer("refit", refit, 1)
    seed = check_optional_integer("seed", seed, 0)
    if width is not None:
        check_number("width", width, note=" (the gate's Δ)")
    figures = check_bool("figures", figures)
    check_number("refit_window_weight", refit_window_weight, optional=True)
    cfg, net_trained, params = load_run(out)
    if duration is not None:
        cfg = dataclasses.replace(cfg, duration=float(duration))
    if width is not None:
        if cfg.task != "xor":
            raise ValueError(f"`width`={width!r}: only XOR is evaluated with a gate; the {cfg.task} task is "
                             f"evaluated with the threshold synapse (Δ = 0)")
        Gate(cfg.gate, width)  # a bad width raises here, naming it
        cfg = dataclasses.replace(cfg, width=float(width))
    if seed is not None:
        cfg = dataclasses.replace(cfg, seed=check_integer("seed", seed, 0))
    eval_net = build_network(cfg, gate=cfg.task == "xor")
    readout = "trained"
    if refit_window_weight is not None and refit is None:
        raise ValueError(f"`refit_window_weight`={refit_window_weight!r} weights the refitted readout's fit; "
                         f"pass `refit` (--refit-readout N) too")
    if refit is not None:
        weight = 1.0 if refit_window_weight is None else refit_window_weight
        params = refit_readout(cfg, eval_net, params, refit, ridge=cfg.readout_ridge, window_weight=weight)
        readout = f"refitted by ridge regression to {int(refit)} fresh trials"
        if weight != 1:
            readout += (f", the response window weighted {weight:g} times the rest of the trial (a diagnostic, "
                        f"not the paper's cost)")
    if cfg.task == "xor":  # many trials: accuracy from the batched JAX forward, figures from SciPy
        task = make_task(cfg)
        batch, v0 = eval_batch(cfg, n_trials)
        outputs, counts, states = jax_readouts(cfg, eval_net, params, batch, v0, with_states=True)
        decisions = task.decide(batch.t, outputs, batch.info["go"])
        labels = batch.info["labels"]
        metrics = {"task": cfg.task, "n_test_trials": batch.size, "test_seed": cfg.seed, "readout": readout,
                   "gate_width": cfg.width, "accuracy": float(np.mean(decisions == labels)),
                   "accuracy_interval": accuracy_interval(int(np.sum(decisions == labels)), batch.size),
                   # squared error over that of a silent readout: a continuous measure beside the decisions
                   "rel_error": rel_error(outputs, batch.targets),
                   "accuracy_by_label": {f"{k:+d}": float(np.mean(decisions[labels == k] == k))
                                         for k in (-1, 0, 1) if np.any(labels == k)},
                   # rows: the label; columns: the decision (an undecided ±1 trial is a "0")
                   "confusion": {f"{k:+d}": {f"{j:+d}": int(np.sum(decisions[labels == k] == j)) for j in (-1, 0, 1)}
                                 for k in (-1, 0, 1)},
                   **xor_diagnostics(task, batch, states, outputs),
                   "spikes_per_neuron_per_s": float(np.mean(counts) / cfg.n_neurons / (cfg.duration / 1000.0)),
                   "decision_rule": (f"mean readout over [go+{task.response_delay:g}, go+"
                                     f"{task.response_delay + task.response_window:g}] ms, doubled, compared with "
                                     f"±{task.threshold}·amplitude")}
        if not figures:
            return metrics, None
        idx = figure_trials(batch)
        sols = [simulate(eval_net, params, (batch.t, batch.inputs[b]), (batch.t, batch.targets[b]),
                         task_span(batch), v0=v0[b], t_eval=batch.t, rtol=1e-6, atol=1e-8,
                         max_events=200_000) for b in idx]
        fig_batch = TaskBatch(batch.t, batch.inputs[idx], batch.targets[idx],
                              {k: np.asarray(v)[idx] for k, v in batch.info.items()})
        return metrics, (cfg, eval_net, params, fig_batch, sols, None)
    batch, sols, v0 = simulate_test_trials(cfg, eval_net, params, n_trials)
    metrics = {"task": cfg.task, "n_test_trials": batch.size, "test_seed": cfg.seed, "readout": readout}
    keep = batch.t >= WARMUP_MS
    metrics["rel_error"] = rel_error(np.stack([s.o[keep] for s in sols]), batch.targets[:, keep])
    metrics["corr_Wf_UO"] = _corr(_offdiag(params.Wf), _offdiag(-params.U @ params.O))
    metrics["corr_U_OT"] = _corr(params.U, params.O.T)
    virtual = params._replace(W=np.zeros_like(params.W), Wf=np.zeros_like(params.Wf))
    n_rec = sum(s.n_spikes for s in sols)
    virtual_sols = [simulate(eval_net, virtual, (batch.t, batch.inputs[b]), None, task_span(batch),
                             v0=v0[b], t_eval=batch.t if b == 0 else None, rtol=1e-6, atol=1e-8,
                             max_events=500_000) for b in range(batch.size)]  # trial 0's trace is drawn
    n_virt = sum(s.n_spikes for s in virtual_sols)
    metrics["spikes_recurrent"], metrics["spikes_input_only"] = int(n_rec), int(n_virt)
    metrics["spike_ratio"] = float(n_rec / max(n_virt, 1))
    if cfg.task == "predictive":
        metrics["corr_W_UAO"] = _corr(params.W, params.U @ PREDICTIVE_A @ params.O)
    return metrics, (cfg, eval_net, params, batch, sols, virtual_sols)


def write_evaluation(out, metrics, data):
    """Write what :func:`evaluate` returned into directory ``out``: ``summary.json`` and the task's figures."""
    if data is None:
        raise ValueError("`data` is None: call evaluate with figures=True to write the figures")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    draw_figures(metrics["task"], out, data)
    (out / "summary.json").write_text(json.dumps(metrics, indent=2, default=float) + "\n")
