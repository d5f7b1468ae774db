"""The delayed-memory XOR task of the paper (§3.3): two signed pulses, a go-cue, and the XOR of their signs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_number, check_real, is_real, show
from .batch import TaskBatch, check_rng_and_size


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

    def __post_init__(self):
        for name in ("duration", "dt", "pulse_width", "amplitude", "response_window"):
            check_number(name, getattr(self, name))
        check_number("response_delay", self.response_delay, positive=False)
        check_number("threshold", self.threshold, positive=False)
        check_real("p_single", self.p_single, 0.0, 1.0)
        for name in ("first_range", "gap_range", "cue_delay_range"):
            lo_hi = getattr(self, name)
            if not (isinstance(lo_hi, (tuple, list)) and len(lo_hi) == 2 and all(is_real(x) for x in lo_hi)
                    and all(np.isfinite(x) for x in lo_hi) and 0 <= lo_hi[0] <= lo_hi[1]):
                raise ValueError(f"`{name}` must be a pair (low, high) of times in ms with 0 <= low <= high, "
                                 f"got {show(lo_hi)}")
        latest_go = self.duration - self.response_window - self.response_delay - self.pulse_width
        if latest_go <= 0:
            raise ValueError(f"`duration`={self.duration!r} leaves no time for the go-cue and the response: it must "
                             f"exceed response_window + response_delay + pulse_width = "
                             f"{self.duration - latest_go:g} ms")

    def _bump(self, t, start, width):
        x = (t - start) / width
        return np.where((x >= 0) & (x <= 1), 0.5 * (1 - np.cos(2 * np.pi * np.clip(x, 0, 1))), 0.0)

    def sample(self, rng, batch_size) -> TaskBatch:
        """``batch_size`` trials drawn from ``rng`` (a ``numpy.random.Generator``)."""
        check_rng_and_size(rng, batch_size)
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
