"""Neuron models ``dv/dt = f(v, I)`` with thresholds and resets.

A neuron model is a small immutable object. It states its vector field
``f(v, I)`` (elementwise over neurons), the partial derivatives ``f_v`` and
``f_I``, and its thresholds. Time is in ms; ``v`` and ``I`` are dimensionless
(``I`` has units of 1/ms for the non-leaky IF model).

To define a new model, subclass :class:`NeuronModel` and implement :meth:`f`;
``f_v`` and ``f_I`` default to automatic differentiation with JAX. No solver
code needs to change.
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
    """Abstract neuron model ``dv/dt = f(v, I)``.

    Subclasses are frozen dataclasses that implement :meth:`f` and the
    :attr:`thresholds` property. They may override :meth:`f_v` and :meth:`f_I`
    with hand-written derivatives (those of the built-in models are tested
    against automatic differentiation).
    """

    name: str = "custom"

    @property
    def thresholds(self) -> tuple[Threshold, ...]:
        raise NotImplementedError

    def f(self, v, I):  # noqa: E741 - I is the paper's name
        """Membrane vector field ``dv/dt``; elementwise, NumPy or JAX arrays."""
        raise NotImplementedError

    def f_v(self, v, I):
        """``∂f/∂v``. Default: JAX forward-mode autodiff of :meth:`f`."""
        return self._autodiff(v, I, 0)

    def f_I(self, v, I):
        """``∂f/∂I``. Default: JAX forward-mode autodiff of :meth:`f`."""
        return self._autodiff(v, I, 1)

    def _autodiff(self, v, I, argnum):
        import jax
        import jax.numpy as jnp

        if namespace(v, I) is np:
            # NumPy caller (SciPy backend): a compiled float64 derivative, cached per model
            with jax.enable_x64(True) if hasattr(jax, "enable_x64") else _x64():
                v_, I_ = np.broadcast_arrays(np.asarray(v, dtype=float), np.asarray(I, dtype=float))
                return np.asarray(_compiled_partial(self, argnum)(v_, I_))
        return _partial(self.f, argnum)(*jnp.broadcast_arrays(v, I))

    def config(self) -> dict:
        """JSON-serialisable description (see :mod:`odesnn.io`)."""
        return {"name": self.name, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}


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


def neuron_from_config(cfg: dict) -> NeuronModel:
    """Rebuild a built-in neuron model from :meth:`NeuronModel.config`."""
    if not isinstance(cfg, dict):
        raise TypeError(f"`neuron` must be a dict with the model's `name` and parameters, got {show(cfg)}")
    cfg = dict(cfg)
    name = cfg.pop("name", None)
    if not isinstance(name, str) or name not in NEURONS:
        raise ValueError(f"unknown neuron model `name`={show(name)}; known: {sorted(NEURONS)}")
    known = {f.name for f in dataclasses.fields(NEURONS[name])}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ValueError(f"neuron model {name!r} has no parameters {unknown}; known: {sorted(known)}")
    return NEURONS[name](**cfg)


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
    try:
        value = np.asarray(neuron.f(np.zeros(2), np.zeros(2)), dtype=float)
    except Exception as exc:  # noqa: BLE001 - any failure of user code is reported with its cause
        raise TypeError(f"`neuron`: {kind}.f(v, I) fails on NumPy arrays v = I = zeros(2): "
                        f"{type(exc).__name__}: {exc}") from exc
    if value.shape != (2,):
        raise TypeError(f"`neuron`: {kind}.f(v, I) must return one value per neuron (shape (2,) for two), "
                        f"got shape {value.shape}")
