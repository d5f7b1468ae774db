"""The paper's figures of a scored run: Figures 2 and 3 (sinusoid tasks) and Figure 4 (XOR)."""

from __future__ import annotations

import numpy as np

from .sinusoid import PREDICTIVE_A


def draw_figures(name, out, data):
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
