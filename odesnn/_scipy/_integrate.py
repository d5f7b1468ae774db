"""Adaptive integration with threshold events, for SciPy's ``OdeSolver`` classes.

The driver steps a SciPy solver (``RK45``, ``DOP853``, ``Radau``, ...) one
step at a time, checks every event function for a sign change across the
step, locates the earliest crossing on the step's dense output with Brent's
method, truncates the step there, applies the jump and restarts the solver.
Event functions are ``y[neuron] - level`` with a direction, evaluated for all
events at once.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

import numpy as np
from scipy.integrate import BDF, DOP853, LSODA, RK23, RK45, Radau
from scipy.integrate._ivp.rk import Dop853DenseOutput
from scipy.optimize import brentq

METHODS = {"RK23": RK23, "RK45": RK45, "DOP853": DOP853, "Radau": Radau, "BDF": BDF, "LSODA": LSODA}

THRESHOLD, EDGE = 0, 1
N_SAMPLES = 7  # interior samples of each step checked for crossings
#: spikes over which a neuron's rate is measured for ``max_rate``: the rate is ``(RATE_WINDOW - 1)`` intervals
#: over the time from the first to the last of its latest ``RATE_WINDOW`` threshold crossings
RATE_WINDOW = 10
#: default ``max_rate`` of both backends, Hz: one spike per 0.01 ms, far above any biological or trained rate
DEFAULT_MAX_RATE = 1e5


_NONE, _NONE_T = np.zeros(0, dtype=int), np.zeros(0)


@dataclass(frozen=True)
class Events:
    """Event functions ``y[neuron] - level`` crossed in ``direction`` (+1 up, -1 down)."""

    neuron: np.ndarray
    level: np.ndarray
    direction: np.ndarray
    kind: np.ndarray  # THRESHOLD or EDGE
    threshold: np.ndarray  # index into neuron.thresholds
    closed: np.ndarray  # post-crossing side includes h == 0 (matches Gate.in_zone)

    def post(self, H, rows=slice(None)):
        """Whether ``H = v - level`` is on the post-crossing side of each event row."""
        Hd = H * self.direction[rows]  # beyond the level in the crossing's direction, or on it for a closed side
        return (Hd > 0) | ((Hd == 0) & self.closed[rows])

    @classmethod
    def for_network(cls, net):
        rows = []
        N = net.n_neurons
        for j, th in enumerate(net.neuron.thresholds):
            rows.append((th.value, th.direction, THRESHOLD, j, True))
            if net.gate is not None and th.synaptic:
                # entering the zone (crossing in the threshold's direction) lands inside it
                edge = net.gate.edge(th)
                rows.append((edge, th.direction, EDGE, j, True))
                rows.append((edge, -th.direction, EDGE, j, False))
        neuron = np.concatenate([np.arange(N)] * len(rows))
        cols = [np.repeat(np.array([r[i] for r in rows]), N) for i in range(5)]
        return cls(neuron, cols[0].astype(float), cols[1].astype(int), cols[2].astype(int), cols[3].astype(int),
                   cols[4].astype(bool))

    def crossed(self, ts, V):
        """Events crossed between voltage samples ``V`` (m, N) at times ``ts`` (m,).

        Returns the event rows and, for each, the bracket of its first crossing.
        """
        P = self.post(V[:, self.neuron] - self.level)
        cross = ~P[:-1] & P[1:]
        if not cross.any():
            return _NONE, _NONE_T, _NONE_T
        hit = np.flatnonzero(cross.any(axis=0))
        first = np.argmax(cross[:, hit], axis=0)
        return hit, ts[first], ts[first + 1]


@dataclass
class Segment:
    """A piece of dense output valid on ``[t0, t1]``."""

    t0: float
    t1: float
    interp: object

    def __call__(self, t):
        return self.interp(t)


class DenseSolution:
    """Piecewise dense output; right-continuous at event times."""

    def __init__(self, segments):
        self.segments = segments
        self._starts = [seg.t0 for seg in segments]
        self._ends = [seg.t1 for seg in segments]

    def restrict(self, lo, hi):
        """The pieces inside ``[lo, hi]``: evaluation at ``hi`` uses the left limit there."""
        i = bisect.bisect_right(self._ends, lo)
        j = bisect.bisect_left(self._starts, hi)
        return DenseSolution(self.segments[i:max(j, i + 1)])

    def __call__(self, t):
        t = np.asarray(t, dtype=float)
        if t.ndim == 0:
            k = max(bisect.bisect_right(self._starts, float(t)) - 1, 0)
            return self.segments[k](float(t))
        return np.stack([self(float(ti)) for ti in t])


@dataclass
class EventRecord:
    t: float
    index: int  # row of Events
    y_pre: np.ndarray
    y_post: np.ndarray


@dataclass
class RunStats:
    n_steps: int = 0
    n_rejected: int | None = 0
    nfev: int = 0
    n_events: int = 0
    n_edges: int = 0

    def as_dict(self):
        return dict(self.__dict__)


def make_solver(method, fun, t0, y0, t1, rtol, atol, first_step=None, max_step=np.inf):
    if method not in METHODS:
        raise ValueError(f"`method`={method!r} unknown; known: {sorted(METHODS)}")
    kw = {} if first_step is None else {"first_step": first_step}
    return METHODS[method](fun, t0, y0, t1, rtol=rtol, atol=atol, max_step=max_step, **kw)


_FRACTIONS = np.linspace(0.0, 1.0, N_SAMPLES + 2)


@functools.lru_cache(maxsize=4)
def _dop853_basis(power):
    """(N_SAMPLES, power): the weight of each row of a ``Dop853DenseOutput``'s ``F`` in its value at the interior
    sample fractions (SciPy's evaluation applied to the identity)."""
    x = _FRACTIONS[1:-1, None]
    y = np.zeros((x.shape[0], power))
    for i, f in enumerate(np.eye(power)[::-1]):
        y += f
        y *= x if i % 2 == 0 else 1 - x
    return y


def _samples(interp, y_old, y_new, n_v):
    """Sample times (N_SAMPLES + 2,) of a step and its first ``n_v`` components (the voltages) there (N_SAMPLES + 2,
    n_v): the ends and N_SAMPLES interior points of its dense output (for DOP853 one small matrix product)."""
    t_old, t_new = interp.t_old, interp.t
    ts = t_old + (t_new - t_old) * _FRACTIONS
    ts[-1] = t_new
    if type(interp) is Dop853DenseOutput:
        inner = _dop853_basis(interp.F.shape[0]) @ interp.F[:, :n_v] + interp.y_old[:n_v]
    else:
        inner = np.asarray(interp(ts[1:-1]))[:n_v].T
    return ts, np.vstack([y_old[:n_v], inner, y_new[:n_v]])


def _component(interp, n):
    """``t -> interp(t)[n]``: one component of a step's dense output.

    For DOP853 (the default method) the polynomial of that component alone is
    evaluated, with the operations of SciPy's own evaluation in the same order,
    so the value is the same to the last bit; other dense outputs are evaluated
    whole.
    """
    if type(interp) is Dop853DenseOutput:
        coefs = [float(c) for c in interp.F[::-1, n]]
        t_old, step, y_old = interp.t_old, interp.h, float(interp.y_old[n])

        def value(t):
            x = (t - t_old) / step
            y = 0.0
            for i, c in enumerate(coefs):
                y = (y + c) * (x if i % 2 == 0 else 1 - x)
            return y + y_old

        return value
    return lambda t: interp(t)[n]


def _locate(interp, events, e, a, b):
    """Earliest time in (a, b] at which event ``e`` is on its post-crossing side."""
    level = events.level[e]
    component = _component(interp, events.neuron[e])

    up, closed = events.direction[e] > 0, bool(events.closed[e])

    def h(t):
        return component(t) - level

    def post(t):  # Events.post for one row and a scalar
        H = h(t)
        return (H >= 0 if closed else H > 0) if up else (H <= 0 if closed else H < 0)

    r = brentq(h, a, b, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=200)
    if post(r):
        return r
    # nudge just past the root so that the restart sees the post-crossing side
    step = 4 * np.finfo(float).eps * max(1.0, abs(r))
    for _ in range(60):
        r = min(r + step, b)
        if post(r) or r == b:
            return r
        step *= 2
    return b


def integrate_events(fun_from, t0, t1, y0, events, on_event, **options):
    """Integrate ``y' = fun(t, y)`` from ``t0`` to ``t1`` through events.

    ``fun_from(y_start, t_start)`` returns the right-hand side for a piece that
    starts at state ``y_start`` and time ``t_start`` (it may freeze the
    discontinuous-gate zones there, and the piece of a jumping input).
    ``y[:N]`` holds the voltages that the event functions test; ``on_event(t,
    index, y_pre) -> y_post`` applies the jump (a reset, or nothing at a box
    edge). ``options``: ``method, rtol, atol, max_steps, max_events`` and
    optionally ``throw, max_step, tstops, max_rate`` (Hz, default
    :data:`DEFAULT_MAX_RATE`: stop with status 4 when a neuron's rate over its
    last :data:`RATE_WINDOW` threshold crossings exceeds it; ``None``: no such
    check). Returns ``(segments, records,
    stats, status, message)``.
    """
    # a non-finite vector field or state stops the integration with its time and component (below), so numpy's
    # own invalid-value and overflow warnings on the way there are noise
    with np.errstate(invalid="ignore", over="ignore"):
        return _integrate_events(fun_from, t0, t1, y0, events, on_event, **options)


class RateGuard:
    """Each neuron's latest :data:`RATE_WINDOW` spike times, and the check of its rate against ``max_rate`` (Hz)."""

    def __init__(self, n_neurons, max_rate, window=RATE_WINDOW):
        self.max_rate, self.window = max_rate, window
        self.times = np.full((n_neurons, window), -np.inf)
        self.count = np.zeros(n_neurons, dtype=int)

    def spike(self, n, t):
        """Record a spike of neuron ``n`` at ``t`` (ms); a message if its rate now exceeds ``max_rate``, else None."""
        k = self.window
        self.times[n, self.count[n] % k] = t
        self.count[n] += 1
        if self.max_rate is None or self.count[n] < k:
            return None
        span = t - self.times[n, self.count[n] % k]  # from the first to the last of its latest k spikes
        if span * self.max_rate >= 1000.0 * (k - 1):
            return None
        rate = np.inf if span <= 0 else 1000.0 * (k - 1) / span
        return (f"neuron {n} fired {k} spikes in {span:.3g} ms up to t={t:.12g} ms, a rate of {rate:.3g} Hz "
                f"above max_rate={self.max_rate:g} Hz: runaway or ever faster (Zeno) spiking; check the weights "
                f"and drive, or raise `max_rate`")


def _integrate_events(fun_from, t0, t1, y0, events, on_event, *, method, rtol, atol, max_steps, max_events,
                      throw=True, max_step=np.inf, tstops=(), max_rate=DEFAULT_MAX_RATE):
    stats = RunStats()
    segments, records = [], []
    t, y = t0, np.array(y0, dtype=float)
    counts = np.zeros(events.neuron.size, dtype=int)
    n_v = int(events.neuron.max()) + 1 if events.neuron.size else 0
    guard = RateGuard(n_v, max_rate)
    stops = [float(x) for x in np.unique(np.asarray(tstops, dtype=float)) if t0 < x < t1] + [t1]

    def bound(t):
        return stops[bisect.bisect_right(stops, t)] if t < stops[-1] else t1

    solver = make_solver(method, fun_from(y, t), t, y, bound(t), rtol, atol, max_step=max_step)
    stats.nfev += solver.nfev
    n_stages = getattr(solver, "n_stages", None)
    status, message = 0, "The solver successfully reached the end of the integration interval."
    while t < t1:
        if stats.n_steps >= max_steps:
            status, message = 2, f"max_steps={max_steps} reached at t={t:.12g} ms"
            break
        nfev0 = solver.nfev
        msg = solver.step()
        attempts_nfev = solver.nfev - nfev0
        if solver.status == "failed":
            status, message = -1, f"integration step failed at t={solver.t:.12g} ms: {msg}"
            probe = (solver.fun(solver.t + 0.5 * abs(solver.h_abs or 0.0), solver.y) if hasattr(solver, "h_abs")
                     else None)
            if probe is not None and not np.all(np.isfinite(probe)):
                bad = int(np.flatnonzero(~np.isfinite(probe))[0])
                message += f" The vector field is not finite just after t={solver.t:.12g} ms (state component {bad})."
            elif probe is not None and n_v:  # name the neuron whose voltage moves fastest, and how fast
                fastest = int(np.argmax(np.abs(probe[:n_v])))
                v = float(solver.y[fastest])
                message += (f" Neuron {fastest} has the fastest voltage there, dv/dt={probe[fastest]:.3g} per ms at "
                            f"v={v:.12g}")
                levels = events.level[(events.neuron == fastest) & (events.kind == THRESHOLD)]
                if levels.size:
                    near = float(levels[np.argmin(np.abs(levels - v))])
                    message += f", {abs(near - v):.3g} from its threshold {near:g}"
                if guard.count[fastest] >= 2:
                    last = np.sort(guard.times[fastest][np.isfinite(guard.times[fastest])])
                    message += (f", {guard.count[fastest]} spikes so far, the last two {last[-1] - last[-2]:.3g} ms "
                                f"apart")
                message += "."
            break
        stats.n_steps += 1
        if n_stages is not None:
            stats.n_rejected += max(attempts_nfev // n_stages - 1, 0)
        else:
            stats.n_rejected = None
        if not np.all(np.isfinite(solver.y)):
            bad = int(np.flatnonzero(~np.isfinite(solver.y))[0])
            status, message = 3, f"non-finite state (component {bad}) at t={solver.t:.12g} ms"
            break
        t_old, t_new = solver.t_old, solver.t
        interp = solver.dense_output()
        stats.nfev += solver.nfev - nfev0
        # sample the step's interpolant so that a voltage that enters and leaves a
        # zone within one step is still seen
        ts, V = _samples(interp, y, solver.y, n_v)
        hit, lo, hi = events.crossed(ts, V)
        if hit.size == 0:
            segments.append(Segment(t_old, t_new, interp))
            t, y = t_new, solver.y.copy()
            if solver.status == "finished" and t < t1:
                solver = make_solver(method, fun_from(y, t), t, y, bound(t), rtol, atol,
                                     first_step=min(abs(t_new - t_old) * 2, bound(t) - t), max_step=max_step)
                stats.nfev += solver.nfev
            continue
        # locate in the order of the brackets, and only while a bracket opens before the earliest crossing found:
        # a crossing in a later bracket cannot come first, nor be simultaneous with it (its bracket's start was
        # on the pre-crossing side)
        by_start = np.argsort(lo, kind="stable")
        times, t_e = {}, np.inf
        for idx in by_start:
            if lo[idx] >= t_e:
                break
            times[idx] = _locate(interp, events, hit[idx], lo[idx], hi[idx])
            t_e = min(t_e, times[idx])
        order = sorted(times, key=times.get)
        t_e = float(t_e)
        y_post = interp(t_e)
        segments.append(Segment(t_old, t_e, interp))
        # apply the earliest event and every other one that is simultaneous with it
        # (already on its post-crossing side at t_e), one after the other
        done_neurons = set()
        capped = False
        for idx in order:
            e = int(hit[idx])
            n = int(events.neuron[e])
            if n in done_neurons or not events.post(np.array([y_post[n] - events.level[e]]), [e])[0]:
                continue
            done_neurons.add(n)
            y_pre = y_post
            y_post = on_event(t_e, e, y_pre.copy())
            records.append(EventRecord(t_e, e, y_pre, y_post))
            counts[e] += 1
            too_fast = None
            if events.kind[e] == THRESHOLD:
                stats.n_events += 1
                too_fast = guard.spike(n, t_e)
            else:
                stats.n_edges += 1
            if len(records) > max_events:
                status, capped = 1, True
                message = (f"event cap max_events={max_events} exceeded at t={t_e:.12g} ms "
                           f"(neuron {n} had {int(counts[events.neuron == n].sum())} events); "
                           "the network may be running away")
                break
            if too_fast is not None:
                status, capped, message = 4, True, too_fast
                break
        if capped:
            break
        t, y = t_e, y_post
        if t >= t1:
            break
        h = min(abs(solver.h_abs) if hasattr(solver, "h_abs") else t1 - t, bound(t) - t)
        solver = make_solver(method, fun_from(y, t), t, y, bound(t), rtol, atol, first_step=h if h > 0 else None,
                             max_step=max_step)
        stats.nfev += solver.nfev
    if status != 0 and throw:
        from .._solution import SimulationError

        raise SimulationError(message)
    return segments, records, stats, status, message


def integrate_breakpoints(fun_for, t_start, t_end, z0, breakpoints, on_break, *, method, rtol, atol, max_step=np.inf):
    """Integrate from ``t_start`` to ``t_end`` (either direction), stopping at ``breakpoints``.

    ``breakpoints`` are given in the order met; at the i-th one,
    ``z = on_break(i, z)``. ``fun_for(lo, hi)`` returns the right-hand side
    for the interval ``[lo, hi]`` (so that a coefficient with a jump at a
    breakpoint is evaluated from the correct side). Returns
    ``(z_end, segments)``.
    """
    from .._solution import SimulationError

    z = np.array(z0, dtype=float)
    segments = []
    direction = np.sign(t_end - t_start)
    t = t_start
    for i, stop in enumerate(list(breakpoints) + [t_end]):
        if (stop - t) * direction > 0:
            solver = make_solver(method, fun_for(*sorted((t, stop))), t, z, stop, rtol, atol, max_step=max_step)
            while solver.status == "running":
                msg = solver.step()
                if solver.status == "failed":
                    raise SimulationError(f"integration failed at t={solver.t:.12g} ms: {msg}")
                lo, hi = sorted((solver.t_old, solver.t))
                segments.append(Segment(lo, hi, solver.dense_output()))
            z = solver.y.copy()
            t = stop
        if i < len(breakpoints):
            z = on_break(i, z)
    return z, segments
