"""Trained weights against the efficient-coding prediction of the paper (W_f = -U O)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import as_float_array, check_bool
from ..models.network import Params


def predicted_fast_weights(params):
    """The fast recurrent weights of the efficient balanced network, ``W_f ≈ -U O`` (paper, Fig. 2E).

    Needs ``n_outputs == n_inputs`` (auto-encoding). The diagonal is set to zero.
    """
    if not isinstance(params, Params):
        raise TypeError(f"`params` must be odesnn.Params, got {type(params).__name__}")
    U, O = as_float_array("params.U", params.U), as_float_array("params.O", params.O)
    if U.ndim != 2 or O.ndim != 2:
        raise ValueError(f"`params.U` and `params.O` must be matrices, got shapes {U.shape} and {O.shape}")
    if U.shape[1] != O.shape[0]:
        raise ValueError(f"`-U O` needs as many inputs as outputs; U is {U.shape}, O is {O.shape}")
    pred = -U @ O
    np.fill_diagonal(pred, 0.0)
    return pred


class WeightComparison(NamedTuple):
    """Agreement of a weight matrix with a prediction.

    Attributes
    ----------
    correlation : float
        Pearson correlation of the compared entries.
    slope : float
        Least-squares ``a`` in ``trained ≈ a * predicted``.
    relative_error : float
        ``‖trained - a predicted‖ / ‖trained‖``.
    trained, predicted : ndarray
        The compared entries (flattened).
    """

    correlation: float
    slope: float
    relative_error: float
    trained: np.ndarray
    predicted: np.ndarray


def compare_weights(trained, predicted, off_diagonal=True):
    """Compare a weight matrix with a predicted one (e.g. ``W_f`` with ``-U O``, or ``U`` with ``Oᵀ``).

    Parameters
    ----------
    trained, predicted : array (n, m)
    off_diagonal : bool
        Compare only the off-diagonal entries (square matrices).

    Returns
    -------
    WeightComparison
    """
    A, B = as_float_array("trained", trained), as_float_array("predicted", predicted)
    off_diagonal = check_bool("off_diagonal", off_diagonal)
    if A.shape != B.shape:
        raise ValueError(f"`trained` {A.shape} and `predicted` {B.shape} must have the same shape")
    if off_diagonal and A.ndim == 2 and A.shape[0] == A.shape[1]:
        keep = ~np.eye(A.shape[0], dtype=bool)
        a, b = A[keep], B[keep]
    else:
        a, b = A.ravel(), B.ravel()
    corr = float(np.corrcoef(a, b)[0, 1]) if a.size > 1 and a.std() > 0 and b.std() > 0 else np.nan
    bb = float(b @ b)
    slope = float(a @ b) / bb if bb > 0 else np.nan
    norm = float(np.linalg.norm(a))
    rel = float(np.linalg.norm(a - slope * b) / norm) if norm > 0 and np.isfinite(slope) else np.nan
    return WeightComparison(corr, slope, rel, a, b)
