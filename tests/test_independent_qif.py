"""odesnn's exact zero-width gradient on a QIF network against an independent reference simulator.

eventax (tests/test_eventax.py) has no QIF neuron, so this file carries its own
reference: a few dozen lines of plain NumPy/SciPy that integrate the QIF
network on the threshold synapse (``gate=None``) with ``solve_ivp`` and
terminal events, and apply the resets and synaptic kicks by hand. It shares no
code with odesnn; only the equations are written again:

* ``dv/dt = (1 + cos 2πv)/τ_v + (1 - cos 2πv) I`` (QIF in theta form),
  ``I = W s + W_f s_f + U i(t) + I0``;
* ``τ ds/dt = -s``, ``τ_f ds_f/dt = -s_f`` between spikes;
* a spike of neuron ``k`` when ``v_k`` rises through 1: ``v_k -> v_k - 1``
  (reset 0), ``s_k += 1/τ``, ``s_{f,k} += 1/τ_f``;
* the cost ``C = ∫ (|O s - o_d|² + λ |s|²)/2 dt``, integrated as an extra state.

The reference gradient of ``C`` with respect to ``I0`` and three entries of
``W`` is a central difference of the reference simulator (rtol 1e-11, the
best of the steps 1e-4 ... 1e-7); odesnn's adjoint (``method="adjoint"``,
rtol = atol = 1e-12) must agree to 1e-6 relative, and the spike times of the
two simulators to 1e-8 ms. Slow (a few dozen reference runs):
``python -m pytest -m slow -n 0 tests/test_independent_qif.py``.
"""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import odesnn

pytestmark = pytest.mark.slow

N, TAU_V, TAU, TAU_F, LAM, T = 3, 10.0, 5.0, 2.0, 0.1, 80.0
W = np.array([[0.0, -0.6, 0.8], [0.7, 0.0, -0.5], [-0.4, 0.9, 0.0]])
WF = np.array([[0.0, 0.3, -0.2], [-0.25, 0.0, 0.35], [0.2, -0.3, 0.0]])
U = np.array([[0.04], [-0.03], [0.05]])
O = np.array([[0.8, -0.5, 0.6]])
I0 = np.array([0.06, 0.045, 0.035])
V0 = np.array([0.1, 0.35, 0.6])
W_ENTRIES = ((0, 1), (1, 2), (2, 0))  # the W entries whose gradient is checked


def drive(t):
    """Input i(t), one smooth channel."""
    return np.array([np.sin(2 * np.pi * t / 40.0)])


def goal(t):
    """Target o_d(t), one smooth channel."""
    return np.array([0.2 + 0.1 * np.cos(2 * np.pi * t / 30.0)])


# ---------------------------------------------------------------- the independent reference simulator

def reference_run(W_, I0_, rtol=1e-11, atol=1e-12):
    """Integrate the QIF network on the threshold synapse over [0, T]; returns (cost, spike times, spike neurons)."""

    def rhs(t, y):
        v, s, sf = y[:N], y[N:2 * N], y[2 * N:3 * N]
        I = W_ @ s + WF @ sf + U @ drive(t) + I0_
        c = np.cos(2 * np.pi * v)
        e = O @ s - goal(t)
        dc = 0.5 * (e @ e + LAM * s @ s)
        return np.concatenate([(1 + c) / TAU_V + (1 - c) * I, -s / TAU, -sf / TAU_F, [dc]])

    def crossing(k):
        def event(t, y):
            return y[k] - 1.0
        event.terminal, event.direction = True, 1
        return event

    events = [crossing(k) for k in range(N)]
    y = np.concatenate([V0, np.zeros(2 * N), [0.0]])
    t, times, neurons = 0.0, [], []
    while t < T:
        sol = solve_ivp(rhs, (t, T), y, method="DOP853", rtol=rtol, atol=atol, events=events)
        assert sol.success, sol.message
        hits = [(sol.t_events[k][0], k) for k in range(N) if sol.t_events[k].size]
        if not hits:
            y, t = sol.y[:, -1], T
            break
        t, k = min(hits)
        y = sol.y_events[k][0].copy()
        y[k] -= 1.0  # reset to 0 by translation (threshold 1)
        y[N + k] += 1.0 / TAU  # the spike's charge enters s ...
        y[2 * N + k] += 1.0 / TAU_F  # ... and s_f
        times.append(t)
        neurons.append(k)
    return y[-1], np.array(times), np.array(neurons)


def central_difference(run, x, h):
    return (run(x + h) - run(x - h)) / (2 * h)


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ---------------------------------------------------------------- the comparison

def test_qif_zero_width_adjoint_matches_independent_reference():
    """QIF, 3 neurons, 80 ms, ≥ 10 spikes: spike times agree to 1e-8 ms, the cost to 1e-9 relative, and odesnn's
    adjoint gradient (I0 and three W entries) matches central differences of the reference to 1e-6 relative."""
    net = odesnn.Network(N, 1, 1, neuron=odesnn.QIF(tau_v=TAU_V), gate=None, tau=TAU, tau_f=TAU_F,
                         cost=odesnn.QuadraticCost(LAM))
    params = odesnn.Params(W, WF, U, O, I0)
    ours = odesnn.gradient(net, params, drive, goal, (0.0, T), v0=V0, method="adjoint", rtol=1e-12, atol=1e-12)

    cost, times, neurons = reference_run(W, I0)
    assert times.size >= 10 and len(set(neurons.tolist())) == N
    np.testing.assert_array_equal(np.asarray(ours.forward.spike_neurons), neurons)
    time_err = float(np.max(np.abs(np.asarray(ours.forward.spike_times) - times)))
    cost_err = abs(ours.cost - cost) / abs(cost)

    def cost_of(W_, I0_):
        c, _, n_ = reference_run(W_, I0_)
        assert np.array_equal(n_, neurons), "a finite-difference step changed the spikes"
        return c

    def unit(shape, idx):
        e = np.zeros(shape)
        e[idx] = 1.0
        return e

    runs = {f"I0[{n}]": (lambda x, n=n: cost_of(W, I0 + x * unit(N, n))) for n in range(N)}
    runs.update({f"W[{i},{j}]": (lambda x, ij=(i, j): cost_of(W + x * unit((N, N), ij), I0)) for i, j in W_ENTRIES})
    adjoint = {**{f"I0[{n}]": ours.grads.I0[n] for n in range(N)},
               **{f"W[{i},{j}]": ours.grads.W[i, j] for i, j in W_ENTRIES}}
    names = list(runs)
    by_step = {h: {name: central_difference(runs[name], 0.0, h) for name in names} for h in (1e-4, 1e-5, 1e-6, 1e-7)}

    def errs(fd):
        return (rel([adjoint[k] for k in names if k.startswith("I0")], [fd[k] for k in names if k.startswith("I0")]),
                rel([adjoint[k] for k in names if k.startswith("W")], [fd[k] for k in names if k.startswith("W")]))

    sweep = {h: errs(fd) for h, fd in by_step.items()}
    best = min(sweep, key=lambda h: max(sweep[h]))
    err_I0, err_W = sweep[best]
    print(f"\nspikes {times.size}; max |Δt_k| {time_err:.2e} ms; cost rel {cost_err:.2e}; "
          f"step sweep {{h: (I0, W)}} {sweep}; best h={best}: I0 {err_I0:.2e}, W {err_W:.2e}")
    assert time_err <= 1e-8
    assert cost_err <= 1e-9
    assert err_I0 <= 1e-6 and err_W <= 1e-6, sweep
