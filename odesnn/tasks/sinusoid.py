"""The sinusoid tasks of the paper (§3.1, §3.2): auto-encoding and predictive coding of two sinusoids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm

from .._checks import as_float_array, check_integer, check_number, check_real
from .batch import TaskBatch, check_rng_and_size

PREDICTIVE_A = np.array([[-0.7, 0.36], [-2.3, -0.1]])


def linear_filter(t, i, tau, A=None, periodic=True):
    """Exact solution on the grid of ``τ do/dt = -o + A o + i`` with ``i`` piecewise linear.

    With ``periodic=True`` the initial value is the one that makes ``o``
    periodic over the grid (the inputs are periodic sums of sinusoids).
    """
    T, M = i.shape
    A = np.zeros((M, M)) if A is None else np.asarray(A, dtype=float)
    Mmat = (A - np.eye(M)) / tau
    dt = t[1] - t[0]
    if not np.allclose(np.diff(t), dt):
        raise ValueError("`t` must be uniform")
    # first-order-hold discretisation via the augmented matrix exponential
    aug = np.zeros((3 * M, 3 * M))
    aug[:M, :M] = Mmat * dt
    aug[:M, M:2 * M] = np.eye(M) / tau * dt
    aug[M:2 * M, 2 * M:] = np.eye(M)
    E = expm(aug)
    Phi, G0, G1 = E[:M, :M], E[:M, M:2 * M], E[:M, 2 * M:]
    # o_{n+1} = Phi o_n + G0 i_n + G1 (i_{n+1} - i_n)
    def run(o0):
        o = np.empty((T, M))
        o[0] = o0
        for n in range(T - 1):
            o[n + 1] = Phi @ o[n] + G0 @ i[n] + G1 @ (i[n + 1] - i[n])
        return o

    o = run(np.zeros(M))
    if periodic:
        PhiT = np.linalg.matrix_power(Phi, T - 1)
        o = run(np.linalg.solve(np.eye(M) - PhiT, o[-1]))
    return o


@dataclass(frozen=True)
class SinusoidTask:
    """Predictive coding with sum-of-sinusoid inputs of period ``period`` ms.

    Target ``τ do_d/dt = -o_d + A o_d + i`` (``A = 0``: the auto-encoder).
    """

    name: str = "autoencoder"
    n_channels: int = 2
    period: float = 1200.0
    duration: float = 1200.0
    dt: float = 1.0
    n_modes: int = 4
    amplitude: float = 1.0
    tau: float = 10.0
    A: tuple | None = None

    def __post_init__(self):
        check_integer("n_channels", self.n_channels, 1)
        check_integer("n_modes", self.n_modes, 1)
        for name in ("period", "duration", "dt", "tau"):
            check_number(name, getattr(self, name), note=" of ms")
        check_real("amplitude", self.amplitude)
        if self.dt > self.duration:
            raise ValueError(f"`dt`={self.dt!r} must not exceed `duration`={self.duration!r}")
        if self.A is not None:
            as_float_array("A", self.A, (self.n_channels, self.n_channels))

    def sample(self, rng, batch_size) -> TaskBatch:
        """``batch_size`` trials drawn from ``rng`` (a ``numpy.random.Generator``)."""
        check_rng_and_size(rng, batch_size)
        t = np.arange(0.0, self.duration + self.dt / 2, self.dt)
        k = np.arange(1, self.n_modes + 1)
        amp = rng.standard_normal((batch_size, self.n_channels, self.n_modes)) / np.sqrt(self.n_modes)
        phase = rng.uniform(0, 2 * np.pi, (batch_size, self.n_channels, self.n_modes))
        arg = 2 * np.pi * k[None, None, None, :] * t[None, :, None, None] / self.period + phase[:, None]
        inputs = self.amplitude * np.sum(amp[:, None] * np.sin(arg), axis=-1)
        A = None if self.A is None else np.asarray(self.A)
        targets = np.stack([linear_filter(t, x, self.tau, A) for x in inputs])
        return TaskBatch(t, inputs, targets)


def autoencoder(**kw) -> SinusoidTask:
    """The auto-encoder task: ``τ do_d/dt = -o_d + i``."""
    return SinusoidTask(name="autoencoder", **kw)


def predictive(**kw) -> SinusoidTask:
    """General predictive coding: ``τ do_d/dt = -o_d + A o_d + i`` with the paper's ``A``."""
    return SinusoidTask(name="predictive", A=tuple(map(tuple, PREDICTIVE_A)), **kw)
