"""Held-out validation during training: the task's scores on fixed trials, and the best network so far.

A run with ``validate_every`` scores its network on the same held-out trials
every so many steps (:func:`validation_scores`) and keeps the best network in
``DIR/best`` (:class:`BestValidation`). The score that ranks networks is the
task's own: accuracy for XOR (ties broken by the squared error), the relative
squared error of the readout for the sinusoid tasks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from scipy.special import ndtri

from .._checks import check_integer, check_real

#: The salt of the validation trials: never training batches, test trials or refitting trials.
VALIDATE_SALT = 49979687
#: The salt of the trials a validation readout is refitted to (``validate_refit``), kept apart likewise.
VALIDATE_FIT_SALT = 67867967


def rel_error(outputs, targets):
    """``Σ‖o - o_d‖² / Σ‖o_d‖²``: the squared error over that of a silent readout."""
    return float(np.sum((outputs - targets) ** 2) / np.sum(targets ** 2))


def accuracy_interval(correct, n, confidence=0.95) -> tuple:
    """Wilson score interval ``(low, high)`` of an accuracy of ``correct`` out of ``n`` trials.

    How far the accuracy of a network on all trials of its task may lie from
    that of ``n`` test trials: at 0.95 over 400 trials the interval reaches
    about 0.02 either side, so a score that close to a target of 0.95 does
    not say on which side of it the network lies. The Wilson interval stays
    inside ``[0, 1]`` and keeps its coverage near 0 and 1, where the normal
    approximation does not.

    Parameters
    ----------
    correct : int
        Trials decided right, ``0 <= correct <= n``.
    n : int
        Trials scored, at least 1.
    confidence : float
        Two-sided confidence level, in ``(0, 1)``.

    Returns
    -------
    tuple of float
        ``(low, high)``, with ``low <= correct / n <= high``.

    Raises
    ------
    ValueError
        If ``n`` or ``correct`` is not an integer in range, or ``confidence`` is not in ``(0, 1)``.
    TypeError
        If ``confidence`` is not a real number.
    """
    n = check_integer("n", n, 1)
    correct = check_integer("correct", correct, 0)
    if correct > n:
        raise ValueError(f"`correct`={correct} exceeds `n`={n}")
    confidence = check_real("confidence", confidence, 0.0, 1.0)
    if confidence in (0.0, 1.0):
        raise ValueError(f"`confidence` must lie strictly between 0 and 1, got {confidence!r}")
    z = float(ndtri(0.5 + confidence / 2))
    p, z2 = correct / n, z * z / n
    centre = (p + z2 / 2) / (1 + z2)
    half = z / (1 + z2) * math.sqrt(p * (1 - p) / n + z2 / (4 * n))
    # at no trial right (all right) the low (high) end is exactly 0 (1); rounding would move it off
    low = 0.0 if correct == 0 else max(0.0, centre - half)
    high = 1.0 if correct == n else min(1.0, centre + half)
    return (low, high)


def validation_scores(task, batch, outputs) -> dict:
    """The task's scores of readouts ``outputs`` ``(B, T, K)`` on ``batch``.

    ``rel_error`` always; ``accuracy`` too for a task that decides trials (XOR, by
    :meth:`odesnn.tasks.XORTask.decide`).
    """
    scores = {"rel_error": rel_error(outputs, batch.targets)}
    if hasattr(task, "decide"):
        decisions = task.decide(batch.t, outputs, batch.info["go"])
        scores["accuracy"] = float(np.mean(decisions == batch.info["labels"]))
    return scores


def rank(scores) -> tuple:
    """Sort key of validation scores, lower is better: ``(-accuracy, rel_error)``, or ``(rel_error,)``."""
    err = scores["rel_error"]
    err = err if err is not None and math.isfinite(err) else math.inf
    return (-scores["accuracy"], err) if "accuracy" in scores else (err,)


class BestValidation:
    """The best validation of a run so far, kept in ``directory/validation.json``.

    The record is read back when the run resumes, so the comparison carries on
    where it stopped. The caller writes the network into ``directory`` before
    :meth:`record`, so a run killed in between holds the older record beside the
    newer network, and redoing the step rewrites both.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self.path = self.directory / "validation.json"
        self.steps, self.scores, self.start = None, None, None
        if self.path.is_file():
            data = json.loads(self.path.read_text())
            self.steps, self.scores, self.start = int(data["steps"]), data["scores"], data.get("start")

    def improves(self, scores) -> bool:
        """Whether ``scores`` rank strictly better than the best so far (any scores beat none)."""
        return self.scores is None or rank(scores) < rank(self.scores)

    def record(self, steps, scores, n_trials):
        """Record ``scores`` after ``steps`` steps as the best; those after 0 steps are also kept as ``start``,
        the scores of the network the run started from."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.steps, self.scores = int(steps), dict(scores)
        if self.steps == 0:
            self.start = dict(scores)
        data = {"steps": self.steps, "scores": self.scores, "n_trials": int(n_trials)}
        if self.start is not None:
            data["start"] = self.start
        self.path.write_text(json.dumps(data, indent=2) + "\n")

    def validations_since(self, steps, every) -> int:
        """Validations after the best one, up to ``steps`` (all of them when there is none yet)."""
        return max(0, steps - (self.steps or 0)) // every
