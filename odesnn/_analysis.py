"""Quantities computed from a :class:`~odesnn.Solution`.

Spike statistics (:func:`firing_rates`, :func:`isi_stats`) need only the
spike times and so work on the result of either backend. The current
decomposition needs the parameters and the input signal: they are taken from
``sol.extra["problem"]`` (SciPy backend) or passed as ``problem=``. The
quadratures (:func:`synaptic_charge`, :func:`spike_gradient_contributions`)
need the piecewise dense output of the SciPy backend.

Times are in ms and rates in Hz throughout.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from . import _dynamics as dyn
from .models.network import State

__all__ = [
    "synaptic_charge", "firing_rates", "isi_stats", "ISIStats", "current_decomposition", "CurrentDecomposition",
    "spike_time_precision", "PrecisionTable", "spike_time_errors", "spike_gradient_contributions",
    "SpikeContributions", "predicted_fast_weights", "compare_weights", "WeightComparison",
]

_GAUSS = np.polynomial.legendre.leggauss(8)


def synaptic_charge(sol, neuron=0, fast=False, tail=True):
    """``∫ s dt`` of one neuron's synapse over the simulated interval (SciPy backend).

    Each piece of the dense output is a polynomial, integrated exactly by
    Gauss-Legendre quadrature. With ``tail=True`` the exponential decay after
    the end, ``τ s(t1)``, is added (valid when the neuron is outside its
    active zone at ``t1``), giving the total charge delivered.
    """
    segments = sol.extra.get("segments") if sol.extra else None
    if segments is None:
        raise ValueError("`sol` needs the dense output of the SciPy backend")
    net = sol.extra["problem"].net
    N = net.n_neurons
    col = (2 * N if fast else N) + neuron
    nodes, weights = np.polynomial.legendre.leggauss(12)
    total = 0.0
    for seg in segments:
        if seg.t1 <= seg.t0:
            continue
        half = 0.5 * (seg.t1 - seg.t0)
        ts = seg.t0 + half * (nodes + 1)
        total += half * float(weights @ np.asarray(seg.interp(ts))[col])
    if tail:
        tau = net.tau_f if fast else net.tau
        end = sol.s[-1, neuron] if not fast else sol.sf[-1, neuron]
        total += tau * float(end)
    return total


# -- helpers -----------------------------------------------------------------------------------------------------


def _single(sol):
    if np.ndim(sol.v) != 2:
        raise ValueError(f"`sol` must hold one trial (v of shape (T, N)), got v of shape {np.shape(sol.v)}; "
                         "index a batched JAX solution trial by trial")
    return sol


def _problem(sol, problem):
    if problem is not None:
        return problem
    problem = (sol.extra or {}).get("problem")
    if problem is None:
        raise ValueError("`sol` carries no problem (JAX backend): pass `problem=` (an odesnn Problem)")
    return problem


def _dense(sol):
    if not sol.extra or sol.extra.get("segments") is None:
        raise ValueError("`sol` needs the dense output of the SciPy backend (sol.extra['segments'])")
    return sol.extra["segments"]


def _spike_mask(sol, sign):
    if sign is None:
        return np.ones(sol.n_spikes, dtype=bool)
    if sign not in (1, -1):
        raise ValueError(f"`sign` must be None, +1 or -1, got {sign!r}")
    return np.asarray(sol.spike_signs) == sign


def _trains(sol, sign=None):
    """Spike times of each neuron, a list of sorted arrays."""
    _single(sol)
    mask = _spike_mask(sol, sign)
    times, neurons = np.asarray(sol.spike_times)[mask], np.asarray(sol.spike_neurons)[mask]
    return [np.sort(times[neurons == n]) for n in range(sol.v.shape[-1])]


# -- spike statistics --------------------------------------------------------------------------------------------


def firing_rates(sol, sign=None, t_span=None):
    """Firing rate of each neuron in Hz.

    Parameters
    ----------
    sol : Solution
        One trial of either backend.
    sign : {None, +1, -1}
        Count only the crossings of rising (+1) or falling (-1) thresholds;
        ``None`` counts all.
    t_span : (float, float), optional
        Window in ms (default: the simulated interval ``sol.t[0], sol.t[-1]``).

    Returns
    -------
    ndarray (N,)
        ``1000 * count / duration`` (spikes per second).
    """
    t0, t1 = (float(sol.t[0]), float(sol.t[-1])) if t_span is None else (float(x) for x in t_span)
    if not t1 > t0:
        raise ValueError(f"`t_span` must have t1 > t0, got {(t0, t1)!r}")
    counts = [np.count_nonzero((tr >= t0) & (tr <= t1)) for tr in _trains(sol, sign)]
    return 1000.0 * np.asarray(counts, dtype=float) / (t1 - t0)


class ISIStats(NamedTuple):
    """Inter-spike interval statistics per neuron (NaN where undefined).

    Attributes
    ----------
    mean : ndarray (N,)
        Mean interval in ms (needs 2 spikes).
    cv : ndarray (N,)
        Coefficient of variation, std/mean (needs 3 spikes).
    intervals : list of ndarray
        The intervals of each neuron in ms.
    """

    mean: np.ndarray
    cv: np.ndarray
    intervals: list


def isi_stats(sol, sign=None):
    """Mean and coefficient of variation of the inter-spike intervals of each neuron.

    Parameters
    ----------
    sol : Solution
        One trial of either backend.
    sign : {None, +1, -1}
        Use only the crossings of rising (+1) or falling (-1) thresholds.

    Returns
    -------
    ISIStats
        ``mean`` (ms), ``cv`` (dimensionless, population std over mean) and
        the ``intervals`` of each neuron.
    """
    intervals = [np.diff(tr) for tr in _trains(sol, sign)]
    mean = np.array([isi.mean() if isi.size >= 1 else np.nan for isi in intervals])
    cv = np.array([isi.std() / isi.mean() if isi.size >= 2 else np.nan for isi in intervals])
    return ISIStats(mean, cv, intervals)


# -- input against recurrent current ------------------------------------------------------------------------------


class CurrentDecomposition(NamedTuple):
    """Input current split into its external and recurrent parts, on ``t``.

    Attributes
    ----------
    t : ndarray (T,)
        Times in ms.
    external : ndarray (T, N)
        ``U i(t) + I_o``.
    recurrent : ndarray (T, N)
        ``W s + W_f s_f``.
    total : ndarray (T, N)
        ``I``, the current the dynamics use (``external + recurrent``).
    """

    t: np.ndarray
    external: np.ndarray
    recurrent: np.ndarray
    total: np.ndarray


def current_decomposition(sol, problem=None):
    """Balance of external input against recurrent current for every neuron over time.

    Both parts are computed with :func:`odesnn._dynamics.current` (so the
    structural masks apply): the external part with the synapses set to
    zero, the total with the simulated ``s, s_f``.

    Parameters
    ----------
    sol : Solution
        One trial, on its output times ``sol.t``.
    problem : Problem, optional
        Source of the parameters and of ``i(t)``; default
        ``sol.extra["problem"]`` (required for a JAX solution).

    Returns
    -------
    CurrentDecomposition
    """
    _single(sol)
    problem = _problem(sol, problem)
    net, params = problem.net, problem.params
    zs, zf = np.zeros(net.n_neurons), np.zeros(net.n_fast)
    ext, tot = [], []
    for k, t in enumerate(np.asarray(sol.t, dtype=float)):
        i_t = np.asarray(problem.inputs(t), dtype=float)
        ext.append(dyn.current(net, params, zs, zf, i_t))
        tot.append(dyn.current(net, params, np.asarray(sol.s[k]), np.asarray(sol.sf[k]), i_t))
    ext, tot = np.asarray(ext), np.asarray(tot)
    return CurrentDecomposition(np.asarray(sol.t, dtype=float), ext, tot - ext, tot)


# -- spike-time precision against solver tolerance ----------------------------------------------------------------


def spike_time_errors(sol, reference):
    """Absolute spike-time differences of ``sol`` from ``reference``, matched per neuron and sign.

    The k-th crossing of each (neuron, threshold sign) is matched with the
    k-th in the reference; extra or missing crossings are counted.

    Returns
    -------
    errors : ndarray
        ``|t - t_ref|`` in ms for every matched spike.
    n_unmatched : int
        Crossings present in one solution but not the other.
    """
    errs, unmatched = [], 0
    for sign in (1, -1):
        for a, b in zip(_trains(sol, sign), _trains(reference, sign)):
            n = min(a.size, b.size)
            errs.append(np.abs(a[:n] - b[:n]))
            unmatched += abs(a.size - b.size)
    return np.concatenate(errs) if errs else np.zeros(0), unmatched


@dataclass
class PrecisionTable:
    """Spike-time precision of the SciPy backend at each tolerance (one row per ``rtol``).

    Attributes
    ----------
    rtol, atol : ndarray
        Solver tolerances.
    max_error, mean_error : ndarray
        Largest and mean ``|t_spike - t_ref|`` over matched spikes, in ms.
    n_spikes, n_unmatched : ndarray of int
        Spikes found, and spikes missing or extra relative to the reference.
    wall_s : ndarray
        Wall-clock time of the simulation in s.
    nfev, n_steps : ndarray of int
        Right-hand-side evaluations and accepted steps.
    reference_rtol : float
        Tolerance of the reference solution.
    reference_spikes : int
        Spikes in the reference.
    """

    rtol: np.ndarray
    atol: np.ndarray
    max_error: np.ndarray
    mean_error: np.ndarray
    n_spikes: np.ndarray
    n_unmatched: np.ndarray
    wall_s: np.ndarray
    nfev: np.ndarray
    n_steps: np.ndarray
    reference_rtol: float
    reference_spikes: int

    def rows(self):
        """The table as a list of dicts, one per tolerance."""
        cols = [f.name for f in fields(self) if isinstance(getattr(self, f.name), np.ndarray)]
        return [{c: getattr(self, c)[i].item() for c in cols} for i in range(self.rtol.size)]

    def __str__(self):
        head = f"{'rtol':>8} {'atol':>8} {'max err (ms)':>13} {'mean err (ms)':>13} {'spikes':>6} " \
               f"{'unmatched':>9} {'wall (s)':>9} {'nfev':>8}"
        lines = [head]
        for r in self.rows():
            lines.append(f"{r['rtol']:8.0e} {r['atol']:8.0e} {r['max_error']:13.3e} {r['mean_error']:13.3e} "
                         f"{r['n_spikes']:6d} {r['n_unmatched']:9d} {r['wall_s']:9.3f} {r['nfev']:8d}")
        lines.append(f"reference: rtol={self.reference_rtol:g}, {self.reference_spikes} spikes")
        return "\n".join(lines)


def spike_time_precision(problem, rtols=(1e-4, 1e-6, 1e-8, 1e-10), *, reference_rtol=1e-12, atol_factor=1e-2,
                         method="DOP853", reference=None):
    """Spike-time error against solver tolerance, with the cost of each run (SciPy backend).

    Parameters
    ----------
    problem : Problem or Solution
        What to simulate (a SciPy :class:`~odesnn.Solution` stands for its problem).
    rtols : sequence of float
        Relative tolerances to test; ``atol = atol_factor * rtol``.
    reference_rtol : float
        Tolerance of the reference run.
    method : str
        SciPy solver.
    reference : Solution, optional
        A precomputed reference (skips the reference run).

    Returns
    -------
    PrecisionTable
        A failed run gives NaN errors and ``-1`` counts in its row.
    """
    from ._scipy.forward import simulate

    if hasattr(problem, "spike_times"):
        if not (problem.extra or {}).get("problem"):
            raise ValueError("`problem` is a Solution without its Problem (JAX backend): pass the Problem itself")
        problem = problem.extra["problem"]
    rtols = np.asarray(rtols, dtype=float).ravel()
    if rtols.size == 0 or np.any(~(rtols > 0)):
        raise ValueError(f"`rtols` must be positive numbers, got {rtols!r}")
    if reference is None:
        reference = simulate(problem, method=method, rtol=reference_rtol, atol=atol_factor * reference_rtol)
    cols = {k: [] for k in ("max_error", "mean_error", "n_spikes", "n_unmatched", "wall_s", "nfev", "n_steps")}
    for rtol in rtols:
        t0 = time.perf_counter()
        sol = simulate(problem, method=method, rtol=rtol, atol=atol_factor * rtol, throw=False)
        wall = time.perf_counter() - t0
        ok = sol.success
        errs, unmatched = spike_time_errors(sol, reference) if ok else (np.zeros(0), -1)
        cols["max_error"].append(errs.max() if (ok and errs.size) else (0.0 if ok else np.nan))
        cols["mean_error"].append(errs.mean() if (ok and errs.size) else (0.0 if ok else np.nan))
        cols["n_spikes"].append(sol.n_spikes if ok else -1)
        cols["n_unmatched"].append(unmatched)
        cols["wall_s"].append(wall)
        cols["nfev"].append(int(sol.stats.get("nfev", -1)))
        cols["n_steps"].append(int(sol.stats.get("n_steps", -1)))
    ints = ("n_spikes", "n_unmatched", "nfev", "n_steps")
    arrays = {k: np.asarray(v, dtype=int if k in ints else float) for k, v in cols.items()}
    return PrecisionTable(rtol=rtols, atol=atol_factor * rtols, reference_rtol=float(reference_rtol),
                          reference_spikes=reference.n_spikes, **arrays)


# -- per-spike contributions to the gradient ----------------------------------------------------------------------


class SpikeContributions(NamedTuple):
    """Gradient of one parameter group integrated over a window around each spike.

    Attributes
    ----------
    spike_times, spike_neurons : ndarray (n_spikes,)
        The spikes, as in the :class:`~odesnn.Solution`.
    windows : ndarray (n_spikes, 2)
        Integration window of each spike in ms.
    values : ndarray (n_spikes, ...)
        ``∫_window ∂H/∂θ dt`` for the parameter group (shape of the group after the spike axis).
    total : ndarray
        ``∫ ∂H/∂θ dt`` over the whole interval (equals the adjoint gradient up to quadrature error).
    """

    spike_times: np.ndarray
    spike_neurons: np.ndarray
    windows: np.ndarray
    values: np.ndarray
    total: np.ndarray


def _windows(times, t0, t1, width):
    if width is None:  # split the interval at the midpoints between consecutive spikes
        mids = 0.5 * (times[1:] + times[:-1])
        lo = np.concatenate([[t0], mids])
        hi = np.concatenate([mids, [t1]])
    else:
        if not (np.isscalar(width) and width > 0):
            raise ValueError(f"`window` must be None or a positive half-width in ms, got {width!r}")
        lo, hi = np.maximum(times - width, t0), np.minimum(times + width, t1)
    return np.stack([lo, hi], axis=1) if times.size else np.zeros((0, 2))


def spike_gradient_contributions(sol, adjoint=None, param="I0", window=None, neuron=None):
    """Per-spike contributions to the gradient, from the dense forward and adjoint solutions.

    The gradient of the cost is ``dC/dθ = ∫ ∂H/∂θ dt`` with the density of
    :func:`odesnn._dynamics.gradient_density` (e.g. ``f_I p_v`` for ``I_o``).
    This integrates the density over a window around each spike by
    Gauss-Legendre quadrature on every smooth piece of the solution.

    Parameters
    ----------
    sol : Solution
        SciPy-backend solution (it carries the dense output).
    adjoint : AdjointResult, optional
        From :func:`odesnn._scipy.adjoint.adjoint` (computed if omitted).
    param : {"I0", "W", "Wf", "U", "O"}
        Parameter group.
    window : float or None
        ``None``: the interval is split at the midpoints between consecutive
        spikes (the first window starts at ``t0``, the last ends at ``t1``),
        so the contributions add up to the whole gradient. A number: the half-width in ms of a window centred on each
        spike (windows may overlap or leave gaps).
    neuron : int, optional
        Use only the spikes of this neuron (default: the spikes of all).

    Returns
    -------
    SpikeContributions
    """
    from .models.network import Params
    from ._scipy.adjoint import adjoint as run_adjoint

    if param not in Params._fields:
        raise ValueError(f"`param`={param!r} unknown; known: {Params._fields}")
    segments = _dense(sol)
    problem = _problem(sol, None)
    net, params = problem.net, problem.params
    adj = run_adjoint(sol) if adjoint is None else adjoint
    times, who = np.asarray(sol.spike_times, dtype=float), np.asarray(sol.spike_neurons, dtype=int)
    if neuron is not None:
        if not 0 <= int(neuron) < net.n_neurons:
            raise ValueError(f"`neuron` must lie in [0, {net.n_neurons}), got {neuron!r}")
        times, who = times[who == neuron], who[who == neuron]
    wins = _windows(times, problem.t0, problem.t1, window)
    cuts = np.unique(np.concatenate([[seg.t0 for seg in segments], [seg.t1 for seg in segments], wins.ravel()]))
    pieces, ints = [], []
    nodes, weights = _GAUSS
    for seg in segments:
        inner = cuts[(cuts > seg.t0) & (cuts < seg.t1)]
        edges = np.concatenate([[seg.t0], inner, [seg.t1]])
        for a, b in zip(edges[:-1], edges[1:]):
            if b <= a:
                continue
            half = 0.5 * (b - a)
            ts = a + half * (nodes + 1)
            X = np.asarray(seg.interp(ts)).T
            P = adj.sol(ts)
            acc = 0.0
            for j, t in enumerate(ts):
                x = State(*(X[j, lo:hi] for lo, hi in _state_slices(net)))
                p = State(P.v[j], P.s[j], P.sf[j])
                g = dyn.gradient_density(net, params, x, problem.inputs(t), problem.target(t), p)
                acc = acc + weights[j] * np.asarray(getattr(g, param))
            pieces.append(0.5 * (a + b))
            ints.append(half * acc)
    mids, ints = np.asarray(pieces), np.asarray(ints)
    values = np.stack([ints[(mids > lo) & (mids < hi)].sum(axis=0) for lo, hi in wins]) if wins.size else \
        np.zeros((0,) + np.shape(getattr(params, param)))
    return SpikeContributions(times, who, wins, values, ints.sum(axis=0))


def _state_slices(net):
    N, Nf = net.n_neurons, net.n_fast
    return ((0, N), (N, 2 * N), (2 * N, 2 * N + Nf))


# -- weight structure ---------------------------------------------------------------------------------------------


def predicted_fast_weights(params):
    """The fast recurrent weights of the efficient balanced network, ``W_f ≈ -U O`` (paper, Fig. 2E).

    Needs ``n_outputs == n_inputs`` (auto-encoding). The diagonal is set to zero.
    """
    U, O = np.asarray(params.U), np.asarray(params.O)
    if U.shape[1] != O.shape[0]:
        raise ValueError(f"`-U O` needs as many inputs as outputs; U is {U.shape}, O is {O.shape}")
    pred = -U @ O
    np.fill_diagonal(pred, 0.0)
    return pred


class WeightComparison(NamedTuple):
    """Agreement of a weight matrix with a prediction.

    Attributes
    ----------
    correlation : float
        Pearson correlation of the compared entries.
    slope : float
        Least-squares ``a`` in ``trained ≈ a * predicted``.
    relative_error : float
        ``‖trained - a predicted‖ / ‖trained‖``.
    trained, predicted : ndarray
        The compared entries (flattened).
    """

    correlation: float
    slope: float
    relative_error: float
    trained: np.ndarray
    predicted: np.ndarray


def compare_weights(trained, predicted, off_diagonal=True):
    """Compare a weight matrix with a predicted one (e.g. ``W_f`` with ``-U O``, or ``U`` with ``Oᵀ``).

    Parameters
    ----------
    trained, predicted : array (n, m)
    off_diagonal : bool
        Compare only the off-diagonal entries (square matrices).

    Returns
    -------
    WeightComparison
    """
    A, B = np.asarray(trained, dtype=float), np.asarray(predicted, dtype=float)
    if A.shape != B.shape:
        raise ValueError(f"`trained` {A.shape} and `predicted` {B.shape} must have the same shape")
    if off_diagonal and A.ndim == 2 and A.shape[0] == A.shape[1]:
        keep = ~np.eye(A.shape[0], dtype=bool)
        a, b = A[keep], B[keep]
    else:
        a, b = A.ravel(), B.ravel()
    corr = float(np.corrcoef(a, b)[0, 1]) if a.size > 1 and a.std() > 0 and b.std() > 0 else np.nan
    bb = float(b @ b)
    slope = float(a @ b) / bb if bb > 0 else np.nan
    norm = float(np.linalg.norm(a))
    rel = float(np.linalg.norm(a - slope * b) / norm) if norm > 0 and np.isfinite(slope) else np.nan
    return WeightComparison(corr, slope, rel, a, b)


# -- sensitivity to the initial state -------------------------------------------------------------------------------


class PerturbationGrowth(NamedTuple):
    """How a tiny perturbation of the initial voltages or of ``I_o`` grows (:func:`perturbation_growth`).

    Attributes
    ----------
    t : ndarray (T,)
        Times, ms.
    distance : ndarray (T,)
        ``max_n |s_n(t) - s'_n(t)|`` between the two runs, 1/ms. One spike more
        or less changes ``s`` by ``1/τ``.
    eps : float
        Size of the perturbation (largest change of any initial voltage, or
        of any entry of ``I_o``).
    perturbed : str
        What was perturbed: ``"v0"`` or ``"I0"``.
    """

    t: np.ndarray
    distance: np.ndarray
    eps: float
    perturbed: str = "v0"

    def growth(self):
        """``distance / eps`` at each time: the amplification of the perturbation."""
        return self.distance / self.eps

    def rate(self, ceiling=1e-3):
        """Growth rate (1/ms) of a least-squares line through ``log distance``.

        The fit uses the times where ``0 < distance < ceiling``, so that it stops
        before the difference saturates at whole spikes. Positive: perturbations
        grow (``1/rate`` is the e-folding time); negative: they die away. NaN
        when fewer than two times qualify.
        """
        keep = (self.distance > 0) & (self.distance < ceiling)
        if np.count_nonzero(keep) < 2:
            return float("nan")
        return float(np.polyfit(self.t[keep], np.log(self.distance[keep]), 1)[0])


def perturbation_growth(net, params, inputs=None, target=None, t_span=None, *, v0=None, eps=1e-9, seed=0,
                        t_eval=None, perturb="v0", backend="scipy", **options):
    """Simulate twice, the second time with the initial voltages (or ``I_o``) moved by at most ``eps``.

    A test of whether a network is chaotic in the regime of a trial: the
    exact gradient of a cost over that trial carries the same amplification.
    Arguments are those of :func:`odesnn.simulate`, plus ``eps`` (positive; the
    perturbation is ``eps`` times a random direction of unit largest entry,
    drawn from ``seed``), ``t_eval`` (default: 201 points over ``t_span``) and
    ``perturb``: ``"v0"`` moves the initial voltages, ``"I0"`` the tonic
    currents for the whole trial. Prefer ``"I0"`` for excitable networks that
    rest before their first input: resting neurons relax to their fixed points
    and can erase a perturbation of ``v0`` to the last bit before the activity
    that would amplify it starts. Use a tolerance well below ``eps`` (the
    defaults of the SciPy backend are), or the solver's own error drowns the
    perturbation.

    Returns
    -------
    PerturbationGrowth
    """
    from ._api import simulate
    from ._problem import check_t_span

    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"`eps` must be a positive number, got {eps!r}")
    t0, t1 = check_t_span(t_span)
    t_eval = np.linspace(t0, t1, 201) if t_eval is None else np.asarray(t_eval, float)
    v0 = np.zeros(net.n_neurons) if v0 is None else np.asarray(v0, dtype=float)
    direction = np.random.default_rng(seed).uniform(-1.0, 1.0, net.n_neurons)
    direction /= np.max(np.abs(direction))
    if perturb == "v0":
        cases = ((params, v0), (params, v0 + eps * direction))
    elif perturb == "I0":
        cases = ((params, v0), (params._replace(I0=np.asarray(params.I0, dtype=float) + eps * direction), v0))
    else:
        raise ValueError(f"`perturb` must be 'v0' or 'I0', got {perturb!r}")
    runs = [simulate(net, p, inputs, target, t_span, v0=v, backend=backend, t_eval=t_eval, **options)
            for p, v in cases]
    distance = np.max(np.abs(np.asarray(runs[0].s) - np.asarray(runs[1].s)), axis=1)
    return PerturbationGrowth(np.asarray(runs[0].t, dtype=float), distance, float(eps), perturb)
