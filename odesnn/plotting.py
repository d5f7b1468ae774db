"""Plots of simulations, statistics, tolerances, weights and adjoints (matplotlib).

Every function draws into new axes (or the ``ax``/``axes`` given), labels
each axis with its quantity and unit, and returns the
:class:`matplotlib.figure.Figure`. Times are in ms; ``v`` is dimensionless;
``s`` is in 1/ms (charge 1 per spike); rates are in Hz.

Import needs matplotlib (``pip install matplotlib``); nothing else in odesnn
does.
"""

from __future__ import annotations

import numpy as np

from . import analysis as an

__all__ = ["raster", "traces", "rate_isi", "current_balance", "work_precision", "weight_structure",
           "adjoint_traces"]


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _axes(ax, nrows=1, ncols=1, **kw):
    if ax is None:
        fig, axes = _plt().subplots(nrows, ncols, **kw)
        return fig, axes
    axes = np.asarray(ax)
    return axes.ravel()[0].figure, (ax if axes.ndim == 0 else axes.reshape(nrows, ncols).squeeze())


def _current_unit(net):
    return "1/ms" if net.neuron.name == "nif" else "a.u."


def _neurons(neurons, n):
    idx = np.arange(n) if neurons is None else np.atleast_1d(np.asarray(neurons, dtype=int))
    if np.any((idx < 0) | (idx >= n)):
        raise ValueError(f"`neurons` must lie in [0, {n}), got {idx.tolist()}")
    return idx


def _mark_spikes(ax, sol, neuron, color="0.6"):
    for t in sol.spikes_of(neuron):
        ax.axvline(t, color=color, lw=0.6, ls=":", zorder=0)


def raster(sol, ax=None, neurons=None):
    """Spike raster: one row per neuron, rising crossings black, falling crossings red.

    Parameters
    ----------
    sol : Solution
        One trial of either backend.
    ax : matplotlib Axes, optional
    neurons : sequence of int, optional
        Neurons to show (default all).

    Returns
    -------
    Figure
    """
    fig, ax = _axes(ax, figsize=(7, 3))
    idx = _neurons(neurons, sol.v.shape[-1])
    times, who, sign = (np.asarray(a) for a in (sol.spike_times, sol.spike_neurons, sol.spike_signs))
    for row, n in enumerate(idx):
        for sgn, color in ((1, "k"), (-1, "tab:red")):
            ts = times[(who == n) & (sign == sgn)]
            ax.vlines(ts, row + 0.6, row + 1.4, color=color, lw=1.0)
    if np.any(sign < 0):
        from matplotlib.lines import Line2D

        ax.legend([Line2D([], [], color="k"), Line2D([], [], color="tab:red")],
                  ["rising threshold (+1)", "falling threshold (-1)"], fontsize=7, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0))
    ax.set_xlim(float(sol.t[0]), float(sol.t[-1]))
    ax.set_ylim(0.4, idx.size + 0.6)
    ax.set_yticks(np.arange(1, idx.size + 1), [str(n) for n in idx])
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron (index)")
    ax.set_title(f"{sol.n_spikes} spikes")
    return fig


def traces(sol, neurons=(0,), target=None, axes=None):
    """Voltage ``v``, synaptic current ``s`` and readout ``o`` against the target ``o_d``.

    Parameters
    ----------
    sol : Solution
        One trial of either backend.
    neurons : sequence of int
        Neurons whose ``v`` and ``s`` are drawn.
    target : Signal or callable, optional
        ``o_d(t)``; default the problem's target (SciPy backend).
    axes : array of 3 Axes, optional

    Returns
    -------
    Figure
    """
    fig, axes = _axes(axes, 3, 1, figsize=(7, 6.5), sharex=True)
    idx = _neurons(neurons, sol.v.shape[-1])
    t = np.asarray(sol.t)
    for n in idx:
        axes[0].plot(t, sol.v[:, n], lw=1, label=f"neuron {n}")
        axes[1].plot(t, sol.s[:, n], lw=1, label=f"neuron {n}")
    if target is None and sol.extra and "problem" in sol.extra:
        target = sol.extra["problem"].target
    for k in range(sol.o.shape[-1]):
        line, = axes[2].plot(t, sol.o[:, k], lw=1.2, label=f"o[{k}]")
        if target is not None:
            od = np.array([np.asarray(target(float(ti)), dtype=float)[k] for ti in t])
            axes[2].plot(t, od, ls="--", lw=1, color=line.get_color(), label=f"target o_d[{k}]")
    axes[0].set_ylabel("membrane voltage v")
    axes[1].set_ylabel("synaptic current s (1/ms)")
    axes[2].set_ylabel("readout o (1/ms)")
    axes[2].set_xlabel("time (ms)")
    for ax in axes:
        ax.legend(fontsize=7, loc="upper right")
    return fig


