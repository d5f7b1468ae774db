"""Explicit Runge-Kutta steps, dense output and step-size control, written out stage by stage.

The forward driver and the adjoint take one solver step per loop pass for a
whole batch. ``diffrax``'s ``AbstractERK.step`` runs its stages in an inner
``while_loop`` over a stage buffer (so that it can be differentiated and can
handle implicit stages); under ``vmap`` inside our own loop that inner loop
and its buffer updates cost several times the field evaluations themselves.
Here the same Butcher tableaus (read from ``diffrax``) are unrolled in Python
on the state flattened to one vector, so that XLA sees one straight-line
program per step: per stage one field evaluation and one small matrix product.

Dense output: every diffrax interpolant of these methods is a polynomial in
``θ = (t - t0)/(t1 - t0)`` whose coefficients are linear in ``(y0, y1, k_1 ..
k_S)`` (``k_i = h f_i``). :func:`method` finds that linear map once per method
by fitting diffrax's own interpolant (so the dense output is diffrax's, to
rounding), and :func:`dense_coeffs` applies it (one matrix product): a step's
dense output is then a few polynomial coefficients per component, evaluated by Horner's rule, and a
threshold crossing is a root of a polynomial (:mod:`._events`).

Step-size control is diffrax's ``PIDController.adapt_step_size`` (RMS norm of
the scaled error over the whole state, safety 0.9, factors in ``[0.2, 10]``)
restated in a few fused operations.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Method", "method", "Layout", "rk_step", "Dense", "dense_coeffs", "dense_eval", "horner", "pid_control"]

SAFETY, FACTORMIN, FACTORMAX = 0.9, 0.2, 10.0


class Dense(NamedTuple):
    """A step's dense-output data as flat vectors (:class:`Layout`): ``y0``, ``y1`` (D,) and the stages ``k``
    (D, S), ``k_i = h f_i``."""

    y0: object
    y1: object
    k: object


@dataclass(frozen=True, eq=False)
class Method:
    """An explicit Runge-Kutta pair: tableau, FSAL flag, error order and dense-output matrix."""

    name: str
    a: tuple  # rows of the lower-triangular tableau, stage 1 .. S-1
    c: tuple  # nodes of stages 1 .. S-1 (stage 0 is at c = 0)
    b_sol: tuple
    b_err: tuple
    fsal: bool
    ssal: bool
    error_order: float
    dense: np.ndarray  # (2 + S, D + 1): poly coefficient m of y(θ) = Σ_i dense[i, m] u_i, u = (y0, y1, k_1..k_S)

    @property
    def n_stages(self) -> int:
        return len(self.b_sol)

    @property
    def degree(self) -> int:
        return self.dense.shape[1] - 1


def _x64():
    """A context with 64-bit JAX types (the fit below must be exact whatever the working dtype)."""
    ctx = getattr(jax, "enable_x64", None)
    if ctx is not None:
        return ctx(True)
    from jax.experimental import enable_x64  # older JAX

    return enable_x64()


def _fit_dense(solver, n_stages):
    """The matrix of diffrax's interpolant as a polynomial in θ (fitted in float64, checked to rounding)."""
    with _x64(), jax.ensure_compile_time_eval():
        n_basis = 2 + n_stages
        thetas = np.cos(np.pi * (np.arange(12) + 0.5) / 12) * 0.5 + 0.5  # Chebyshev points on [0, 1]
        values = np.zeros((n_basis, thetas.size))
        for i in range(n_basis):
            u = np.zeros(n_basis)
            u[i] = 1.0
            interp = solver.interpolation_cls(t0=jnp.float64(0.0), t1=jnp.float64(1.0), y0=jnp.float64(u[0]),
                                              y1=jnp.float64(u[1]), k=jnp.asarray(u[2:], jnp.float64))
            values[i] = [float(interp.evaluate(jnp.float64(th))) for th in thetas]
    for degree in range(1, 11):
        vander = np.vander(thetas, degree + 1, increasing=True)
        coef, *_ = np.linalg.lstsq(vander, values.T, rcond=None)
        if np.max(np.abs(vander @ coef - values.T)) < 1e-12 * max(1.0, np.max(np.abs(values))):
            coef[np.abs(coef) < 1e-15] = 0.0
            return coef.T  # (n_basis, degree + 1)
    raise ValueError(f"the interpolant of {type(solver).__name__} is not a polynomial of degree <= 10")


@functools.cache
def method(name: str) -> Method:
    """The :class:`Method` of one of :data:`odesnn.jax._options.SOLVERS`."""
    from ._options import SOLVERS

    solver = SOLVERS[name]()
    tab = solver.tableau
    S = len(tab.a_lower) + 1
    order = solver.error_order(diffrax.ODETerm(lambda t, y, args: y))
    return Method(name=name, a=tuple(tuple(float(x) for x in row) for row in tab.a_lower),
                  c=tuple(float(x) for x in np.asarray(tab.c)), b_sol=tuple(float(x) for x in tab.b_sol),
                  b_err=tuple(float(x) for x in tab.b_error), fsal=bool(tab.fsal), ssal=bool(tab.ssal),
                  error_order=float(order), dense=_fit_dense(solver, S))


