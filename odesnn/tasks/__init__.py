"""The paper's tasks (§3): input/target generators and their evaluation rules.

Every generator returns a :class:`TaskBatch`: a shared time grid ``t`` (ms),
inputs ``(B, T, M)`` and targets ``(B, T, K)``, sampled for linear
interpolation. Generators take a NumPy ``Generator`` so that a seed fixes a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import expm

__all__ = ["TaskBatch", "SinusoidTask", "XORTask", "autoencoder", "predictive", "xor", "TASKS"]

PREDICTIVE_A = np.array([[-0.7, 0.36], [-2.3, -0.1]])


@dataclass(frozen=True)
class TaskBatch:
    """A batch of trials on a shared time grid (linear interpolation between samples)."""

    t: np.ndarray
    inputs: np.ndarray
    targets: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def size(self):
        return self.inputs.shape[0]


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

    def sample(self, rng, batch_size) -> TaskBatch:
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


@dataclass(frozen=True)
class XORTask:
    """Delayed-memory XOR (§3.2).

    Channel 0 carries one or two pulses of sign ±1; channel 1 carries the
    go-cue. At the go-cue the target is a pulse of sign ``+`` if the two input
    pulses had opposite signs, ``-`` if equal, and stays null after a single
    pulse. Pulses are raised-cosine bumps of ``pulse_width`` ms.

    ``TaskBatch.info`` holds, per trial, ``labels`` (+1, -1, or 0 for a single
    pulse), ``go`` (the go-cue's onset, ms) and ``first_sign`` (the sign of the
    first input pulse).

    Decision rule (used by :meth:`decide`): the mean readout over
    ``[go + response_delay, go + response_delay + response_window]``, doubled
    (the target bump's mean is half its peak), is compared with
    ``±threshold·amplitude``: above → ``+1``, below → ``-1``, otherwise null (0).
    """

    duration: float = 600.0
    dt: float = 1.0
    pulse_width: float = 20.0
    amplitude: float = 1.0
    first_range: tuple = (20.0, 100.0)
    gap_range: tuple = (80.0, 200.0)
    cue_delay_range: tuple = (80.0, 200.0)
    p_single: float = 1.0 / 3.0
    response_delay: float = 10.0
    response_window: float = 60.0
    threshold: float = 0.5
    name: str = "xor"

    def _bump(self, t, start, width):
        x = (t - start) / width
        return np.where((x >= 0) & (x <= 1), 0.5 * (1 - np.cos(2 * np.pi * np.clip(x, 0, 1))), 0.0)

    def sample(self, rng, batch_size) -> TaskBatch:
        t = np.arange(0.0, self.duration + self.dt / 2, self.dt)
        inputs = np.zeros((batch_size, t.size, 2))
        targets = np.zeros((batch_size, t.size, 1))
        labels, cues = np.zeros(batch_size, dtype=int), np.zeros(batch_size)
        first = np.zeros(batch_size, dtype=int)
        for b in range(batch_size):
            t1 = rng.uniform(*self.first_range)
            s1 = rng.choice([-1.0, 1.0])
            first[b] = int(s1)
            inputs[b, :, 0] += s1 * self._bump(t, t1, self.pulse_width)
            last = t1
            if rng.random() >= self.p_single:
                t2 = t1 + rng.uniform(*self.gap_range)
                s2 = rng.choice([-1.0, 1.0])
                inputs[b, :, 0] += s2 * self._bump(t, t2, self.pulse_width)
                labels[b] = 1 if s1 != s2 else -1
                last = t2
            go = last + rng.uniform(*self.cue_delay_range)
            go = min(go, self.duration - self.response_window - self.response_delay - self.pulse_width)
            cues[b] = go
            inputs[b, :, 1] += self._bump(t, go, self.pulse_width)
            targets[b, :, 0] = labels[b] * self.amplitude * self._bump(t, go + self.response_delay,
                                                                          self.response_window)
        return TaskBatch(t * 1.0, self.amplitude * inputs, targets, {"labels": labels, "go": cues,
                                                                          "first_sign": first})

    def response_mask(self, t, go):
        """``(B, T)`` mask of the response window ``[go + response_delay, go + response_delay + response_window]``."""
        lo = np.asarray(go, dtype=float)[:, None] + self.response_delay
        return (t[None, :] >= lo) & (t[None, :] <= lo + self.response_window)

    def window_means(self, t, outputs, go):
        """``(B,)`` mean readouts over each trial's response window, doubled: the quantity :meth:`decide`
        compares with ``±threshold·amplitude`` (a perfect readout gives the label times ``amplitude``)."""
        # the target bump has mean amplitude/2
        return np.array([float(np.mean(o[window, 0])) / 0.5 for o, window in zip(outputs, self.response_mask(t, go))])

    def decide(self, t, outputs, go):
        """Decisions (+1, -1, 0) from readouts ``(B, T, 1)`` by the rule in the class docstring."""
        means, bound = self.window_means(t, outputs, go), self.threshold * self.amplitude
        return np.where(means > bound, 1, np.where(means < -bound, -1, 0))


def xor(**kw) -> XORTask:
    return XORTask(**kw)


TASKS = {"autoencoder": autoencoder, "predictive": predictive, "xor": xor}