def rate_isi(sol, axes=None, sign=None, bins=20):
    """Histograms of the firing rates (Hz) and of the inter-spike intervals (ms).

    Parameters
    ----------
    sol : Solution
        One trial of either backend.
    axes : pair of Axes, optional
    sign : {None, +1, -1}
        Which threshold crossings count as spikes (default all).
    bins : int

    Returns
    -------
    Figure
    """
    fig, axes = _axes(axes, 1, 2, figsize=(8, 3))
    rates = an.firing_rates(sol, sign)
    stats = an.isi_stats(sol, sign)
    axes[0].hist(rates, bins=bins, color="0.4")
    axes[0].set_xlabel("firing rate (Hz)")
    axes[0].set_ylabel("neurons (count)")
    axes[0].set_title(f"mean {rates.mean():.3g} Hz")
    isis = np.concatenate(stats.intervals) if stats.intervals else np.zeros(0)
    axes[1].hist(isis, bins=bins, color="0.4")
    axes[1].set_xlabel("inter-spike interval (ms)")
    axes[1].set_ylabel("intervals (count)")
    cv = np.nanmean(stats.cv) if np.any(np.isfinite(stats.cv)) else np.nan
    axes[1].set_title(f"mean CV {cv:.3g}")
    fig.tight_layout()
    return fig


def current_balance(sol, neuron=0, problem=None, ax=None):
    """External input ``U i + I_o`` against recurrent current ``W s + W_f s_f`` into one neuron.

    Parameters
    ----------
    sol : Solution
        One trial.
    neuron : int
    problem : Problem, optional
        Needed for a JAX solution (see :func:`odesnn.analysis.current_decomposition`).
    ax : Axes, optional

    Returns
    -------
    Figure
    """
    dec = an.current_decomposition(sol, problem)
    net = (problem or sol.extra["problem"]).net
    fig, ax = _axes(ax, figsize=(7, 3))
    _neurons([neuron], dec.total.shape[1])
    ax.plot(dec.t, dec.external[:, neuron], color="tab:blue", lw=1, label="external U i + I0")
    ax.plot(dec.t, dec.recurrent[:, neuron], color="tab:red", lw=1, label="recurrent W s + Wf sf")
    ax.plot(dec.t, dec.total[:, neuron], color="k", lw=1.2, label="total I")
    ax.axhline(0.0, color="0.7", lw=0.6)
    _mark_spikes(ax, sol, neuron)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"current into neuron {neuron} ({_current_unit(net)})")
    ax.legend(fontsize=7, loc="upper right")
    return fig


def work_precision(table, axes=None):
    """Spike-time error against wall time and against right-hand-side evaluations.

    Parameters
    ----------
    table : PrecisionTable
        From :func:`odesnn.analysis.spike_time_precision`.
    axes : pair of Axes, optional

    Returns
    -------
    Figure
    """
    fig, axes = _axes(axes, 1, 2, figsize=(8, 3.2))
    err = np.maximum(table.max_error, np.finfo(float).tiny)
    panels = ((axes[0], table.wall_s, "wall time (s)"), (axes[1], table.nfev, "function evaluations (nfev)"))
    for ax, x, label in panels:
        ax.loglog(x, err, "o-", color="k", label="max |t - t_ref|")
        ax.loglog(x, np.maximum(table.mean_error, np.finfo(float).tiny), "s--", color="0.5",
                  label="mean |t - t_ref|")
        for xi, yi, r in zip(x, err, table.rtol):
            ax.annotate(f"rtol {r:.0e}", (xi, yi), fontsize=7, textcoords="offset points", xytext=(4, 4))
        ax.set_xlabel(label)
        ax.set_ylabel("spike-time error (ms)")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"work-precision, reference rtol {table.reference_rtol:g} ({table.reference_spikes} spikes)")
    fig.tight_layout()
    return fig


