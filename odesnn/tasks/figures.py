"""Figures of the paper, reproduced with odesnn.

``figure1`` (the gate and the charge it delivers): a single non-leaky IF
neuron with threshold 1 and a box gate of width Δ = 0.1 is driven to a
depolarisation plateau at different rates. Depolarisations beyond the active
zone cross the threshold (and reset): each delivers charge exactly 1 whatever
its rate. Plateaus inside the zone give a graded charge; those below it give
none. The threshold synapse of eq. (1) (Δ = 0) is shown for comparison.
"""

from __future__ import annotations

import numpy as np

from .._api import simulate
from ..analysis import synaptic_charge
from ..models.gates import Gate
from ..models.network import Network, Params
from ..models.neurons import NIF

FIG1_CASES = (  # (panel, plateau voltage, rise time in ms)
    ("A", 1.2, 4.0),
    ("B", 1.2, 16.0),
    ("C", 0.97, 10.0),
    ("D", 0.93, 10.0),
    ("E", 0.85, 10.0),
)


def depolarization(plateau, rise):
    """Input current ``dv/dt`` that raises ``v`` from 0 to ``plateau`` along a half-cosine in ``rise`` ms."""

    def current(t):
        t = float(t)
        rate = plateau * np.pi / (2 * rise) * np.sin(np.pi * t / rise) if 0.0 <= t <= rise else 0.0
        return np.array([rate])

    return current


def gate_response(plateau, rise, gate=Gate("box", 0.1), tau=10.0, duration=None, rtol=1e-12, atol=1e-14):
    """Simulate one depolarisation; returns ``(solution, charge)``."""
    net = Network(1, 1, 1, neuron=NIF(negative_synapse=False), gate=gate, tau=tau)
    params = Params(np.zeros((1, 1)), np.zeros((1, 0)), np.ones((1, 1)), np.ones((1, 1)), np.zeros(1))
    duration = duration or rise + 60.0
    sol = simulate(net, params, depolarization(plateau, rise), None, (0.0, duration), rtol=rtol, atol=atol,
                   t_eval=None)
    return sol, synaptic_charge(sol)


def figure1(path="figure1.png", width=0.1, tau=10.0):
    """Draw Figure 1 to ``path`` and return the charge of each panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(FIG1_CASES), figsize=(13, 4.8), sharex="col", sharey="row",
                             gridspec_kw={"height_ratios": [1, 1.2]})
    summary = {}
    t_plot = np.linspace(0, 60, 1201)
    for col, (panel, plateau, rise) in enumerate(FIG1_CASES):
        sol, q = gate_response(plateau, rise, Gate("box", width), tau)
        thr, q0 = gate_response(plateau, rise, None, tau)
        summary[panel] = {"plateau": plateau, "rise_ms": rise, "charge": q, "charge_threshold_synapse": q0}
        X, X0 = sol.sol(t_plot), thr.sol(t_plot)
        ax_s, ax_v = axes[0, col], axes[1, col]
        ax_s.plot(t_plot, X.s[0], "k", label="gated synapse, eq. (2)")
        ax_s.plot(t_plot, X0.s[0], "r--", label="threshold synapse, eq. (1)")
        ax_s.set_title(f"{panel}: charge {q:.6f}")
        ax_v.axhspan(1 - width, 1.0, color="0.85", label="active zone")
        ax_v.plot(sol.t, sol.v[:, 0], "k")
        ax_v.axhline(1.0, color="0.5", lw=0.8, ls=":")
        ax_v.set_xlabel("time (ms)")
        ax_v.set_xlim(0, 60)
    axes[0, 0].set_ylabel("synaptic current s (1/ms)")
    axes[1, 0].set_ylabel("membrane voltage v")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.suptitle(f"Gated synapse: box gate Δ = {width}, τ = {tau} ms (Huh & Sejnowski 2018, Fig. 1)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return summary