class Layout:
    """Where each leaf of a pytree state lies in its flat vector (static: built from a template state)."""

    def __init__(self, tree):
        leaves, self.treedef = jax.tree.flatten(tree)
        self.shapes = [tuple(np.shape(leaf)) for leaf in leaves]
        sizes = [int(np.prod(shape)) for shape in self.shapes]
        self.offsets = list(np.cumsum([0] + sizes))
        self.size = self.offsets[-1]

    def flat(self, tree):
        return jnp.concatenate([jnp.reshape(leaf, (-1,)) for leaf in jax.tree.leaves(tree)])

    def cols(self, first, last=None):
        """The columns of leaves ``first .. last`` (in flattening order)."""
        last = first + 1 if last is None else last
        return slice(self.offsets[first], self.offsets[last])

    def unflat(self, v, first=0, last=None):
        """The pytree (or, with ``first``/``last``, the list of leaves) of a flat vector; leading axes kept."""
        lead = v.shape[:-1]
        stop = len(self.shapes) if last is None else last
        out = [v[..., self.offsets[i] - self.offsets[first]:self.offsets[i + 1] - self.offsets[first]]
               .reshape(lead + self.shapes[i]) for i in range(first, stop)]
        return jax.tree.unflatten(self.treedef, out) if (first == 0 and last is None) else out


def rk_step(m: Method, field, t0, t1, y0, f0):
    """One step from ``t0`` to ``t1``: ``(y1, y_error, Dense, f1)``.

    ``field(t, y)`` is the vector field; ``f0 = field(t0, y0)`` (for an FSAL
    method, the previous step's ``f1``). ``f1`` is ``field(t1, y1)`` for an
    FSAL method (its last stage), else None. ``Dense`` holds flat vectors (see
    :class:`Layout`): the stages are kept as one matrix ``K`` (D, S), and every
    stage's input ``y0 + Σ_j a_ij k_j`` is a matrix product with it. On the CPU
    that matters: written elementwise, XLA fuses each stage's field into every
    later stage that reads it and evaluates it again there (six times the
    ``cos`` of a theta neuron in the last stage of Tsit5).
    """
    layout = Layout(y0)
    S = m.n_stages
    h = t1 - t0
    y0f = layout.flat(y0)
    dtype = y0f.dtype
    K = jnp.zeros(y0f.shape + (S,), dtype).at[:, 0].set(h * layout.flat(f0))  # (D, S): the stage axis minor
    yi = fi = None
    for i, (row, ci) in enumerate(zip(m.a, m.c), start=1):
        a = jnp.asarray(np.pad(np.asarray(row), (0, S - len(row))), dtype)
        yi = y0f + K @ a
        fi = field(t0 + ci * h, layout.unflat(yi))
        K = K.at[:, i].set(h * layout.flat(fi))
    y1 = yi if m.ssal else y0f + K @ jnp.asarray(m.b_sol, dtype)
    err = K @ jnp.asarray(m.b_err, dtype)
    return layout.unflat(y1), layout.unflat(err), Dense(y0f, y1, K), (fi if m.fsal else None)


def dense_coeffs(m: Method, dense: Dense, cols=slice(None)):
    """Polynomial coefficients in θ (D+1, n) of the flat dense output's columns ``cols``."""
    P = jnp.asarray(m.dense, dense.y0.dtype)  # (2 + S, D + 1)
    return (dense.y0[cols, None] * P[0] + dense.y1[cols, None] * P[1] + dense.k[cols] @ P[2:]).T


def horner(coef, theta):
    """``Σ_m coef[m] θ^m`` (``coef`` leading axis m; ``theta`` broadcasts against the rest)."""
    acc = coef[-1]
    for m in range(coef.shape[0] - 2, -1, -1):
        acc = acc * theta + coef[m]
    return acc


def dense_eval(m: Method, t0, t1, dense: Dense, t, layout: Layout):
    """The step's dense output at time ``t`` (a scalar) as a pytree of ``layout``, as diffrax's interpolant
    would give it."""
    theta = (t - t0) / jnp.where(t1 != t0, t1 - t0, 1.0)
    return layout.unflat(horner(dense_coeffs(m, dense), theta))


def pid_control(m: Method, opts, t0, t1, y0, y1, err, prev):
    """diffrax's PID step-size rule: ``(keep, dt_next, prev_next)``; ``prev`` = two previous inverse errors."""
    leaves0, leaves1, leaves_e = jax.tree.leaves(y0), jax.tree.leaves(y1), jax.tree.leaves(err)
    total, size = 0.0, 0
    for a, b, e in zip(leaves0, leaves1, leaves_e):
        b = jnp.where(jnp.isnan(b), a, b)
        scaled = e / (opts.atol + opts.rtol * jnp.maximum(jnp.abs(a), jnp.abs(b)))
        total = total + jnp.sum(scaled * scaled)
        size += int(np.prod(np.shape(e)))
    norm = jnp.sqrt(total / max(size, 1))
    keep = norm < 1
    inv = 1.0 / norm
    order = m.error_order
    c1 = (opts.icoeff + opts.pcoeff) / order
    c2 = -opts.pcoeff / order
    prev1, prev2 = prev
    factor = SAFETY * (inv ** c1 if c1 != 0 else 1.0) * (prev1 ** c2 if c2 != 0 else 1.0)
    factor = jnp.clip(factor, jnp.where(keep, 1.0, FACTORMIN), jnp.where(keep, FACTORMAX, SAFETY))
    dt = (t1 - t0) * factor.astype(jnp.result_type(t1))
    if opts.dtmax is not None:
        dt = jnp.minimum(dt, opts.dtmax)
    inv = jnp.where((inv == 0) | jnp.isinf(inv), 1.0, inv).astype(prev1.dtype)
    new_prev = (jnp.where(keep, inv, prev1), jnp.where(keep, prev1, prev2))
    return keep, dt, new_prev
