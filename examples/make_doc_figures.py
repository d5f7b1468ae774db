"""Regenerate the analysis figures of the docs (docs/figures/*.png) from small real simulations.

The network is a hand-built predictive-coding (auto-encoder) network of
non-leaky IF neurons in the style of Boerlin, Machens & Denève (2013), the
solution that the paper's training recovers (Huh & Sejnowski 2018, Fig. 2):
readout weights ``O`` spread over the plane, input weights ``U ∝ Oᵀ``,
fast recurrent weights ``W_f = -U O/τ`` (zero diagonal; the reset plays the
part of the self-connection) and regular recurrent weights ``W = U O/τ``
that cancel the decay of the readout. With input ``i = dx/dt`` each
voltage is the projected readout error ``U(x - O s)``, so the readout
tracks ``x`` and the fast recurrent current balances the external input.

Run ``python examples/make_doc_figures.py`` (about 30 s).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import odesnn
from odesnn import analysis as an
from odesnn import plotting

TAU, TAU_F = 10.0, 1.0


def target_signal(t, amplitude=0.5, period=100.0):
    """Desired readout ``x(t)`` (2 channels) and its derivative, the network input."""
    w = 2 * np.pi / period
    x = amplitude * np.array([np.sin(w * t), np.sin(2 * w * t)])
    dx = amplitude * np.array([w * np.cos(w * t), 2 * w * np.cos(2 * w * t)])
    return x, dx


def balanced_network(n_neurons=4, decoder=0.1, noise=0.0, seed=0):
    """Network and parameters of the hand-built balanced auto-encoder.

    A spike of neuron ``j`` moves the readout by ``D_j = O_j/τ`` (charge 1
    into ``s``), with ``|D_j| = decoder``. The decoders point into a
    half-plane: the falling threshold of the NIF neuron gives the negative
    spikes that cover the other half. ``noise`` perturbs the off-diagonal
    fast weights (relative Gaussian noise), standing in for imperfect
    training.
    """
    rng = np.random.default_rng(seed)
    angles = np.pi * (np.arange(n_neurons) + 0.5 * rng.random(n_neurons)) / n_neurons
    D = decoder * np.stack([np.cos(angles), np.sin(angles)])  # (2, N): readout change per spike
    U = D.T / decoder**2  # U_j . D_j = 1: a spike lowers its own projected error by the reset, 1
    Wf = -U @ D * (1 + noise * rng.standard_normal((n_neurons, n_neurons)))
    np.fill_diagonal(Wf, 0.0)
    net = odesnn.Network(n_neurons, 2, 2, neuron=odesnn.NIF(), gate=odesnn.Gate("smooth", 0.1), tau=TAU,
                         tau_f=TAU_F, W_mask="full", Wf_mask="zero_diag")
    return net, odesnn.Params(U @ D, Wf, U, TAU * D, np.zeros(n_neurons))


def balanced_problem(n_neurons=4, duration=100.0, noise=0.0, seed=0):
    """The balanced network driven by ``dx/dt`` with target ``x`` over ``(0, duration)`` ms."""
    net, params = balanced_network(n_neurons, noise=noise, seed=seed)
    return odesnn.make_problem(net, params, lambda t: target_signal(t)[1], lambda t: target_signal(t)[0],
                        (0.0, duration))


def main(out_dir="docs/figures", n_neurons=4, duration=100.0, rtols=(1e-3, 1e-5, 1e-7, 1e-9)):
    """Simulate the balanced network and write one PNG per plot function into ``out_dir``.

    Returns the list of written paths.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problem = balanced_problem(n_neurons, duration, noise=0.1)
    # the adjoint gradient keeps the forward run it was taken along and its dense adjoint
    adj = odesnn.gradient(problem.net, problem.params, problem.inputs, problem.target, (problem.t0, problem.t1),
                          method="adjoint", rtol=1e-9, atol=1e-11)
    sol = adj.forward
    print(sol)
    figures = {
        "raster": plotting.raster(sol),
        "traces": plotting.traces(sol, neurons=(0, 1)),
        "rate_isi": plotting.rate_isi(sol),
        "current_balance": plotting.current_balance(sol, neuron=0),
        "work_precision": plotting.work_precision(an.spike_time_precision(problem, rtols, reference_rtol=1e-12)),
        "weight_structure": plotting.weight_structure(problem.params.Wf, an.predicted_fast_weights(problem.params),
                                                      labels=("W_f (hand-built, 10% noise)", "-U O")),
        "adjoint_traces": plotting.adjoint_traces(sol, adj, neuron=0),
    }
    paths = []
    for name, fig in figures.items():
        path = out / f"{name}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
        print("wrote", path)
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default="docs/figures")
    parser.add_argument("--duration", type=float, default=100.0)
    args = parser.parse_args()
    main(args.out_dir, duration=args.duration)
