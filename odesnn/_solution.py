"""The result types, one for simulation and one for gradients, each shared by both backends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Solution", "Gradient", "SimulationError", "RESULTS"]

RESULTS = {
    0: "The solver successfully reached the end of the integration interval.",
    -1: "Integration step failed.",
    1: "The event cap was reached.",
    2: "The maximum number of steps was reached.",
    3: "A non-finite state was produced.",
    4: "A neuron's spike rate exceeded max_rate.",
}


class SimulationError(RuntimeError):
    """A simulation failed; the message gives the time and the cause."""


@dataclass
class Solution:
    """Result of a simulation (SciPy or JAX backend), shaped like ``OdeResult``.

    Attributes
    ----------
    t : ndarray (T,)
        Output times in ms (solver steps and event times, or ``t_eval``).
        An event time appears twice: before and after the reset.
    v, s, sf : ndarray (T, N), (T, N), (T, N_f)
        Membrane voltage, regular and fast synaptic currents.
    o : ndarray (T, K)
        Readout ``O s``.
    spike_times, spike_neurons, spike_signs : ndarray (n_spikes,)
        Threshold crossings in time order: time (ms), neuron index and sign
        (+1 rising threshold, -1 falling threshold).
    cost : float
        ``C = ∫ l dt`` over the whole interval.
    stats : dict
        ``n_steps`` (accepted), ``n_rejected``, ``nfev``, ``n_events``
        (threshold crossings), ``n_edges`` (box-gate edge crossings).
    status : int
        0 success; otherwise a key of :data:`RESULTS`.
    message : str
        Human-readable cause of termination.
    sol : callable or None
        Dense output ``sol(t) -> State(v, s, sf, w)`` (right-continuous at resets).
    backend : str
        ``"scipy"`` or ``"jax"``.
    w : ndarray (T, m, N) or None
        The neuron model's auxiliary variables (``NeuronModel.aux``, e.g. an
        adaptation current); None for one-variable models.
    """

    t: np.ndarray
    v: np.ndarray
    s: np.ndarray
    sf: np.ndarray
    o: np.ndarray
    spike_times: np.ndarray
    spike_neurons: np.ndarray
    spike_signs: np.ndarray
    cost: float
    stats: dict = field(default_factory=dict)
    status: int = 0
    message: str = RESULTS[0]
    sol: Callable | None = None
    backend: str = "scipy"
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    w: np.ndarray | None = None

    @property
    def success(self) -> bool:
        return self.status == 0

    @property
    def n_spikes(self) -> int:
        return int(np.size(self.spike_times))

    def spikes_of(self, neuron):
        """Spike times of one neuron."""
        return self.spike_times[self.spike_neurons == neuron]

    def __repr__(self):
        return (
            f"Solution(backend={self.backend!r}, status={self.status}, t=[{self.t[0]:g}, {self.t[-1]:g}] ms, "
            f"N={self.v.shape[-1]}, n_spikes={self.n_spikes}, cost={self.cost:.6g}, stats={self.stats})"
        )


@dataclass
class Gradient:
    """Result of :func:`odesnn.gradient`, whatever the method and the backend.

    It unpacks as ``(cost, grads)``: ``cost, grads = odesnn.gradient(...)``.

    Attributes
    ----------
    cost : float
        ``C = ∫ l dt`` over the whole interval.
    grads : Params
        ``dC/dW, dC/dWf, dC/dU, dC/dO, dC/dI0``, shaped like the parameters.
    method : {"adjoint", "forward", "fd"}
        How the gradient was computed: the adjoint equations, forward
        sensitivity (RTRL) or central finite differences.
    backend : {"scipy", "jax"}
        The backend that computed it.
    x0 : State or None
        ``dC/d(v0, s0, sf0)``, the gradient with respect to the initial state
        (SciPy adjoint); ``None`` where the method does not give it.
    sol : callable or None
        Dense adjoint ``sol(t) -> State(p_v, p_s, p_f)`` in the paper's
        variables (SciPy adjoint), for :func:`odesnn.plotting.adjoint_traces`
        and :func:`odesnn.analysis.spike_gradient_contributions`.
    forward : Solution or None
        The forward simulation the gradient was taken along (SciPy adjoint).
    stats : dict
        Method details: ``n_spikes``, and ``fd_step`` for finite differences.
    """

    cost: float
    grads: Any
    method: str = "adjoint"
    backend: str = "scipy"
    x0: Any = None
    sol: Callable | None = field(default=None, repr=False)
    forward: Solution | None = field(default=None, repr=False)
    stats: dict = field(default_factory=dict)

    def __iter__(self):
        return iter((self.cost, self.grads))

    def __repr__(self):
        return (f"Gradient(method={self.method!r}, backend={self.backend!r}, cost={self.cost:.6g}, "
                f"grad_norm={self.norm():.6g}, stats={self.stats})")

    def norm(self) -> float:
        """The Euclidean norm of the whole gradient (all parameter groups together)."""
        return float(np.sqrt(sum(np.sum(np.square(np.asarray(g, dtype=float))) for g in self.grads)))
