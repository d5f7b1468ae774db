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
import shutil
import time
from pathlib import Path

import numpy as np

from ._api import simulate
from ._checks import check_integer
from .models.gates import Gate
from .training.validation import accuracy_interval, rank, rel_error
from .tasks import PREDICTIVE_A, TaskBatch
from .training import (batch_for_step, best_path, build_network, check_window_weight, default_config, fitted_readout,
                       initial_voltages, jax_states, load_listed_run, load_run, make_task, readout_weights, task_span,
                       train)

WARMUP_MS = 50.0

#: What ``odesnn reproduce NAME`` changes in the paper's settings (:func:`odesnn.training.default_config`)
#: to fit its wall-time budget on a 2-core CPU: smaller batches of shorter windows cut from the same signals.
#: The network, task, cost, gate and optimiser are the paper's.
BUDGET = {
    "autoencoder": dict(batch_size=8, duration=300.0, steps=220, rtol=1e-4, atol=1e-6, checkpoint_every=10),
    "predictive": dict(batch_size=16, duration=300.0, steps=200, lr=0.01, lr_final=0.001, rtol=1e-4, atol=1e-6,
                       checkpoint_every=10),
}
#: ``odesnn reproduce xor``: two stages on the paper's delays (docs/xor-log.md, fourteenth and fifteenth
#: sessions). Stage 1 trains a random network of latches (``w_self``; ``I_o`` frozen) on a 60 ms discounted
#: gradient for the first 125 steps of a 2000-step schedule, as for ``docs/data/xor_latch_seed3``; stage 2
#: continues it with a 200 ms horizon, as for ``docs/data/xor_latch_h200``, validating every 10 steps with
#: a refitted readout and keeping the best network, which is the one evaluated. The settings are those of
#: ``examples/xor_curriculum/latch_seed3.json`` and ``latch_h200.json`` (tests/test_examples.py holds them
#: together) but for the run lengths and the validation.
XOR_STAGES = (
    dict(duration=600.0, batch_size=16, steps=125, lr_decay_steps=2000, lr=0.002, lr_final=0.001,
         lr_scale={"I0": 0.0}, seed=3, rtol=1e-4, atol=1e-6, adjoint_horizon=60.0, checkpoint_every=5,
         readout="lstsq", optimizer="adam", trial_clip=1.0,
         init={"w_scale": 0.5, "wf_scale": 0.2, "u_scale": 1.0, "o_scale": 0.2, "i0_scale": 0.005,
               "i0_mean": -0.06, "w_self": 1.5}),
    dict(duration=600.0, batch_size=16, steps=80, lr_decay_steps=2000, lr=0.001, lr_final=0.0005,
         lr_scale={"I0": 0.0}, seed=7, rtol=1e-4, atol=1e-6, adjoint_horizon=200.0, checkpoint_every=10,
         readout="lstsq", optimizer="adam", trial_clip=1.0,
         validate_every=10, validate_trials=100, validate_refit=100),
)
#: The same two stages as a smoke run (``--quick``) on the small quick network.
XOR_QUICK_STAGES = ({"steps": 2}, {"steps": 2, "validate_every": 1, "validate_trials": 4, "validate_refit": 4})
#: Test trials of ``odesnn reproduce``: (number, duration in ms); the sinusoid tasks use one full period.
EVAL_TRIALS = {"autoencoder": (2, 1200.0), "predictive": (2, 1200.0), "xor": (200, None)}
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


