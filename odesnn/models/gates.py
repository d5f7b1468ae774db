"""Gate functions ``g(v)``: non-negative, unit integral, narrow support.

A gate is defined by a *profile* ``φ(u)`` on ``u ∈ [0, 1]`` with
``φ ≥ 0`` and ``∫₀¹ φ du = 1``, and a width ``Δ > 0``. For a rising threshold
``θ`` the gate is ``g(v) = φ((v - θ + Δ)/Δ)/Δ`` on the active zone
``[θ - Δ, θ]``; for a falling threshold it is the mirror image on
``[θ, θ + Δ]``. Outside the zone ``g = 0``. Hence ``∫ g dv = 1`` and a
depolarisation through the whole zone carries charge 1 into the synapse.

Built-in profiles
-----------------
``box``      ``φ = 1`` (the paper's gate); discontinuous at the zone edges,
             which the solvers treat as events.
``smooth``   ``φ = 140 u³(1-u)³``: C² (second derivative continuous).
``poly2``    ``φ = 30 u²(1-u)²``: C¹ only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import is_real, show
from .._xp import namespace

__all__ = ["Gate", "register_gate_profile"]

_PROFILES = {
    # name: (phi(u), phi'(u), smoothness label)
    "box": (lambda u: 1.0 + 0.0 * u, lambda u: 0.0 * u),
    "smooth": (lambda u: 140.0 * (u * (1 - u)) ** 3, lambda u: 420.0 * (u * (1 - u)) ** 2 * (1 - 2 * u)),
    "poly2": (lambda u: 30.0 * (u * (1 - u)) ** 2, lambda u: 60.0 * u * (1 - u) * (1 - 2 * u)),
}


@dataclass(frozen=True)
class Gate:
    """Gate function of width ``width`` (Δ) and profile ``kind``.

    Parameters
    ----------
    kind : {"box", "smooth", "poly2"}
        Profile on the unit interval (see module docstring).
    width : float
        Width Δ of the active zone, in units of voltage; must be positive.
        (The zero-width threshold synapse is selected by passing ``gate=None``
        to :class:`~odesnn.Network`.)
    """

    kind: str = "smooth"
    width: float = 0.1

    def __post_init__(self):
        if not isinstance(self.kind, str) or self.kind not in _PROFILES:
            raise ValueError(f"unknown gate `kind`={show(self.kind)}; known: {sorted(_PROFILES)}")
        if not (is_real(self.width) and np.isfinite(self.width) and self.width > 0):
            raise ValueError(
                f"gate `width` (Δ) must be a positive finite number, got {show(self.width)}; "
                "use gate=None for the zero-width threshold synapse"
            )

    @property
    def discontinuous(self) -> bool:
        """True if ``g`` does not vanish at both ends of its zone (box, or a registered profile like it).

        A gate that vanishes at the threshold and at the inner edge leaves the
        vector field unchanged by a translating reset, which the JAX backend
        exploits to wrap crossings without stopping.
        """
        phi = _PROFILES[self.kind][0]
        return bool(float(phi(np.float64(0.0))) != 0.0 or float(phi(np.float64(1.0))) != 0.0)

    def _u(self, v, threshold):
        return (v - threshold.value) * threshold.direction / self.width + 1.0

    def __call__(self, v, threshold):
        """``g(v)`` for the zone below (rising) or above (falling) ``threshold``.

        On the zone ``g = φ(u)/Δ``. Past the threshold, which the voltage
        never reaches because the neuron resets there, ``g`` holds its
        threshold value ``φ(1)/Δ``: zero for the smooth profiles, ``1/Δ`` for
        the box. The vector field is then continuous at the threshold, so the
        solver's trial stages beyond it see no jump.
        """
        xp = namespace(v)
        u = self._u(v, threshold)
        phi = _PROFILES[self.kind][0]
        return xp.where(self.in_zone(v, threshold), phi(xp.clip(u, 0.0, 1.0)), 0.0) / self.width

    def derivative(self, v, threshold):
        """``dg/dv`` (zero where ``g`` is constant, including inside the box)."""
        xp = namespace(v)
        u = self._u(v, threshold)
        dphi = _PROFILES[self.kind][1]
        inside = self.in_zone(v, threshold) & (u < 1)
        return xp.where(inside, dphi(xp.clip(u, 0.0, 1.0)), 0.0) * threshold.direction / self.width**2

    def in_zone(self, v, threshold):
        """``g``'s piece: inside the zone, or past the threshold (never reached)."""
        # the same expression as the solvers' event function v - edge, so that a
        # located edge crossing and the zone membership agree to the last bit
        return (v - self.edge(threshold)) * threshold.direction >= 0

    def profile(self, v, threshold):
        """``φ(u)/Δ`` continued analytically past both ends of the zone.

        The solvers use it with the zone membership frozen over a piece of
        integration (see :func:`odesnn._dynamics.synaptic_gate`), so that the
        vector field is a polynomial in ``v`` within each piece.
        """
        xp = namespace(v)
        u = xp.minimum(xp.maximum(self._u(v, threshold), -1.0), 2.0)  # bounded for wild trial stages
        return _PROFILES[self.kind][0](u) / self.width

    def profile_derivative(self, v, threshold):
        xp = namespace(v)
        u = xp.minimum(xp.maximum(self._u(v, threshold), -1.0), 2.0)
        return _PROFILES[self.kind][1](u) * threshold.direction / self.width**2

    def edge(self, threshold):
        """Voltage of the inner edge of the active zone of ``threshold``."""
        return threshold.value - threshold.direction * self.width

    def config(self) -> dict:
        return {"kind": self.kind, "width": float(self.width)}