def weight_structure(trained, predicted, labels=("trained W_f", "predicted -U O"), off_diagonal=True, axes=None):
    """Two weight matrices side by side and the scatter of their entries.

    Parameters
    ----------
    trained, predicted : array (n, m)
        E.g. ``params.Wf`` and :func:`odesnn.analysis.predicted_fast_weights`.
    labels : pair of str
    off_diagonal : bool
        Leave the diagonal out of the scatter and the statistics.
    axes : three Axes, optional

    Returns
    -------
    Figure
    """
    cmp = an.compare_weights(trained, predicted, off_diagonal)
    fig, axes = _axes(axes, 1, 3, figsize=(11, 3.4))
    for ax, M, label in zip(axes[:2], (trained, predicted), labels):
        M = np.asarray(M, dtype=float)
        lim = float(np.abs(M).max()) or 1.0
        im = ax.imshow(M, cmap="RdBu_r", vmin=-lim, vmax=lim)
        fig.colorbar(im, ax=ax, label="weight (dimensionless)", shrink=0.8)
        ax.set_title(label)
        ax.set_xlabel("presynaptic neuron (index)")
        ax.set_ylabel("postsynaptic neuron (index)")
    axes[2].scatter(cmp.predicted, cmp.trained, s=10, color="k")
    xs = np.array([cmp.predicted.min(), cmp.predicted.max()]) if cmp.predicted.size else np.zeros(2)
    if np.isfinite(cmp.slope):
        axes[2].plot(xs, cmp.slope * xs, color="tab:red", lw=1, label=f"slope {cmp.slope:.3g}")
        axes[2].legend(fontsize=7)
    axes[2].set_xlabel(f"{labels[1]} (dimensionless)")
    axes[2].set_ylabel(f"{labels[0]} (dimensionless)")
    axes[2].set_title(f"r = {cmp.correlation:.3f}")
    fig.tight_layout()
    return fig


def adjoint_traces(sol, adjoint=None, neuron=0, n_points=2000, contributions=True, axes=None):
    """Dense adjoint trajectories ``p_v(t)`` and ``p_s(t)`` of one neuron, with its spikes marked.

    With ``contributions=True`` a third panel shows each spike's contribution
    to ``dC/dI_o`` of that neuron: the gradient density integrated between
    the midpoints to its neighbouring spikes
    (:func:`odesnn.analysis.spike_gradient_contributions` with ``neuron=``).

    Parameters
    ----------
    sol : Solution
        SciPy-backend solution.
    adjoint : Gradient, optional
        From :func:`odesnn.gradient` with ``method="adjoint"`` (computed if omitted).
    neuron : int
    n_points : int
        Evaluation points of the dense output.
    contributions : bool
    axes : array of Axes, optional

    Returns
    -------
    Figure
    """
    from ._scipy.adjoint import adjoint as run_adjoint

    adj = run_adjoint(sol) if adjoint is None else adjoint
    _neurons([neuron], sol.v.shape[-1])
    nrows = 3 if contributions else 2
    fig, axes = _axes(axes, nrows, 1, figsize=(7, 2.2 * nrows + 0.6), sharex=True)
    t = np.linspace(float(sol.t[0]), float(sol.t[-1]), int(n_points))
    P = adj.sol(t)
    axes[0].plot(t, P.v[:, neuron], color="k", lw=1)
    axes[1].plot(t, P.s[:, neuron], color="tab:blue", lw=1)
    axes[0].set_ylabel("p_v (cost units per unit v)")
    axes[1].set_ylabel("p_s = λ_s/τ (cost units)")
    for ax in axes:
        _mark_spikes(ax, sol, neuron, color="tab:red")
    if contributions:
        c = an.spike_gradient_contributions(sol, adj, "I0", neuron=neuron)
        axes[2].stem(c.spike_times, c.values[:, neuron], basefmt="0.6")
        axes[2].set_ylabel(f"dC/dI0[{neuron}] per own spike (cost·ms)")
        axes[2].set_title(f"sum over spikes {c.values[:, neuron].sum():.4g} = adjoint {adj.grads.I0[neuron]:.4g}",
                          fontsize=8)
    axes[-1].set_xlabel("time (ms)")
    axes[0].set_title(f"adjoint of neuron {neuron} (dotted: its spikes)")
    fig.tight_layout()
    return fig