def pick_runs(runs, seeds=(13, 17, 19), top=5, refit=300, n_trials=200, log=None):
    """Pick the best of several runs on held-out trials: screen all on one seed, confirm the best on others.

    Runs of one task that differ by chance (stages on other batch seeds, say)
    score differently on the same trials, and the best score among many is
    flattered by the trials it was picked on. So every run is scored on the
    first seed's test trials; the ``top`` best (by accuracy, ties by the
    lower ``rel_error``; by ``rel_error`` alone for the sinusoid tasks) are
    scored again on the other seeds' trials, and the best over all seeds is
    picked. Score the pick afterwards on test trials none of these seeds drew.

    Parameters
    ----------
    runs : sequence of path-like
        Run directories of one task (trained runs, snapshots, ``DIR/best``).
    seeds : sequence of int
        Seeds of the scoring trials (``evaluate``'s ``seed``): the first
        screens every run, the others score the finalists. At least one.
    top : int
        Finalists kept after screening, at least 1.
    refit : int or None
        Trials each run's readout is refitted to before scoring (``evaluate``'s
        ``refit``), drawn from the same seed; ``None`` keeps the trained readout.
    n_trials : int or None
        Test trials per seed (``None``: the run's ``eval_trials``).
    log : callable or None
        Called with each score as it is made (a dict: ``run``, ``seed`` and
        the scores or an ``error``), so that a long pick shows its progress
        and what it has scored survives an interruption.

    Returns
    -------
    dict
        ``"screen"``: one record per run on the first seed (``run``,
        ``accuracy`` for XOR, ``rel_error``), in the order given;
        ``"finalists"``: the runs among the ``top`` that every seed could
        score, best first, each with its ``scores`` per seed and their means;
        ``"failed"``: the scores that failed (a trial did not simulate), with
        their ``error``; ``"best"``: the first finalist's run. A run that
        fails is left out of the pick, and the others go on.

    Raises
    ------
    ValueError
        If ``runs`` or ``seeds`` is empty, a seed is not a non-negative
        integer or appears twice, ``top``, ``refit`` or ``n_trials`` is not a
        positive integer (or None for the last two), or the runs are of
        different tasks.
    FileNotFoundError
        If a run directory does not hold a trained network.
    RuntimeError
        If no finalist could be scored on every seed.
    """
    runs = [str(r) for r in runs]
    if not runs:
        raise ValueError("`runs` must name at least one run directory, got none")
    seeds = [check_integer(f"seeds[{i}]", s, 0) for i, s in enumerate(seeds)]
    if not seeds:
        raise ValueError("`seeds` must hold at least one seed, got none")
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"`seeds` must be distinct (the same trials twice confirm nothing), got {seeds}")
    top = check_integer("top", top, 1)
    if refit is not None:
        refit = check_integer("refit", refit, 1)
    if n_trials is not None:
        n_trials = check_integer("n_trials", n_trials, 1)
    tasks = {r: load_listed_run(r)[0].task for r in runs}
    if len(set(tasks.values())) > 1:
        other = next(r for r in runs if tasks[r] != tasks[runs[0]])
        raise ValueError(f"`runs`: {other!r} is a run of the {tasks[other]} task, {runs[0]!r} of the "
                         f"{tasks[runs[0]]} task; pick among runs of one task")

    def score(run, seed):
        try:
            metrics, _ = evaluate(run, n_trials, refit=refit, seed=seed, figures=False)
        except RuntimeError as exc:  # a trial failed to simulate: the run drops out, the others go on
            rec = {"run": run, "seed": seed, "error": str(exc)}
        else:
            rec = {"run": run, "seed": seed, **{k: metrics[k] for k in ("accuracy", "rel_error") if k in metrics}}
        if log is not None:
            log(rec)
        return rec

    def scores_only(rec):
        return {k: v for k, v in rec.items() if k not in ("run", "seed")}

    screen = [score(r, seeds[0]) for r in runs]
    failed = [rec for rec in screen if "error" in rec]
    kept = sorted((rec for rec in screen if "error" not in rec), key=rank)[:top]
    finalists = []
    for rec in kept:
        later = [score(rec["run"], s) for s in seeds[1:]]
        errors = [r for r in later if "error" in r]
        if errors:
            failed += errors
            continue
        scores = {r["seed"]: scores_only(r) for r in [rec, *later]}
        means = {k: float(np.mean([sc[k] for sc in scores.values()])) for k in scores[seeds[0]]}
        finalists.append({"run": rec["run"], "scores": scores, **means})
    if not finalists:
        raise RuntimeError(f"no run could be scored on every seed: {[(r['run'], r['error']) for r in failed]}")
    finalists.sort(key=rank)
    return {"screen": [{k: v for k, v in r.items() if k != "seed"} for r in screen], "finalists": finalists,
            "failed": failed, "best": finalists[0]["run"], "seeds": seeds, "refit": refit, "n_trials": n_trials}


def reproduce(name, out="reproduce", quick=False, progress=True):
    """Train with the paper's settings (or a short ``quick`` run), evaluate, write ``summary.json`` and figures."""
    out = Path(out) / name
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if name == "gate":
        from .tasks.figures import figure1

        summary = {"panels": figure1(out / "figure1.png")}
        summary["charge_error_beyond_zone"] = max(abs(p["charge"] - 1) for p in summary["panels"].values()
                                                  if p["plateau"] >= 1)
    else:
        validation = None
        if name == "xor":
            validation = _train_xor_stages(out, quick, progress)
        else:
            train(default_config(name, quick=quick, **({} if quick else BUDGET.get(name, {}))), out, progress=progress)
        n_trials, duration = (None, None) if quick else EVAL_TRIALS.get(name, (None, None))
        summary, data = evaluate(out, n_trials, duration)
        if validation is not None:
            summary["validation"] = validation
        _figures(name, out, data)
    summary["wall_s"] = time.perf_counter() - t0
    summary["quick"] = bool(quick)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return summary


def _train_xor_stages(out, quick, progress):
    """Train the XOR stages in ``out/stageK``; save the last stage's best validated network as the run in
    ``out`` and return its validation record."""
    start = None
    for k, stage in enumerate(XOR_QUICK_STAGES if quick else XOR_STAGES, start=1):
        train(default_config("xor", quick=quick, init_from=start, **stage), out / f"stage{k}", progress=progress)
        start = str(out / f"stage{k}")
    record = best_path(start) / "validation.json"
    if not record.is_file():
        raise RuntimeError(f"no validation of {start} succeeded (every one failed to simulate; see the "
                           f"warnings), so there is no best network to evaluate")
    for item in ("train_config.json", "params.npz", "config.json"):
        shutil.copyfile(best_path(start) / item, out / item)
    return json.loads(record.read_text())


