"""Running cost ``l(s, o, o_d)`` with ``C = ∫ l dt``.

A cost supplies ``l`` and its partial derivatives ``∂l/∂s`` and ``∂l/∂o``;
the adjoint uses the total derivative ``∂l/∂s + Oᵀ ∂l/∂o``. To plug in
another cost, subclass :class:`Cost`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._xp import namespace

__all__ = ["Cost", "QuadraticCost"]


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
        if not (np.isscalar(self.lam) and np.isfinite(self.lam) and self.lam >= 0):
            raise ValueError(f"cost `lam` must be a non-negative finite number, got {self.lam!r}")

    def l(self, s, o, o_d):  # noqa: E743
        xp = namespace(s, o, o_d)
        return 0.5 * (xp.sum((o - o_d) ** 2, axis=-1) + self.lam * xp.sum(s**2, axis=-1))

    def dl_ds(self, s, o, o_d):
        return self.lam * s

    def dl_do(self, s, o, o_d):
        return o - o_d

    def config(self) -> dict:
        return {"name": "quadratic", "lam": float(self.lam)}
