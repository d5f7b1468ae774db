"""Spike-time precision: errors against a reference run, and a work-precision table over tolerances."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np

from .._checks import as_float_array, check_number
from ._common import _single, _trains


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
    _single(sol)
    _single(reference, "reference")
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
    from .._scipy.forward import simulate

    if hasattr(problem, "spike_times"):
        if not (problem.extra or {}).get("problem"):
            raise ValueError("`problem` is a Solution without its Problem (JAX backend): pass the Problem itself")
        problem = problem.extra["problem"]
    from .._problem import Problem

    if not isinstance(problem, Problem):
        raise TypeError(f"`problem` must be an odesnn.Problem or a SciPy Solution, got {type(problem).__name__}")
    rtols = as_float_array("rtols", rtols, finite=False).ravel()
    if rtols.size == 0 or np.any(~(rtols > 0)) or not np.all(np.isfinite(rtols)):
        raise ValueError(f"`rtols` must be positive numbers, got {rtols!r}")
    check_number("reference_rtol", reference_rtol)
    check_number("atol_factor", atol_factor)
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
