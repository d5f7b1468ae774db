"""The paper's adjoint, eqs. (5)-(7), integrated backward with Runge-Kutta steps in our own loop.

Memory: the forward pass keeps only scalars per accepted step (the
:class:`~._forward.StepLog`) and the full state every ``K =
checkpoint_every`` steps. The backward pass walks the chunks of ``K`` steps
from the last to the first; for each it recomputes the ``K`` forward steps
from the checkpoint on the logged step grid (same solver, same step ends, the
resets read from the spike buffer or the log, so no event decision is
retaken) and keeps their dense output, then integrates the adjoint backward
over them. Memory is ``O(max_steps/K)`` states plus ``O(K)`` dense outputs
plus ``O(max_steps)`` scalars, never a dense output per step.

Adjoint steps: ``adjoint_substeps`` Runge-Kutta steps of the same solver per
forward step (no error control: the forward grid already resolves the
dynamics), in reversed time ``u = -t``. The forward state inside a step is
read from that step's interpolant. The parameter gradient ``∫ ∂H/∂θ dt`` is
accumulated by 3-point Gauss-Legendre quadrature per (sub)step on the
interpolants of both passes, rather than carried through the Runge-Kutta
stages (which would cost O(N²) per stage).

Resets: for translation resets ``f``, ``f_v``, ``f_I`` and the gate are the
same on both sides, so ``p_v`` is continuous (reset factor 1) and the
unwrapped interpolant serves. For truncated steps the jump
``p_v,k(t⁻) = p_v,k(t⁺) f(v_r, I)/f(θ, I)`` of
:func:`odesnn._dynamics.reset_factor` is applied at the event. With the
zero-width threshold synapse (``gate=None``, always truncated) ``s``, the
currents and the running cost jump with each spike, and the general jump
:func:`odesnn._dynamics.event_adjoint_jump` is applied instead, as the SciPy
adjoint does.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import _dynamics as dyn
from ..models.network import Params, State
from ._forward import _reset
from ._model import Model, as_dtype, forward_field, piece_of
from ._rk import Layout, dense_coeffs, dense_eval, horner, method, rk_step

_GL_X = np.array([0.5 - np.sqrt(15) / 10, 0.5, 0.5 + np.sqrt(15) / 10])
_GL_W = np.array([5 / 18, 8 / 18, 5 / 18])


def _signals(model, trial, k, t):
    return model.input_at(trial, k, t), model.target_at(trial, k, t)


def _adjoint_field(model: Model, horizon, params, trial, k, fwd_state):
    """``dp/du`` in reversed time ``u = -t``; ``fwd_state(t)`` is the forward state inside the step.

    With a ``horizon`` ``h`` (ms) the adjoint is discounted: ``dp/dt`` gains
    ``+p/h``, so ``p`` decays by ``e^{-1/h}`` per ms backward on top of its own
    dynamics (see :class:`~._options.Options`).
    """

    def vf(u, p):
        t = -u
        x = fwd_state(t)
        i_t, o_d = _signals(model, trial, k, t)
        dp = dyn.adjoint_field(model.net, params, x, i_t, o_d, p, horizon=horizon)
        return as_dtype(jax.tree.map(jnp.negative, dp), p.v.dtype)

    return vf


def quadrature_gradient(model, params, x, p_v, i_t, o_d, w, p_w=None):
    """``Σ_q w_q ∂H/∂θ`` at quadrature points (leading axis), ``H = p_v·f(v, I(θ), w) + p_w·g(v, I(θ), w) + l(θ)``
    (``p_w`` only for neuron models with auxiliary variables).

    This is :func:`odesnn._dynamics.gradient_density` summed over points, written as
    the vector-Jacobian product of the shared model functions so that the sum
    over points becomes matrix products (``Σ_q a_q s_qᵀ``) instead of one outer
    product per point; ``tests/test_jax_backend.py`` checks the two agree.
    """
    net = model.net

    def h(params):
        def one(x, i_t, o_d):
            I = dyn.current(net, params, x.s, x.sf, i_t)
            dv, dw = net.neuron.rhs(x.v, I, x.w)
            return as_dtype((dv, dw, dyn.running_cost(net, params, x, o_d)), p_v.dtype)
        return jax.vmap(one)(x, i_t, o_d)

    _, vjp = jax.vjp(h, params)
    (g,) = vjp((w[:, None] * p_v, None if p_w is None else w[:, None, None] * p_w, w))
    return as_dtype(g, p_v.dtype)


def _replay_chunk(model, opts, params, trial, fwd, t_start, j, step_key=None):
    """Recompute the forward steps ``jK .. jK+K-1`` from checkpoint ``j``; return their dense data.

    ``step_key`` (translation resets) is the spike buffer's step index with unused entries set to the largest
    int32, a sorted key to find the chunk's spikes by."""
    m = method(opts.solver)
    K, N = opts.checkpoint_every, model.net.n_neurons
    log, sp = fwd.log, fwd.spikes
    y = jax.tree.map(lambda leaf: leaf[j], fwd.checkpoints)
    if model.translation:
        # The spikes are stored in step order, so the chunk's lie in one window of the buffer: at most one wrap per
        # neuron and threshold per step, K·J·N entries from the first of step jK. Reading that window, not the
        # whole buffer, keeps a chunk's cost independent of max_spikes (run-sized buffers are large).
        S = sp.t.shape[0]
        W = min(S, K * len(model.thresholds) * N)
        start = jnp.clip(jnp.searchsorted(step_key, j * K, side="left"), 0, S - W)
        step, sign, neuron = (jax.lax.dynamic_slice(a, (start,), (W,)) for a in (sp.step, sp.sign, sp.neuron))
        valid = (start + jnp.arange(W)) < sp.count
        shift = {th.direction: th.value - th.reset for th in model.thresholds}
        amount = jnp.where(sign > 0, shift.get(1, 0.0), shift.get(-1, 0.0)).astype(y[0].v.dtype)
        in_chunk = (step >= j * K) & (step < (j + 1) * K) & valid
        wraps = jnp.zeros((K, N), y[0].v.dtype).at[jnp.where(in_chunk, step - j * K, K), neuron].add(
            amount, mode="drop")

    def step(y, i):
        k = j * K + i
        kc = jnp.clip(k, 0, log.t_end.shape[0] - 1)
        t0 = jnp.where(k == 0, t_start, log.t_end[jnp.clip(k - 1, 0, log.t_end.shape[0] - 1)])
        t1, te, event = log.t_attempt[kc], log.t_end[kc], log.event[kc]
        valid = k < fwd.n_steps
        t1 = jnp.where(valid, t1, t0 + 1.0)  # a harmless step where there is none
        piece = piece_of(trial.t_grid, t0)
        field = lambda t, y_: forward_field(model, t, y_, (params, trial, piece))  # noqa: E731
        y1, _, dense, _ = rk_step(m, field, t0, t1, y, field(t0, y))
        if model.translation:
            y_next = (State(y1[0].v - wraps[i], y1[0].s, y1[0].sf), y1[1])
            x_minus = y1[0]
        else:
            y_pre = dense_eval(m, t0, t1, dense, te, Layout(y))
            y_post = _reset(model, y_pre, jnp.maximum(event, 0) // N, jnp.maximum(event, 0) % N)
            y_next = jax.tree.map(lambda a, b: jnp.where(event >= 0, a, b), y_post, y1)
            x_minus = y_pre[0]
        return y_next, (t0, t1, te, event, piece, dense, x_minus, valid)

    _, data = jax.lax.scan(step, y, jnp.arange(K))
    return data


def backward(model: Model, opts, params, trial, fwd, t_span):
    """Adjoint gradient of one trial's cost: ``(Params, State)`` for the parameters and the initial state."""
    net = model.net
    m = method(opts.solver)
    K, N = opts.checkpoint_every, net.n_neurons
    M = opts.adjoint_substeps
    dtype = trial.t_grid.dtype
    m_aux = net.neuron.n_aux
    p_end = State(jnp.zeros(N, dtype), jnp.zeros(N, dtype), jnp.zeros(net.n_fast, dtype),
                  jnp.zeros((m_aux, N), dtype) if m_aux else None)
    nl = len(p_end)  # leaves of the State: 3, or 4 with auxiliary variables
    g0 = jax.tree.map(jnp.zeros_like, params)
    g0 = Params(*(jnp.zeros(jnp.shape(a), dtype) for a in g0))
    n_chunks = (fwd.n_steps + K - 1) // K
    gl_x, gl_w = jnp.asarray(_GL_X, dtype), jnp.asarray(_GL_W, dtype)

    flay = Layout((p_end, jnp.zeros((), dtype)))  # the forward state's layout: (State, c)

    def adjoint_step(p, data):
        t0, t1, te, event, piece, dense, x_minus, valid = data
        fcoef = dense_coeffs(m, dense, flay.cols(0, nl))  # forward State (leaves of y before c) as a polynomial
        span = jnp.where(t1 != t0, t1 - t0, 1.0)

        def fwd_state(t):
            return State(*flay.unflat(horner(fcoef, (t - t0) / span), 0, nl))

        if net.gate is None or m_aux:  # s, I and l jump with the spike (zero width), or w does: the general jump
            e = jnp.maximum(event, 0)
            jth, n = e // N, e % N
            i_te, o_te = _signals(model, trial, piece, te)
            x_plus = _reset(model, (x_minus, jnp.zeros((), p.v.dtype)), jth, n)[0]
            ths = model.thresholds if not net.neuron.translation else (None,)  # J = I for a translation
            cands = [as_dtype(dyn.event_adjoint_jump(net, params, x_minus, x_plus, i_te, o_te, p, n, threshold=th),
                              p.v.dtype) for th in ths]
            jumped = cands[0]
            for i in range(1, len(cands)):
                jumped = jax.tree.map(lambda a, b, i=i: jnp.where(jth == i, b, a), jumped, cands[i])
            p = jax.tree.map(lambda a, b: jnp.where(valid & (event >= 0), a, b), jumped, p)
        elif not model.translation:  # jump of p_v at a truncating reset
            e = jnp.maximum(event, 0)
            jth, n = e // N, e % N
            i_te, _ = _signals(model, trial, piece, te)
            factors = jnp.stack([jnp.asarray(dyn.reset_factor(net, params, x_minus, i_te, n, th), p.v.dtype)
                                 for th in model.thresholds])
            p = State(p.v.at[n].multiply(jnp.where(valid & (event >= 0), factors[jth], 1.0)), p.s, p.sf)
        vf = _adjoint_field(model, opts.adjoint_horizon, params, trial, piece, fwd_state)
        p_in = p
        hs = (te - t0) / M
        points, weights = [], []
        for i in range(M):
            ua, ub = -(te - i * hs), -(te - (i + 1) * hs)
            p_new, _, adense, _ = rk_step(m, vf, ua, ub, p, vf(ua, p))
            play = Layout(p)
            pcoef = dense_coeffs(m, adense, play.cols(0))  # p_v
            ts = -ub + (ub - ua) * gl_x  # Gauss points in t on [t(ub), t(ua)]
            x = State(*flay.unflat(horner(fcoef[:, None], ((ts - t0) / span)[:, None]), 0, nl))
            theta = ((-ts - ua) / jnp.where(ub != ua, ub - ua, 1.0))[:, None]
            p_v = horner(pcoef[:, None], theta)
            p_w = None
            if m_aux:  # p_w, leaf 3 of the adjoint State
                p_w = play.unflat(horner(dense_coeffs(m, adense, play.cols(3))[:, None], theta), 3, 4)[0]
            i_t, o_d = jax.vmap(lambda t: _signals(model, trial, piece, t))(ts)
            # a step past the trial's end replays a dummy step, whose state may overflow (a runaway voltage of
            # Izhikevich or AdEx); its weight is 0, and its points are zeroed so that 0 * inf adds no NaN
            points.append(jax.tree.map(lambda a: jnp.where(valid, a, jnp.zeros_like(a)), (x, p_v, i_t, o_d, p_w)))
            weights.append(jnp.where(valid, ub - ua, 0.0) * gl_w)
            p = p_new
        p = jax.tree.map(lambda a, b: jnp.where(valid, a, b), p, p_in)
        points = jax.tree.map(lambda *a: jnp.concatenate(a), *points)
        return p, (points, jnp.concatenate(weights))

    sp = fwd.spikes
    step_key = jnp.where(jnp.arange(sp.step.shape[0]) < sp.count, sp.step, jnp.iinfo(jnp.int32).max)

    def chunk(carry):
        j, p, g = carry
        data = _replay_chunk(model, opts, params, trial, fwd, t_span[0], j, step_key)
        p, (points, w) = jax.lax.scan(adjoint_step, p, data, reverse=True)
        flat = jax.tree.map(lambda a: a.reshape((a.shape[0] * a.shape[1],) + a.shape[2:]), (points, w))
        (x, p_v, i_t, o_d, p_w), w = flat
        g = jax.tree.map(jnp.add, g, quadrature_gradient(model, params, x, p_v, i_t, o_d, w, p_w))
        return j - 1, p, g

    _, p0, grads = jax.lax.while_loop(lambda c: c[0] >= 0, chunk, (n_chunks - 1, p_end, g0))
    x0 = jax.tree.map(lambda leaf: leaf[0], fwd.checkpoints)[0]
    G0 = dyn.synaptic_gate(net, x0.v)
    lam_v = p0.v - G0 * (p0.s + (p0.sf if net.n_fast else 0.0))
    lam_f = net.tau_f * p0.sf if net.n_fast else p0.sf
    return grads, State(lam_v, net.tau * p0.s, lam_f, p0.w)
