"""The gradient noise scale: how large a minibatch must be before its mean gradient points somewhere.

For per-trial gradients ``g`` with mean ``G = E g`` and covariance ``Σ``, a
batch of ``B`` trials has mean gradient ``G + noise`` with ``E|noise|² = tr Σ / B``.
The *simple noise scale* ``B_noise = tr Σ / |G|²`` is the batch size at which
signal and noise are equal: far below it a step is mostly noise, far above it
more trials per step buy little. The cosine between a batch mean and ``G`` is
``(1 + B_noise/B)^(-1/2)``.

``|G|²`` is estimated without bias from ``n`` trials as
``(|Σ g|² − Σ |g|²) / (n (n − 1))`` (the mean of ``g_i · g_j`` over pairs
``i ≠ j``), with a jackknife standard error over the batches; ``tr Σ`` by the
sample covariance. The batches must be independent draws.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["NoiseScale", "noise_scale"]


class NoiseScale(NamedTuple):
    """Result of :func:`noise_scale` (and :func:`odesnn.training.gradient_noise_scale`).

    Attributes
    ----------
    signal : float
        Unbiased estimate of ``|E g|²``; it can come out negative when the
        mean is lost in the noise.
    signal_se : float
        Its jackknife standard error over the batches.
    trace : float
        ``tr Σ``, the summed variance of one trial's gradient.
    b_noise : float
        ``trace / signal``; ``inf`` when ``signal <= 0``.
    batch_size : int
        Trials per batch (all batches have the same size).
    n_trials : int
        Trials in all.
    batch_means : ndarray, shape (n_batches, P)
        Each batch's mean gradient, flattened.
    batch_cosines : ndarray
        Cosines between the means of every pair of batches. For two
        independent batches their expectation is about ``1 / (1 + B_noise/B)``.
    """

    signal: float
    signal_se: float
    trace: float
    b_noise: float
    batch_size: int
    n_trials: int
    batch_means: np.ndarray
    batch_cosines: np.ndarray

    def cosine_at(self, batch_size):
        """Expected cosine between a mean of ``batch_size`` trials and ``E g`` (0 if no signal was found)."""
        if not self.signal > 0:
            return 0.0
        return float(1.0 / np.sqrt(1.0 + self.b_noise / batch_size))


def _signal(g):
    n = g.shape[0]
    total = g.sum(axis=0)
    return float((total @ total - np.sum(g * g)) / (n * (n - 1)))


def noise_scale(batches) -> NoiseScale:
    """Noise scale of per-trial gradients given as independent batches.

    Parameters
    ----------
    batches : sequence of array_like, each of shape (B, P)
        Per-trial gradients (flattened), one array per batch; at least two
        batches of the same size ``B >= 1``, and ``P >= 1``.

    Returns
    -------
    NoiseScale
    """
    arrays = [np.asarray(b, dtype=float) for b in batches]
    if len(arrays) < 2:
        raise ValueError(f"`batches` must hold at least 2 batches (for the standard error), got {len(arrays)}")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim != 2 or 0 in arrays[0].shape:
        raise ValueError(f"`batches` must be arrays of one shape (B, P) with B, P >= 1, got shapes "
                         f"{sorted(shapes)}")
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ValueError("`batches` holds a non-finite gradient")
    g = np.concatenate(arrays)
    n, k = g.shape[0], len(arrays)
    if n < 3:
        raise ValueError(f"`batches` must hold at least 3 trials in all, got {n}")
    signal = _signal(g)
    leave_one_out = np.array([_signal(np.concatenate(arrays[:i] + arrays[i + 1:])) for i in range(k)])
    se = float(np.sqrt((k - 1) / k * np.sum((leave_one_out - leave_one_out.mean()) ** 2)))
    trace = float(np.sum((g - g.mean(axis=0)) ** 2) / (n - 1))
    means = np.stack([a.mean(axis=0) for a in arrays])
    norms = np.linalg.norm(means, axis=1)
    unit = means / np.where(norms > 0, norms, 1.0)[:, None]
    cos = unit @ unit.T
    cosines = cos[np.triu_indices(k, 1)]
    return NoiseScale(signal, se, trace, trace / signal if signal > 0 else float("inf"), arrays[0].shape[0], n,
                      means, cosines)
