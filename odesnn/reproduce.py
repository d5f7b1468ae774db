"""Evaluate trained networks on fresh test trials and reproduce the paper's figures and numbers.

Metrics (the keys of ``summary.json``):

``rel_error``
    ``Σ‖o - o_d‖² / Σ‖o_d‖²`` over the test trials, after a 50 ms warm-up
    (the network starts from rest while the target is periodic).
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
    Fraction of XOR test trials decided correctly by :meth:`odesnn.tasks.XORTask.decide`.

The predictive-coding tasks are evaluated with the zero-width threshold
synapse (Δ = 0), as in the paper; XOR with the trained gate. Simulation uses
the SciPy backend.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from ._api import simulate
from .tasks import PREDICTIVE_A
from .training import batch_for_step, build_network, default_config, initial_voltages, load_run, make_task, train

WARMUP_MS = 50.0
EVAL_SALT = 7919  # test trials never coincide with training batches


def _corr(a, b):
    a, b = np.ravel(a), np.ravel(b)
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _offdiag(M):
    return M[~np.eye(M.shape[0], dtype=bool)]


def simulate_test_trials(cfg, net, params, n_trials=None, rtol=1e-6, atol=1e-8):
    """Simulate fresh test trials; returns ``(batch, solutions)``."""
    task = make_task(cfg)
    batch, rng = batch_for_step(cfg, task, 0, size=n_trials or cfg.eval_trials, salt=EVAL_SALT)
    v0 = initial_voltages(cfg, rng, batch.size)
    sols = [simulate(net, params, (batch.t, batch.inputs[b]), (batch.t, batch.targets[b]), (batch.t[0], batch.t[-1]),
                     v0=v0[b], t_eval=batch.t, rtol=rtol, atol=atol, max_events=200_000)
            for b in range(batch.size)]
    return batch, sols, v0


def evaluate(out, n_trials=None, duration=None):
    """Metrics of the run in directory ``out`` on fresh test trials (see module docstring).

    ``duration`` (ms) sets the length of the test trials (default: that of the training trials).
    """
    cfg, net_trained, params = load_run(out)
    if duration is not None:
        cfg = dataclasses.replace(cfg, duration=float(duration))
    eval_net = build_network(cfg, gate=cfg.task == "xor")
    batch, sols, v0 = simulate_test_trials(cfg, eval_net, params, n_trials)
    metrics = {"task": cfg.task, "n_test_trials": batch.size}
    keep = batch.t >= WARMUP_MS
    if cfg.task in ("autoencoder", "predictive"):
        err = sum(np.sum((s.o[keep] - batch.targets[b][keep]) ** 2) for b, s in enumerate(sols))
        ref = sum(np.sum(batch.targets[b][keep] ** 2) for b in range(batch.size))
        metrics["rel_error"] = float(err / ref)
        metrics["corr_Wf_UO"] = _corr(_offdiag(params.Wf), _offdiag(-params.U @ params.O))
        metrics["corr_U_OT"] = _corr(params.U, params.O.T)
        virtual = params._replace(W=np.zeros_like(params.W), Wf=np.zeros_like(params.Wf))
        n_rec = sum(s.n_spikes for s in sols)
        n_virt = sum(simulate(eval_net, virtual, (batch.t, batch.inputs[b]), None, (batch.t[0], batch.t[-1]),
                              v0=v0[b], rtol=1e-6, atol=1e-8, max_events=500_000).n_spikes
                     for b in range(batch.size))
        metrics["spikes_recurrent"], metrics["spikes_input_only"] = int(n_rec), int(n_virt)
        metrics["spike_ratio"] = float(n_rec / max(n_virt, 1))
        if cfg.task == "predictive":
            metrics["corr_W_UAO"] = _corr(params.W, params.U @ PREDICTIVE_A @ params.O)
    else:
        task = make_task(cfg)
        outputs = np.stack([s.o for s in sols])
        decisions = task.decide(batch.t, outputs, batch.info["go"])
        metrics["accuracy"] = float(np.mean(decisions == batch.info["labels"]))
        metrics["decision_rule"] = (f"mean readout over [go+{task.response_delay:g}, go+"
                                    f"{task.response_delay + task.response_window:g}] ms, doubled, compared with "
                                    f"±{task.threshold}·amplitude")
    return metrics, (cfg, eval_net, params, batch, sols)


def reproduce(name, out="reproduce", quick=False, progress=True):
    """Train with the paper's settings (or a short ``quick`` run), evaluate, write ``summary.json`` and figures."""
    out = Path(out) / name
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if name == "gate":
        from .figures import figure1

        summary = {"panels": figure1(out / "figure1.png")}
        summary["charge_error_beyond_zone"] = max(abs(p["charge"] - 1) for p in summary["panels"].values()
                                                  if p["plateau"] >= 1)
    else:
        cfg = default_config(name, quick=quick)
        train(cfg, out, progress=progress)
        summary, data = evaluate(out)
        _figures(name, out, data)
    summary["wall_s"] = time.perf_counter() - t0
    summary["quick"] = bool(quick)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return summary


