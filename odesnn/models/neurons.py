"""Neuron models: a membrane ``dv/dt = f(v, I, w)``, optional auxiliary variables ``dw/dt = g(v, I, w)``, thresholds on
``v`` and a reset map.

A neuron model is a small immutable object. It states its vector field
elementwise over neurons, its thresholds, and (for models with auxiliary
variables ``w``, such as an adaptation current) what a reset does to them.
Time is in ms; the units of ``v`` and ``I`` are the model's own (each built-in
states them).

To define a new model, subclass :class:`NeuronModel` and implement :meth:`f`
(and, with auxiliary variables, the class attribute ``aux`` and :meth:`g`).
Every derivative the solvers need (the adjoint, forward sensitivity, the
Jacobian of a reset map) comes from automatic differentiation with JAX unless
a one-variable model writes ``f_v`` and ``f_I`` by hand. No solver code needs
to change (docs/neurons.md).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from .._checks import check_bool, check_number, check_real, show
from .._xp import namespace

__all__ = ["Threshold", "NeuronModel", "NIF", "QIF", "LIF"]


@dataclass(frozen=True)
class Threshold:
    """A threshold crossing that triggers a reset.

    Parameters
    ----------
    value : float
        Threshold voltage ``v_θ``.
    direction : {+1, -1}
        +1: fires when ``v`` rises through ``value``; -1: when it falls through it.
    reset : float
        Voltage after the reset. The reset is applied as the translation
        ``v -> v - (value - reset)`` so that the small overshoot past the
        located crossing is preserved.
    synaptic : bool
        Whether this threshold drives the synapses. A falling threshold with a
        gate mirrored above it gives a negative synaptic response (charge -1).
    """

    value: float
    direction: int = 1
    reset: float = 0.0
    synaptic: bool = True

    def __post_init__(self):
        if isinstance(self.direction, (bool, np.bool_)) or self.direction not in (1, -1):
            raise ValueError(f"`direction` must be +1 or -1, got {show(self.direction)}")
        check_real("value", self.value)
        check_real("reset", self.reset)
        check_bool("synaptic", self.synaptic)
        if (self.reset - self.value) * self.direction >= 0:
            raise ValueError(
                f"`reset`={self.reset!r} must lie on the sub-threshold side of `value`={self.value!r} "
                f"for direction {self.direction:+d}"
            )


def _check_positive(name, value):
    check_number(name, value)


class NeuronModel:
    """Abstract neuron model: ``dv/dt = f(v, I[, w])`` and, for ``w``, ``dw/dt = g(v, I, w)``.

    Subclasses are frozen dataclasses (their fields are the parameters) that
    implement :meth:`f` and the :attr:`thresholds` property.

    A one-variable model (``aux = ()``, the default) writes ``f(v, I)``; it
    may override :meth:`f_v` and :meth:`f_I` with hand-written derivatives
    (those of the built-in models are tested against automatic
    differentiation). Its reset is the translation ``v -> v - (θ - v_r)`` of
    each :class:`Threshold`.

    A model with auxiliary variables names them in the class attribute
    ``aux`` (a tuple of ``m`` names) and writes ``f(v, I, w)`` and
    ``g(v, I, w)``, where ``w`` has shape ``(m, N)`` (``w[i]`` is the
    ``i``-th variable of every neuron) and ``g`` returns ``m`` arrays of shape
    ``(N,)`` (a tuple or a stacked array). At a crossing of a threshold the
    reset map :meth:`reset` applies; by default it translates ``v`` as above
    and adds :meth:`aux_jump` to ``w`` (``u -> u + d`` of Izhikevich, ``w ->
    w + b`` of AdEx). Any other map ``(v, w) -> (v⁺, w⁺)`` may be written by
    overriding :meth:`reset`; its Jacobian comes from autodiff. Both
    functions must be elementwise over neurons and written with the array
    namespace of their inputs (:func:`odesnn.array_namespace`).
    """

    name: str = "custom"
    #: names of the auxiliary state variables (empty for a one-variable model)
    aux: tuple = ()
    #: default initial voltage (:meth:`odesnn.Network.initial_state`)
    v_rest: float = 0.0

    @property
    def n_aux(self) -> int:
        """Number ``m`` of auxiliary variables per neuron."""
        return len(self.aux)

    @property
    def thresholds(self) -> tuple[Threshold, ...]:
        raise NotImplementedError

    def f(self, v, I, w=None):  # noqa: E741 - I is the paper's name
        """Membrane vector field ``dv/dt``; elementwise, NumPy or JAX arrays."""
        raise NotImplementedError

    def g(self, v, I, w):  # noqa: E741
        """Auxiliary vector field ``dw/dt``, ``m`` arrays of shape ``(N,)`` (models with ``aux`` only)."""
        raise NotImplementedError

    def aux_jump(self, threshold) -> tuple:
        """Translation of ``w`` at a reset by ``threshold`` (``m`` numbers; default zeros)."""
        return (0.0,) * self.n_aux

    def aux_rest(self, v):
        """Default initial ``w`` for initial voltages ``v`` (N,): zeros, shape ``(m, N)``."""
        return np.zeros((self.n_aux,) + np.shape(v))

    def reset(self, v, w, threshold):
        """Reset map ``(v⁻, w⁻) -> (v⁺, w⁺)`` of a crossing of ``threshold`` (elementwise over neurons).

        Default: the translation ``v - (θ - v_r)``, ``w + aux_jump(threshold)``,
        which keeps the tiny overshoot past a located crossing.
        """
        v_new = v - (threshold.value - threshold.reset)
        if w is None or self.n_aux == 0:
            return v_new, w
        xp = namespace(v, w)
        jump = xp.asarray(self.aux_jump(threshold), dtype=w.dtype).reshape((self.n_aux,) + (1,) * (w.ndim - 1))
        return v_new, w + jump

    @property
    def translation(self) -> bool:
        """Whether every reset is a translation of the state (the default :meth:`reset`): its Jacobian is the
        identity."""
        return type(self).reset is NeuronModel.reset

    def f_v(self, v, I):
        """``∂f/∂v`` (one-variable models). Default: JAX forward-mode autodiff of :meth:`f`."""
        return self._autodiff(v, I, 0)

    def f_I(self, v, I):
        """``∂f/∂I`` (one-variable models). Default: JAX forward-mode autodiff of :meth:`f`."""
        return self._autodiff(v, I, 1)

    def _autodiff(self, v, I, argnum):
        import jax.numpy as jnp

        if namespace(v, I) is np:
            # NumPy caller (SciPy backend): a compiled float64 derivative, cached per model
            with _x64_on():
                v_, I_ = np.broadcast_arrays(np.asarray(v, dtype=float), np.asarray(I, dtype=float))
                return np.asarray(_compiled_partial(self, argnum)(v_, I_))
        return _partial(self.f, argnum)(*jnp.broadcast_arrays(v, I))

    # -- the whole field and its derivatives, for every model (used by odesnn._dynamics) ---------------
    def rhs(self, v, I, w=None):
        """``(dv/dt, dw/dt)``; ``dw/dt`` is None for a one-variable model."""
        if self.n_aux == 0:
            return self.f(v, I), None
        return self.f(v, I, w), _stack(self.g(v, I, w), namespace(v, I, w))

    def vjp(self, v, I, w, p_v, p_w):
        """``(f_v p_v + g_v·p_w, f_I p_v + g_I·p_w, f_w p_v + g_wᵀ p_w)``: the field's transpose derivative
        applied to ``(p_v, p_w)`` per neuron (the last is None for a one-variable model)."""
        if self.n_aux == 0:
            return self.f_v(v, I) * p_v, self.f_I(v, I) * p_v, None
        return _call(self, "vjp", v, I, w, p_v, p_w)

    def jvp(self, v, I, w, dv, dI, dw):
        """``(d(dv/dt), d(dw/dt))`` along tangents with a trailing axis of directions: ``dv``, ``dI`` (N, P),
        ``dw`` (m, N, P)."""
        if self.n_aux == 0:
            return self.f_v(v, I)[:, None] * dv + self.f_I(v, I)[:, None] * dI, None
        return _call(self, "jvp", v, I, w, dv, dI, dw)

    def reset_jvp(self, v, w, threshold, dv, dw):
        """The reset map's Jacobian ``J`` applied to ``(dv, dw)`` (one neuron: ``v``, ``dv`` scalars or with a
        trailing axis of directions, ``w`` (m,), ``dw`` (m[, P]))."""
        if self.translation:
            return dv, dw
        return _call(self, "reset_jvp", v, w, threshold, dv, dw)

    def reset_vjp(self, v, w, threshold, lam_v, lam_w):
        """``Jᵀ (λ_v, λ_w)`` for the reset map of one neuron (see :meth:`reset_jvp`)."""
        if self.translation:
            return lam_v, lam_w
        return _call(self, "reset_vjp", v, w, threshold, lam_v, lam_w)

    def config(self) -> dict:
        """JSON-serialisable description (see :mod:`odesnn.io`)."""
        return {"name": self.name, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}


def _stack(parts, xp):
    if isinstance(parts, (tuple, list)):
        return xp.stack([xp.asarray(p) for p in parts])
    return parts


def _derivatives(model, kind):
    """The JAX function behind :meth:`NeuronModel.vjp`, ``jvp``, ``reset_jvp`` or ``reset_vjp``."""
    import jax
    import jax.numpy as jnp

    from .network import register_state_pytree

    register_state_pytree()

    def field(v, I, w):
        return model.f(v, I, w), _stack(model.g(v, I, w), jnp)

    if kind == "vjp":
        def run(v, I, w, p_v, p_w):
            _, back = jax.vjp(field, v, I, w)
            return back((p_v, p_w))
    elif kind == "jvp":
        def run(v, I, w, dv, dI, dw):
            one = lambda a, b, c: jax.jvp(field, (v, I, w), (a, b, c))[1]  # noqa: E731
            return jax.vmap(one, in_axes=(-1, -1, -1), out_axes=(-1, -1))(dv, dI, dw)
    elif kind == "reset_jvp":
        def run(v, w, threshold, dv, dw):
            one = lambda a, b: jax.jvp(lambda v_, w_: model.reset(v_, w_, threshold), (v, w), (a, b))[1]  # noqa
            if jnp.ndim(dv) == jnp.ndim(v):
                return one(dv, dw)
            return jax.vmap(one, in_axes=(-1, -1), out_axes=(-1, -1))(dv, dw)
    else:
        def run(v, w, threshold, lam_v, lam_w):
            _, back = jax.vjp(lambda v_, w_: model.reset(v_, w_, threshold), v, w)
            return back((lam_v, lam_w))
    return run


def _call(model, kind, *args):
    """Evaluate a derivative of ``model``: traced inline for JAX arrays, compiled in float64 for NumPy ones."""
    threshold = args[2] if kind.startswith("reset") else None
    arrays = [a for a in args if not isinstance(a, Threshold)]
    if namespace(*arrays) is not np:
        return _derivatives(model, kind)(*args)
    with _x64_on():
        out = _compiled(model, kind, threshold)(*(np.asarray(a, dtype=float) for a in arrays))
    return tuple(np.asarray(o) for o in out)


@functools.lru_cache(maxsize=256)
def _compiled(model, kind, threshold):
    import jax

    run = _derivatives(model, kind)
    if threshold is None:
        return jax.jit(run)
    return jax.jit(lambda *a: run(a[0], a[1], threshold, *a[2:]))


def _x64_on():
    import jax

    return jax.enable_x64(True) if hasattr(jax, "enable_x64") else _x64()


def _partial(f, argnum):
    """Elementwise ``∂f/∂v`` (argnum 0) or ``∂f/∂I`` (argnum 1) by one forward-mode JVP."""
    import jax
    import jax.numpy as jnp

    def d(v, I):
        tangents = (jnp.ones_like(v), jnp.zeros_like(I)) if argnum == 0 else (jnp.zeros_like(v), jnp.ones_like(I))
        return jax.jvp(f, (v, I), tangents)[1]

    return d


@functools.lru_cache(maxsize=128)
def _compiled_partial(model, argnum):
    import jax

    return jax.jit(_partial(model.f, argnum))


def _x64():
    from jax.experimental import enable_x64

    return enable_x64()


@dataclass(frozen=True)
class NIF(NeuronModel):
    """Non-leaky integrate-and-fire neuron, ``f(v, I) = I``.

    Thresholds at ``+1`` (rising) and ``-1`` (falling), both reset to ``0``.
    A rising crossing sends charge +1 through the synapses; a falling one sends
    charge -1 unless ``negative_synapse=False``.

    Parameters
    ----------
    theta : float
        Upper threshold; the lower one is ``-theta``. Default 1.
    negative_synapse : bool
        Whether the lower threshold drives a negative synaptic response.
    """

    theta: float = 1.0
    negative_synapse: bool = True
    name = "nif"

    def __post_init__(self):
        _check_positive("theta", self.theta)
        check_bool("negative_synapse", self.negative_synapse)

    @functools.cached_property
    def thresholds(self):
        return (
            Threshold(self.theta, +1, 0.0, True),
            Threshold(-self.theta, -1, 0.0, bool(self.negative_synapse)),
        )

    def f(self, v, I):
        return I + 0.0 * v

    def f_v(self, v, I):
        return 0.0 * (v + I)

    def f_I(self, v, I):
        return 1.0 + 0.0 * (v + I)


@dataclass(frozen=True)
class QIF(NeuronModel):
    """Quadratic integrate-and-fire neuron in theta form.

    ``f(v, I) = (1 + cos 2πv)/τ_v + (1 - cos 2πv) I``, threshold 1, reset 0.
    ``f`` has the same value at threshold and reset, so the reset does not
    change the adjoint.

    Parameters
    ----------
    tau_v : float
        Membrane time constant in ms (default 25).
    """

    tau_v: float = 25.0
    name = "qif"

    def __post_init__(self):
        _check_positive("tau_v", self.tau_v)

    @functools.cached_property
    def thresholds(self):
        return (Threshold(1.0, +1, 0.0, True),)

    def f(self, v, I):
        c = namespace(v, I).cos(2 * np.pi * v)
        return (1 + c) / self.tau_v + (1 - c) * I

    def f_v(self, v, I):
        sn = namespace(v, I).sin(2 * np.pi * v)
        return 2 * np.pi * sn * (I - 1 / self.tau_v)

    def f_I(self, v, I):
        return 1 - namespace(v, I).cos(2 * np.pi * v)


@dataclass(frozen=True)
class LIF(NeuronModel):
    """Leaky integrate-and-fire neuron, ``f(v, I) = (-v + I)/τ_m``.

    Threshold 1, reset 0. Because ``f`` differs at threshold and reset, the
    adjoint jumps at every spike (see the math page of the docs).

    Parameters
    ----------
    tau_m : float
        Membrane time constant in ms (default 10).
    """

    tau_m: float = 10.0
    name = "lif"

    def __post_init__(self):
        _check_positive("tau_m", self.tau_m)

    @functools.cached_property
    def thresholds(self):
        return (Threshold(1.0, +1, 0.0, True),)

    def f(self, v, I):
        return (I - v) / self.tau_m

    def f_v(self, v, I):
        return -1.0 / self.tau_m + 0.0 * (v + I)

    def f_I(self, v, I):
        return 1.0 / self.tau_m + 0.0 * (v + I)


NEURONS = {"nif": NIF, "qif": QIF, "theta": QIF, "lif": LIF}


def _builtins():
    from .adaptive import ALIF, AdEx, Izhikevich

    return {**NEURONS, "alif": ALIF, "izhikevich": Izhikevich, "adex": AdEx}


def neuron_from_config(cfg: dict) -> NeuronModel:
    """Rebuild a built-in neuron model from :meth:`NeuronModel.config`."""
    if not isinstance(cfg, dict):
        raise TypeError(f"`neuron` must be a dict with the model's `name` and parameters, got {show(cfg)}")
    cfg = dict(cfg)
    name = cfg.pop("name", None)
    models = _builtins()
    if not isinstance(name, str) or name not in models:
        raise ValueError(f"unknown neuron model `name`={show(name)}; known: {sorted(models)}")
    known = {f.name for f in dataclasses.fields(models[name])}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ValueError(f"neuron model {name!r} has no parameters {unknown}; known: {sorted(known)}")
    return models[name](**cfg)


def check_neuron(neuron) -> None:
    """Refuse, by name, a neuron model that is not a :class:`NeuronModel` or does not implement one: its
    ``thresholds`` (a non-empty tuple of :class:`Threshold`) and ``f(v, I)``, which must give one finite
    value per neuron at rest."""
    if not isinstance(neuron, NeuronModel):
        raise TypeError(f"`neuron` must be a NeuronModel, got {type(neuron).__name__}")
    kind = type(neuron).__name__
    if type(neuron).f is NeuronModel.f:
        raise TypeError(f"`neuron`: {kind} does not implement `f(v, I)`, the membrane vector field dv/dt")
    try:
        thresholds = neuron.thresholds
    except NotImplementedError:
        raise TypeError(f"`neuron`: {kind} does not implement `thresholds`; define it as a property returning a "
                        f"tuple of odesnn.Threshold (value, direction, reset, synaptic)") from None
    if not (isinstance(thresholds, (tuple, list)) and thresholds and all(isinstance(t, Threshold)
                                                                         for t in thresholds)):
        raise TypeError(f"`neuron`: {kind}.thresholds must be a non-empty tuple of odesnn.Threshold, "
                        f"got {show(thresholds)}")
    m = neuron.n_aux
    if m and type(neuron).g is NeuronModel.g:
        raise TypeError(f"`neuron`: {kind} names auxiliary variables {neuron.aux} but does not implement "
                        f"`g(v, I, w)`, their vector field dw/dt")
    call = "f(v, I)" if not m else "f(v, I, w) and g(v, I, w)"
    try:
        zeros = np.zeros(2)
        value, aux = neuron.rhs(zeros, zeros, np.zeros((m, 2)) if m else None)
        value = np.asarray(value, dtype=float)
        aux = None if aux is None else np.asarray(aux, dtype=float)
    except Exception as exc:  # noqa: BLE001 - any failure of user code is reported with its cause
        raise TypeError(f"`neuron`: {kind}.{call} fails on NumPy arrays v = I = zeros(2)"
                        f"{f', w = zeros(({m}, 2))' if m else ''}: {type(exc).__name__}: {exc}") from exc
    if value.shape != (2,):
        raise TypeError(f"`neuron`: {kind}.f must return one value per neuron (shape (2,) for two), "
                        f"got shape {value.shape}")
    if m and aux.shape != (m, 2):
        raise TypeError(f"`neuron`: {kind}.g must return {m} arrays of one value per neuron (shape ({m}, 2) for "
                        f"two neurons), got shape {aux.shape}")