def write_evaluation(out, metrics, data):
    """Write what :func:`evaluate` returned into directory ``out``: ``summary.json`` and the task's figures."""
    if data is None:
        raise ValueError("`data` is None: call evaluate with figures=True to write the figures")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _figures(metrics["task"], out, data)
    (out / "summary.json").write_text(json.dumps(metrics, indent=2, default=float) + "\n")


def _figures(name, out, data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg, net, params, batch, sols, virtual_sols = data
    sol, b = sols[0], 0
    if name in ("autoencoder", "predictive"):
        fig, ax = plt.subplots(2, 3, figsize=(14, 7))
        for k in range(sol.o.shape[1]):
            ax[0, 0].plot(batch.t, sol.o[:, k], label=f"o{k + 1}")
            ax[0, 0].plot(batch.t, batch.targets[b][:, k], "--", label=f"target {k + 1}")
        ax[0, 0].set(xlabel="time (ms)", ylabel="readout o", title="A: readout vs target")
        ax[0, 0].legend(fontsize=7)
        # input vs fast recurrent current into neuron 0
        ext = batch.inputs[b] @ params.U[0] + params.I0[0]
        rec = sol.sf @ params.Wf[0] + sol.s @ params.W[0]
        ax[0, 1].plot(batch.t, ext, label="external U i + I0")
        ax[0, 1].plot(batch.t, rec, label="recurrent W s + Wf sf")
        ax[0, 1].plot(batch.t, ext + rec, "k", lw=0.8, label="total")
        ax[0, 1].set(xlabel="time (ms)", ylabel="current (1/ms)", title="B/C: input balance, neuron 0")
        ax[0, 1].legend(fontsize=7)
        vs = virtual_sols[b]  # the input-only trace of the spike ratio, same trial and initial state
        ax[0, 2].plot(batch.t, sol.v[:, 0], label=f"actual ({len(sol.spikes_of(0))} spikes)")
        ax[0, 2].plot(batch.t, vs.v[:, 0], "--", label=f"input only ({len(vs.spikes_of(0))} spikes)")
        ax[0, 2].set(xlabel="time (ms)", ylabel="v", title="D: voltage of neuron 0")
        ax[0, 2].legend(fontsize=7)
        # neurons ordered by the direction of their input weights, as in the paper's panel E
        order = np.argsort(np.arctan2(params.U[:, -1], params.U[:, 0])) if params.U.shape[1] >= 2 else \
            np.arange(params.U.shape[0])
        pred = -params.U @ params.O
        np.fill_diagonal(pred, 0)
        for a, M, title in ((ax[1, 0], params.Wf, "E: trained W_f"),
                            (ax[1, 1], pred, "E: predicted -U O (diagonal zeroed)")):
            lim = np.max(np.abs(M)) or 1
            a.imshow(M[np.ix_(order, order)], cmap="RdBu_r", vmin=-lim, vmax=lim)
            a.set(title=title, xlabel="presynaptic neuron (by angle of U)", ylabel="postsynaptic neuron")
        ax[1, 2].scatter(params.U.ravel(), params.O.T.ravel(), s=10)
        ax[1, 2].set(xlabel="input weight U", ylabel="readout weight Oᵀ", title="F: O vs U")
        fig.tight_layout()
        fig.savefig(out / "figure2.png", dpi=110)
        plt.close(fig)
        if name == "predictive":
            fig, ax = plt.subplots(1, 2, figsize=(9, 4))
            pred = params.U @ PREDICTIVE_A @ params.O
            for a, M, title in ((ax[0], params.W, "trained W"), (ax[1], pred, "predicted U A O")):
                lim = np.max(np.abs(M)) or 1
                a.imshow(M[np.ix_(order, order)], cmap="RdBu_r", vmin=-lim, vmax=lim)
                a.set(title=title, xlabel="presynaptic neuron", ylabel="postsynaptic neuron")
            fig.tight_layout()
            fig.savefig(out / "figure3.png", dpi=110)
            plt.close(fig)
    else:
        n = min(len(sols), 6)
        sign = {1: "+", -1: "-", 0: "null"}
        fig, ax = plt.subplots(2, n, figsize=(3 * n, 6), squeeze=False, sharex=True)
        for j in range(n):
            s = sols[j]
            ax[0, j].plot(batch.t, batch.inputs[j][:, 0], label="input")
            ax[0, j].plot(batch.t, batch.inputs[j][:, 1], label="go-cue")
            ax[0, j].plot(batch.t, s.o[:, 0], "k", label="output")
            ax[0, j].plot(batch.t, batch.targets[j][:, 0], "k--", lw=0.8, label="target")
            ax[0, j].set(title=f"{'ABCDEF'[j] if j < 6 else j}: first {sign[int(batch.info['first_sign'][j])]}, "
                               f"output {sign[int(batch.info['labels'][j])]}", ylabel="signal")
            ax[1, j].plot(s.spike_times, s.spike_neurons, "|", ms=3, color="k")
            ax[1, j].set(xlabel="time (ms)", ylabel="neuron id")
        ax[0, 0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "figure4.png", dpi=110)
        plt.close(fig)