def _figures(name, out, data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg, net, params, batch, sols = data
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
        virtual = params._replace(W=np.zeros_like(params.W), Wf=np.zeros_like(params.Wf))
        vs = simulate(net, virtual, (batch.t, batch.inputs[b]), None, (batch.t[0], batch.t[-1]), t_eval=batch.t,
                      rtol=1e-6, atol=1e-8, max_events=500_000)
        ax[0, 2].plot(batch.t, sol.v[:, 0], label=f"actual ({len(sol.spikes_of(0))} spikes)")
        ax[0, 2].plot(batch.t, vs.v[:, 0], "--", label=f"input only ({len(vs.spikes_of(0))} spikes)")
        ax[0, 2].set(xlabel="time (ms)", ylabel="v", title="D: voltage of neuron 0")
        ax[0, 2].legend(fontsize=7)
        lim = np.max(np.abs(params.Wf)) or 1
        ax[1, 0].imshow(params.Wf, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax[1, 0].set(title="E: trained W_f", xlabel="presynaptic neuron", ylabel="postsynaptic neuron")
        pred = -params.U @ params.O
        np.fill_diagonal(pred, 0)
        lim = np.max(np.abs(pred)) or 1
        ax[1, 1].imshow(pred, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax[1, 1].set(title="E: predicted -U O (diagonal zeroed)", xlabel="presynaptic neuron",
                     ylabel="postsynaptic neuron")
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
                a.imshow(M, cmap="RdBu_r", vmin=-lim, vmax=lim)
                a.set(title=title, xlabel="presynaptic neuron", ylabel="postsynaptic neuron")
            fig.tight_layout()
            fig.savefig(out / "figure3.png", dpi=110)
            plt.close(fig)
    else:
        n = min(len(sols), 6)
        fig, ax = plt.subplots(2, n, figsize=(3 * n, 6), squeeze=False, sharex=True)
        for j in range(n):
            s = sols[j]
            ax[0, j].plot(batch.t, batch.inputs[j][:, 0], label="input")
            ax[0, j].plot(batch.t, batch.inputs[j][:, 1], label="go-cue")
            ax[0, j].plot(batch.t, s.o[:, 0], "k", label="output")
            ax[0, j].plot(batch.t, batch.targets[j][:, 0], "k--", lw=0.8, label="target")
            ax[0, j].set(title=f"trial {j}: label {batch.info['labels'][j]:+d}", ylabel="signal")
            ax[1, j].plot(s.spike_times, s.spike_neurons, "|", ms=3, color="k")
            ax[1, j].set(xlabel="time (ms)", ylabel="neuron id")
        ax[0, 0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "figure4.png", dpi=110)
        plt.close(fig)
