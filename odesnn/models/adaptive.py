"""Neuron models with an adaptation variable: adaptive LIF, Izhikevich and AdEx.

Each has the membrane ``v`` and one auxiliary variable ``w`` (``aux``), a
threshold on ``v`` and the reset ``v -> v_r``, ``w -> w + jump`` (applied as a
translation, :meth:`NeuronModel.reset`). Izhikevich and AdEx have a voltage
that runs away to infinity in finite time after the spike's upstroke; their
threshold is a finite cut-off ``v_peak`` (Izhikevich's 30 mV; AdEx's
``V_T + 5 Δ_T`` by default, as in Brian2's AdEx example) at which the spike
is declared and the reset applied. The gate of the synapse acts on ``v`` just
below that cut-off, so its width is in the model's voltage unit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .._checks import check_number, check_real
from .._xp import namespace
from .neurons import NeuronModel, Threshold

__all__ = ["ALIF", "Izhikevich", "AdEx"]


@dataclass(frozen=True)
class ALIF(NeuronModel):
    """Adaptive leaky integrate-and-fire neuron (spike-triggered adaptation current).

    ``τ_m dv/dt = -v + I - a``, ``τ_a da/dt = -a``; threshold 1, reset
    ``v -> 0``, ``a -> a + β``. ``v``, ``I`` and ``a`` are dimensionless (as
    for :class:`~odesnn.LIF`, which is the case ``β = 0``). Under a constant
    current the interspike interval lengthens until ``a`` settles, at the
    period ``T`` that solves ``v(T) = 1`` with ``a(0⁺) = β/(1 - e^{-T/τ_a})``.

    Parameters
    ----------
    tau_m : float
        Membrane time constant in ms (default 10).
    tau_a : float
        Adaptation time constant in ms (default 100).
    beta : float
        Increment of ``a`` at each spike (default 0.2; non-negative).
    """

    tau_m: float = 10.0
    tau_a: float = 100.0
    beta: float = 0.2
    name = "alif"
    aux = ("a",)

    def __post_init__(self):
        check_number("tau_m", self.tau_m)
        check_number("tau_a", self.tau_a)
        check_number("beta", self.beta, positive=False)

    @functools.cached_property
    def thresholds(self):
        return (Threshold(1.0, +1, 0.0, True),)

    def f(self, v, I, w=None):  # noqa: E741
        return (I - v - w[0]) / self.tau_m

    def g(self, v, I, w):  # noqa: E741
        return (-w[0] / self.tau_a + 0.0 * v,)

    def aux_jump(self, threshold):
        return (self.beta,)


@dataclass(frozen=True)
class Izhikevich(NeuronModel):
    """Izhikevich (2003) neuron: ``dv/dt = 0.04 v² + 5 v + 140 - u + I``, ``du/dt = a (b v - u)``.

    ``v`` in mV, time in ms, ``I`` and ``u`` in mV/ms. The spike is the
    cut-off ``v = v_peak`` (30 mV); the reset is ``v -> c``, ``u -> u + d``.
    The defaults are the regular-spiking cell. The initial ``u`` defaults to
    ``b v₀`` (:meth:`aux_rest`).

    Parameters
    ----------
    a, b, c, d : float
        The model's four parameters (defaults 0.02, 0.2, -65, 8).
    v_peak : float
        Cut-off in mV (default 30).
    """

    a: float = 0.02
    b: float = 0.2
    c: float = -65.0
    d: float = 8.0
    v_peak: float = 30.0
    name = "izhikevich"
    aux = ("u",)

    @property
    def v_rest(self) -> float:
        return float(self.c)

    def __post_init__(self):
        check_number("a", self.a)
        for name in ("b", "c", "d", "v_peak"):
            check_real(name, getattr(self, name))
        if self.c >= self.v_peak:
            raise ValueError(f"`c`={self.c!r} (the reset) must lie below `v_peak`={self.v_peak!r}")

    @functools.cached_property
    def thresholds(self):
        return (Threshold(self.v_peak, +1, self.c, True),)

    def f(self, v, I, w=None):  # noqa: E741
        return 0.04 * v * v + 5.0 * v + 140.0 - w[0] + I

    def g(self, v, I, w):  # noqa: E741
        return (self.a * (self.b * v - w[0]),)

    def aux_jump(self, threshold):
        return (self.d,)

    def aux_rest(self, v):
        return self.b * namespace(v).asarray(v)[None, :]


@dataclass(frozen=True)
class AdEx(NeuronModel):
    """Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005).

    ``C dv/dt = -g_L (v - E_L) + g_L Δ_T exp((v - V_T)/Δ_T) - w + I``,
    ``τ_w dw/dt = a (v - E_L) - w``. Units: mV, ms, pF, nS, pA (``I`` and
    ``w`` in pA). The spike is the cut-off ``v = v_peak``, by default
    ``V_T + 5 Δ_T`` (-40.4 mV; the exponential term then dominates and the
    voltage would reach infinity within a fraction of a ms); the reset is
    ``v -> v_r``, ``w -> w + b``. The defaults are the paper's cell (its
    Figure 2 parameters).

    Parameters
    ----------
    C, g_L, E_L, V_T, delta_T, tau_w, a, b, v_r : float
        Capacitance (281 pF), leak (30 nS), rest (-70.6 mV), threshold slope
        point (-50.4 mV) and factor (2 mV), adaptation time constant (144
        ms), sub-threshold (4 nS) and spike-triggered (80.5 pA) adaptation,
        reset (-70.6 mV).
    v_peak : float or None
        Cut-off in mV; None for ``V_T + 5 Δ_T``.
    """

    C: float = 281.0
    g_L: float = 30.0
    E_L: float = -70.6
    V_T: float = -50.4
    delta_T: float = 2.0
    tau_w: float = 144.0
    a: float = 4.0
    b: float = 80.5
    v_r: float = -70.6
    v_peak: float | None = None
    name = "adex"
    aux = ("w",)

    def __post_init__(self):
        for name in ("C", "g_L", "delta_T", "tau_w"):
            check_number(name, getattr(self, name))
        for name in ("E_L", "V_T", "a", "b", "v_r"):
            check_real(name, getattr(self, name))
        if self.v_peak is not None:
            check_real("v_peak", self.v_peak)
        if self.v_r >= self.cutoff:
            raise ValueError(f"`v_r`={self.v_r!r} (the reset) must lie below the cut-off {self.cutoff!r}")

    @property
    def cutoff(self) -> float:
        return self.V_T + 5.0 * self.delta_T if self.v_peak is None else float(self.v_peak)

    @functools.cached_property
    def thresholds(self):
        return (Threshold(self.cutoff, +1, self.v_r, True),)

    def f(self, v, I, w=None):  # noqa: E741
        xp = namespace(v, I, w)
        spike = self.g_L * self.delta_T * xp.exp((v - self.V_T) / self.delta_T)
        return (-self.g_L * (v - self.E_L) + spike - w[0] + I) / self.C

    def g(self, v, I, w):  # noqa: E741
        return ((self.a * (v - self.E_L) - w[0]) / self.tau_w,)

    def aux_jump(self, threshold):
        return (self.b,)

    @property
    def v_rest(self) -> float:
        return float(self.E_L)

    def aux_rest(self, v):
        return self.a * (namespace(v).asarray(v)[None, :] - self.E_L)