def register_gate_profile(name, phi, dphi):
    """Add a gate profile ``φ(u)`` on ``[0, 1]`` with derivative ``dφ/du``.

    ``phi`` and ``dphi`` must be written with array operators (and
    ``namespace``-style functions) so that they work on NumPy and JAX arrays.
    The profile is refused if it is negative anywhere on ``[0, 1]`` or does
    not integrate to 1. A profile that does not vanish at ``u = 0`` is
    discontinuous at the zone edge, which the solvers handle as an event.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"gate profile `name` must be a non-empty string, got {name!r}")
    if name in _PROFILES:
        raise ValueError(f"gate profile `name`={name!r} already exists")
    check_profile(name, phi)
    _PROFILES[name] = (phi, dphi)


def check_profile(name, phi, n=20001):
    """Refuse a profile that is negative or does not integrate to 1 on [0, 1]."""
    u = np.linspace(0.0, 1.0, n)
    values = np.asarray(phi(u), dtype=float)
    if np.any(values < 0) or not np.all(np.isfinite(values)):
        raise ValueError(f"gate profile {name!r} must be finite and non-negative on [0, 1]")
    from scipy.integrate import simpson

    integral = simpson(values, x=u)
    if abs(integral - 1.0) > 1e-6:
        raise ValueError(f"gate profile {name!r} integrates to {integral!r}, not 1")


def validate_gate_against_neuron(gate: Gate, neuron) -> None:
    """Refuse a gate whose active zone reaches a reset or another threshold."""
    ths = neuron.thresholds
    for th in ths:
        lo, hi = sorted((gate.edge(th), th.value))
        for other in ths:
            if lo < other.reset < hi or (lo <= other.reset <= hi and other.reset == gate.edge(th)):
                raise ValueError(
                    f"gate `width`={gate.width!r}: the active zone [{lo}, {hi}] of threshold {th.value} "
                    f"contains the reset voltage {other.reset}; use a narrower gate"
                )
            if other is not th:
                olo, ohi = sorted((gate.edge(other), other.value))
                if lo < ohi and olo < hi:
                    raise ValueError(
                        f"gate `width`={gate.width!r}: the active zones of thresholds {th.value} and "
                        f"{other.value} overlap; use a narrower gate"
                    )
