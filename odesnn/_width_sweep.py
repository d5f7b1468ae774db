"""The width sweep: one network and input, gate width Δ over a geometric sequence down to 0.

At each width the cost, the spike times and the exact gradient are taken
(the adjoint of the gated network for Δ > 0, the adjoint with event jumps of
the threshold synapse for Δ = 0), and the gradient's relative distance from
the Δ = 0 gradient, ``grad_rel_diff = ‖g_Δ - g_0‖ / ‖g_0‖``, is recorded.
Where the spikes are the same at every width it falls toward 0 as Δ → 0
(about linearly: the gate delivers a spike's charge while the voltage crosses
the last Δ below threshold, ahead of the spike by a time of order Δ/v̇).
Where a voltage comes within Δ of a threshold without crossing it, the gated
network sees a partial spike that the Δ = 0 network does not: there the limit
fails until Δ is smaller than the distance (docs/width-sweep.md).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from ._problem import Problem, make_problem
from .models.gates import Gate
from .models.network import Params

__all__ = ["width_sweep", "write_width_sweep", "sweep_slope", "DEFAULT_WIDTHS"]

#: Δ from 0.2 down to 2e-4 (ten widths, geometric), then 0
DEFAULT_WIDTHS = tuple(float(w) for w in np.geomspace(0.2, 2e-4, 10)) + (0.0,)


def _norm(params):
    return float(np.sqrt(sum(np.sum(np.square(np.asarray(g, dtype=float))) for g in params)))


def _check_widths(widths):
    ws = np.asarray(widths, dtype=float).ravel()
    if ws.size == 0 or not np.all(np.isfinite(ws)) or np.any(ws < 0):
        raise ValueError(f"`widths` must be non-negative finite numbers, got {widths!r}")
    if not np.any(ws == 0):
        ws = np.append(ws, 0.0)  # the reference
    return np.sort(ws)[::-1]


def width_sweep(net, params, inputs=None, target=None, t_span=None, *, widths=DEFAULT_WIDTHS, kind=None, v0=None,
                s0=None, sf0=None, w0=None, method="adjoint", rtol=1e-10, atol=1e-12, solver="DOP853"):
    """The cost, spikes and gradient of one network at each gate width, compared with the Δ = 0 limit.

    Parameters
    ----------
    net, params, inputs, target, t_span, v0, s0, sf0, w0
        As for :func:`odesnn.simulate`; ``net.gate`` is replaced at each width.
    widths : sequence of float
        Gate widths Δ (0 is added if missing: the reference). A width whose
        zone would reach a reset or another threshold is refused by
        :class:`~odesnn.Network`.
    kind : str, optional
        Gate profile for Δ > 0 (default: ``net.gate.kind``, or ``"smooth"``
        when ``net.gate`` is None).
    method : {"adjoint", "forward"}
        How each gradient is taken (SciPy backend).

    Returns
    -------
    list of dict
        One row per width, widest first: ``width``, ``cost``, ``n_spikes``,
        ``spike_times``, ``spike_neurons``, ``grads`` (a dict of arrays per
        parameter group), ``grad_norm``, ``grad_rel_diff`` (``‖g_Δ - g_0‖/‖g_0‖``),
        ``cost_diff`` (``|C_Δ - C_0|``), ``same_spikes`` (the same spikes, by
        neuron and order, as at Δ = 0) and ``spike_time_max_diff`` (ms; NaN
        unless ``same_spikes``).
    """
    from ._gradient import gradient

    if method not in ("adjoint", "forward"):
        raise ValueError(f"`method`={method!r} unknown; known: ('adjoint', 'forward')")
    kind = kind or (net.gate.kind if net.gate is not None else "smooth")
    Gate(kind, 0.1)  # refuse an unknown profile before any run
    base = make_problem(net, params, inputs, target, t_span, v0, s0, sf0, w0)
    rows = []
    for width in _check_widths(widths):
        gate = None if width == 0 else Gate(kind, float(width))
        net_w = dataclasses.replace(net, gate=gate)
        problem = Problem(net_w, base.params, base.inputs, base.target, base.x0, base.t0, base.t1)
        g = gradient(net_w, problem.params, problem.inputs, problem.target, (problem.t0, problem.t1),
                     v0=problem.x0.v, s0=problem.x0.s, sf0=problem.x0.sf, w0=problem.x0.w, method=method,
                     rtol=rtol, atol=atol, solver=solver)
        sol = g.forward
        if sol is None:
            from ._scipy.forward import simulate

            sol = simulate(problem, method=solver, rtol=rtol, atol=atol)
        rows.append({"width": float(width), "kind": kind if width else None, "cost": float(g.cost),
                     "n_spikes": sol.n_spikes, "spike_times": sol.spike_times, "spike_neurons": sol.spike_neurons,
                     "grads": {name: np.asarray(a) for name, a in zip(Params._fields, g.grads)},
                     "grad_norm": g.norm()})
    ref = rows[-1]
    ref_grads = list(ref["grads"].values())
    for row in rows:
        diff = [a - b for a, b in zip(row["grads"].values(), ref_grads)]
        row["grad_rel_diff"] = _norm(diff) / max(_norm(ref_grads), 1e-300)
        row["cost_diff"] = abs(row["cost"] - ref["cost"])
        row["same_spikes"] = bool(row["n_spikes"] == ref["n_spikes"]
                                  and np.array_equal(row["spike_neurons"], ref["spike_neurons"]))
        row["spike_time_max_diff"] = (float(np.max(np.abs(row["spike_times"] - ref["spike_times"]), initial=0.0))
                                      if row["same_spikes"] else float("nan"))
    return rows


def sweep_slope(rows, key="grad_rel_diff"):
    """Least-squares slope of ``log(key)`` against ``log(width)`` over the rows with Δ > 0 and the Δ = 0 spikes.

    NaN with fewer than two such rows.
    """
    use = [r for r in rows if r["width"] > 0 and r["same_spikes"] and r[key] > 0]
    if len(use) < 2:
        return float("nan")
    x = np.log([r["width"] for r in use])
    y = np.log([r[key] for r in use])
    return float(np.polyfit(x, y, 1)[0])


def _jsonable(row):
    out = {}
    for key, val in row.items():
        if isinstance(val, dict):
            out[key] = {k: np.asarray(v).tolist() for k, v in val.items()}
        elif isinstance(val, np.ndarray):
            out[key] = val.tolist()
        elif isinstance(val, float) and not np.isfinite(val):
            out[key] = None
        else:
            out[key] = val
    return out


def write_width_sweep(rows, out, title=None, figure_name="width_sweep.png"):
    """Write ``sweep.json`` (one row per width) and a log-log figure into the directory ``out``.

    The figure shows ``grad_rel_diff`` and the relative cost difference against
    Δ, and the largest spike-time shift; rows whose spikes differ from
    Δ = 0 are drawn hollow. Returns the paths ``(json, png)``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"slope_grad_rel_diff": sweep_slope(rows), "slope_spike_time_max_diff":
               sweep_slope(rows, "spike_time_max_diff"), "rows": [_jsonable(r) for r in rows]}
    summary = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in summary.items()}
    json_path = out / "sweep.json"
    json_path.write_text(json.dumps(summary, indent=1) + "\n")
    pos = [r for r in rows if r["width"] > 0]
    ref_cost = abs(rows[-1]["cost"]) or 1.0
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    series = [("grad_rel_diff", lambda r: r["grad_rel_diff"], "C0", "‖g_Δ − g_0‖ / ‖g_0‖"),
              ("cost", lambda r: r["cost_diff"] / ref_cost, "C1", "|C_Δ − C_0| / |C_0|"),
              ("spike", lambda r: r["spike_time_max_diff"], "C2", "max |t_k(Δ) − t_k(0)| (ms)")]
    for _, value, color, label in series:
        w = np.array([r["width"] for r in pos])
        y = np.array([value(r) for r in pos], dtype=float)
        same = np.array([r["same_spikes"] for r in pos])
        ok = np.isfinite(y) & (y > 0)
        ax.loglog(w[ok], y[ok], "-", color=color, alpha=0.6)
        ax.loglog(w[ok & same], y[ok & same], "o", color=color, label=label)
        ax.loglog(w[ok & ~same], y[ok & ~same], "o", mfc="none", color=color)
    ax.set_xlabel("gate width Δ")
    ax.set_ylabel("distance from Δ = 0")
    slope = summary["slope_grad_rel_diff"]
    ax.set_title(title or (f"width sweep (gradient slope {slope:.2f})" if slope is not None else "width sweep"))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    png_path = out / figure_name
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return json_path, png_path
