"""Cost ``C = ∫ l(s, o, o_d) dt + Φ(t_1, ..., t_K)``: a running cost and, optionally, a cost on spike times.

A cost supplies ``l`` and its partial derivatives ``∂l/∂s`` and ``∂l/∂o``;
the adjoint uses the total derivative ``∂l/∂s + Oᵀ ∂l/∂o``. A cost may also
put a term ``Φ`` on the spike times (:meth:`Cost.spike_cost`, with its
derivatives ``∂Φ/∂t_k``), such as :class:`FirstSpikeCost`; the SciPy backend
differentiates it exactly (the adjoint adds a jump at each spike, forward
sensitivity the spike-time sensitivities). To plug in another cost, subclass
:class:`Cost`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._checks import is_real, show

__all__ = ["Cost", "QuadraticCost", "FirstSpikeCost", "cost_from_config"]


class Cost:
    """Abstract running cost. All methods are elementwise-vectorised over trials."""

    def l(self, s, o, o_d):  # noqa: E743
        raise NotImplementedError

    def dl_ds(self, s, o, o_d):
        raise NotImplementedError

    def dl_do(self, s, o, o_d):
        raise NotImplementedError

    def config(self) -> dict:
        raise NotImplementedError

    #: True when :meth:`spike_cost` has terms (the JAX backend refuses such a cost)
    has_spike_terms = False

    def spike_cost(self, times, neurons, signs, t_span, n_neurons):
        """``Φ`` and ``∂Φ/∂t_k`` (K,) for the spikes of one trial, in time order.

        ``times``, ``neurons`` and ``signs`` (+1 rising, -1 falling threshold)
        are those of :class:`~odesnn.Solution`; ``t_span = (t0, t1)``. The
        default has no spike-time terms: ``(0.0, zeros(K))``.
        """
        return 0.0, np.zeros(np.shape(times))


@dataclass(frozen=True)
class QuadraticCost(Cost):
    """``l = (|o - o_d|² + λ |s|²) / 2`` (the paper's cost).

    Parameters
    ----------
    lam : float
        Regularisation λ of the synaptic activity (non-negative).
    """

    lam: float = 0.0

    def __post_init__(self):
        if not (is_real(self.lam) and np.isfinite(self.lam) and self.lam >= 0):
            raise ValueError(f"cost `lam` must be a non-negative finite number, got {show(self.lam)}")

    def l(self, s, o, o_d):  # noqa: E743
        e = o - o_d
        if self.lam == 0:
            return 0.5 * (e * e).sum(axis=-1)
        return 0.5 * ((e * e).sum(axis=-1) + self.lam * (s * s).sum(axis=-1))

    def dl_ds(self, s, o, o_d):
        return self.lam * s

    def dl_do(self, s, o, o_d):
        return o - o_d

    def config(self) -> dict:
        return {"name": "quadratic", "lam": float(self.lam)}


@dataclass(frozen=True)
class FirstSpikeCost(Cost):
    """A running cost plus a loss on each neuron's first spike time::

        C = ∫ l dt + Σ_n (w/2) (t_n - t̂_n)²

    ``t_n`` is the time of the first spike of neuron ``n`` (a crossing of a
    threshold of direction ``direction``, or of any threshold if ``None``) and
    ``t̂_n`` its target. A neuron whose target is NaN is not scored. A scored
    neuron that does not spike in ``t_span`` is counted as spiking at the end
    of the trial, ``t_n = t1``: its term is then constant, with no gradient,
    until a parameter change makes it spike (the cost is discontinuous there).

    Parameters
    ----------
    targets : sequence of float
        Target first-spike time of every neuron in ms (NaN: not scored); one per neuron.
    weight : float
        ``w`` (positive), in cost units per ms².
    direction : {1, -1, None}
        Which threshold crossings count as spikes (default: rising).
    running : Cost
        The running cost ``l`` (default ``QuadraticCost(lam=0)``).
    """

    targets: tuple = ()
    weight: float = 1.0
    direction: int | None = 1
    running: Cost = field(default_factory=QuadraticCost)

    def __post_init__(self):
        try:
            targets = tuple(float(t) for t in np.ravel(np.asarray(self.targets, dtype=float)))
        except (TypeError, ValueError):
            raise ValueError(f"`targets` must be a non-empty sequence of finite times or NaN, got "
                             f"{show(self.targets)}") from None
        if not targets or not all(math.isfinite(t) or math.isnan(t) for t in targets):
            raise ValueError(f"`targets` must be a non-empty sequence of finite times or NaN, got {self.targets!r}")
        object.__setattr__(self, "targets", targets)
        if not (is_real(self.weight) and np.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"`weight` must be a positive finite number, got {show(self.weight)}")
        if self.direction not in (1, -1, None):
            raise ValueError(f"`direction` must be 1, -1 or None, got {self.direction!r}")
        if not isinstance(self.running, Cost) or self.running.has_spike_terms:
            raise TypeError(f"`running` must be a Cost without spike-time terms, got {self.running!r}")

    has_spike_terms = True

    def l(self, s, o, o_d):  # noqa: E743
        return self.running.l(s, o, o_d)

    def dl_ds(self, s, o, o_d):
        return self.running.dl_ds(s, o, o_d)

    def dl_do(self, s, o, o_d):
        return self.running.dl_do(s, o, o_d)

    def first_spikes(self, times, neurons, signs, n_neurons):
        """Index into ``times`` of each neuron's first counted spike (-1: none), shape (n_neurons,)."""
        if len(self.targets) != n_neurons:
            raise ValueError(f"FirstSpikeCost has {len(self.targets)} `targets` for a network of {n_neurons} neurons")
        first = np.full(n_neurons, -1)
        for idx in range(len(times) - 1, -1, -1):
            if self.direction is None or signs[idx] == self.direction:
                first[neurons[idx]] = idx
        return first

    def spike_cost(self, times, neurons, signs, t_span, n_neurons):
        times = np.asarray(times, dtype=float)
        first = self.first_spikes(times, np.asarray(neurons), np.asarray(signs), n_neurons)
        value, grad = 0.0, np.zeros(times.shape)
        for n, target in enumerate(self.targets):
            if math.isnan(target):
                continue
            t_n = times[first[n]] if first[n] >= 0 else float(t_span[1])
            value += 0.5 * self.weight * (t_n - target) ** 2
            if first[n] >= 0:
                grad[first[n]] += self.weight * (t_n - target)
        return float(value), grad

    def config(self) -> dict:
        return {"name": "first_spike", "targets": [None if math.isnan(t) else t for t in self.targets],
                "weight": float(self.weight), "direction": self.direction, "running": self.running.config(),
                "lam": float(getattr(self.running, "lam", 0.0))}


def cost_from_config(cfg: dict) -> Cost:
    """Rebuild a built-in cost from its :meth:`Cost.config`."""
    if not isinstance(cfg, dict):
        raise TypeError(f"`cost` must be a dict with the cost's `name` and parameters, got {show(cfg)}")
    name = cfg.get("name")
    if name == "quadratic":
        return QuadraticCost(cfg.get("lam", 0.0))  # QuadraticCost checks lam, by name
    if name == "first_spike":
        targets = cfg.get("targets")
        if not isinstance(targets, list):
            raise ValueError(f"first_spike cost `targets` must be a list of times (or null), got {show(targets)}")
        return FirstSpikeCost(tuple(np.nan if t is None else t for t in targets), cfg.get("weight", 1.0),
                              cfg.get("direction", 1),
                              cost_from_config(cfg.get("running", {"name": "quadratic", "lam": 0.0})))
    raise ValueError(f"cannot rebuild cost {show(cfg)}: the built-in costs are 'quadratic' and 'first_spike'")
