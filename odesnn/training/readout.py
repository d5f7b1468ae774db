"""A readout ``O`` fitted by ridge regression on running state statistics (variable projection).

The cost is quadratic in ``O`` for fixed dynamics (``o = O s``), so for given
recurrent parameters the best readout solves a linear least-squares problem.
:class:`LstsqReadout` accumulates exponentially weighted moments of the
synaptic states and targets over minibatches and solves for ``O``; the other
parameters follow the exact adjoint gradient taken at that ``O``. Because ``O``
minimises the cost, the partial gradient at fixed ``O`` is also the gradient of
the reduced cost (the envelope theorem), up to the lag of the running moments.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LstsqReadout", "check_readout_options"]


def check_readout_options(decay, ridge, names=("decay", "ridge")):
    """Raise ``ValueError``, naming the argument, unless ``0 <= decay < 1`` and ``ridge > 0`` is finite."""
    if not (isinstance(decay, (int, float)) and 0 <= decay < 1):
        raise ValueError(f"`{names[0]}` must be in [0, 1), got {decay!r}")
    if not (isinstance(ridge, (int, float)) and ridge > 0 and np.isfinite(ridge)):
        raise ValueError(f"`{names[1]}` must be a positive number, got {ridge!r}")


class LstsqReadout:
    """Running least-squares readout.

    Parameters
    ----------
    n_neurons, n_outputs : int
        Shape of the readout ``O`` is ``(n_outputs, n_neurons)``.
    decay : float
        Weight in ``[0, 1)`` kept by the previous statistics at each update:
        batch ``k`` steps back counts ``decay**k``. ``0`` uses the last batch only.
    ridge : float
        Ridge penalty, relative to the mean eigenvalue of the state second
        moment (``ridge · tr(A)/N`` is added to the diagonal of ``A = E[s sᵀ]``).
    """

    def __init__(self, n_neurons, n_outputs, decay=0.9, ridge=1e-4):
        check_readout_options(decay, ridge)
        self.decay, self.ridge = float(decay), float(ridge)
        self.A = np.zeros((n_neurons, n_neurons))
        self.b = np.zeros((n_neurons, n_outputs))
        self.weight = 0.0

    @property
    def ready(self) -> bool:
        """Whether any batch has been seen (before that, :meth:`solve` has nothing to fit)."""
        return self.weight > 0

    def update(self, states, targets, weights=None):
        """Add a batch: ``states`` ``(B, T, N)`` and ``targets`` ``(B, T, n_outputs)`` on a uniform time grid.

        ``weights`` ``(B, T)`` (non-negative; default all 1) weights each time point's squared error in the
        fit: a weight of 2 counts a point as twice as long a stretch of time.
        """
        states, targets = np.asarray(states, dtype=float), np.asarray(targets, dtype=float)
        if states.shape[:2] != targets.shape[:2] or states.shape[2] != self.A.shape[0] \
                or targets.shape[2] != self.b.shape[1]:
            raise ValueError(f"`states` {states.shape} and `targets` {targets.shape} do not match a readout of "
                             f"{self.b.shape[1]} outputs from {self.A.shape[0]} neurons")
        X = states.reshape(-1, states.shape[2])
        Y = targets.reshape(-1, targets.shape[2])
        if weights is None:
            WX = X
        else:
            weights = np.asarray(weights, dtype=float)
            if weights.shape != states.shape[:2]:
                raise ValueError(f"`weights` must have shape {states.shape[:2]} (trials, times), got {weights.shape}")
            if not (np.all(np.isfinite(weights)) and np.all(weights >= 0)):
                bad = float(weights[~(np.isfinite(weights) & (weights >= 0))].flat[0])
                raise ValueError(f"`weights` must be non-negative and finite, got {bad!r}")
            WX = X * weights.reshape(-1, 1)
        self.A = self.decay * self.A + WX.T @ X / len(X)
        self.b = self.decay * self.b + WX.T @ Y / len(X)
        self.weight = self.decay * self.weight + 1.0

    def solve(self) -> np.ndarray:
        """The readout ``O`` ``(n_outputs, N)`` minimising the weighted squared error plus the ridge penalty."""
        if not self.ready:
            raise RuntimeError("LstsqReadout.solve() before any update()")
        A, b = self.A / self.weight, self.b / self.weight
        n = A.shape[0]
        penalty = self.ridge * max(np.trace(A) / n, np.finfo(float).tiny)
        return np.linalg.solve(A + penalty * np.eye(n), b).T

    def state(self) -> dict:
        """Arrays to checkpoint; :meth:`load_state` restores them exactly."""
        return {"readout_A": self.A.copy(), "readout_b": self.b.copy(), "readout_weight": np.float64(self.weight)}

    def load_state(self, arrays):
        self.A = np.array(arrays["readout_A"], dtype=float)
        self.b = np.array(arrays["readout_b"], dtype=float)
        self.weight = float(arrays["readout_weight"])
