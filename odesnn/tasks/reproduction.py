"""``odesnn reproduce``: train a task of the paper with its settings, score it, and draw its figures."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .._checks import check_bool, check_integer, check_optional_integer, show
from ..training.config import default_config
from ..training.loop import train
from .draw import draw_figures
from .scoring import evaluate
from .xor_recipe import run_xor_recipe

#: What ``odesnn reproduce NAME`` changes in the paper's settings (:func:`odesnn.training.default_config`)
#: to fit its wall-time budget on a 2-core CPU: smaller batches of shorter windows cut from the same signals.
#: The network, task, cost, gate and optimiser are the paper's.
BUDGET = {
    "autoencoder": dict(batch_size=8, duration=300.0, steps=220, rtol=1e-4, atol=1e-6, checkpoint_every=10),
    "predictive": dict(batch_size=16, duration=300.0, steps=200, lr=0.01, lr_final=0.001, rtol=1e-4, atol=1e-6,
                       checkpoint_every=10),
}
#: Test trials of ``odesnn reproduce``: (number, duration in ms); the sinusoid tasks use one full period
#: (XOR: the recipe's own test protocol).
EVAL_TRIALS = {"autoencoder": (2, 1200.0), "predictive": (2, 1200.0)}


#: What ``odesnn reproduce`` reproduces: Figure 1 (the gate) and the paper's three tasks.
NAMES = ("gate", "autoencoder", "predictive", "xor")


def reproduce(name, out="reproduce", quick=False, progress=True, candidates=None, jobs=1):
    """Train with the paper's settings (or a short ``quick`` run), evaluate, write ``summary.json`` and figures.

    ``name`` is ``"gate"`` (Figure 1), ``"autoencoder"``, ``"predictive"`` or ``"xor"``; the run goes into
    ``out/name``. XOR runs the whole recipe of :func:`odesnn.tasks.xor_recipe.run_xor_recipe` (``candidates``:
    how many candidate stages its pick chooses among; ``None``: all 56; ``jobs``: how many of them train, and
    how many of its scorings run, at once, each in a worker process).
    """
    if not isinstance(name, str) or name not in NAMES:
        raise ValueError(f"`name`={show(name)} unknown; known: {NAMES}")
    quick, progress = check_bool("quick", quick), check_bool("progress", progress)
    candidates = check_optional_integer("candidates", candidates, 1)
    if candidates is not None and name != "xor":
        raise ValueError(f"`candidates`={candidates!r} is for the xor recipe, not {name}")
    jobs = check_integer("jobs", jobs, 1)
    if jobs > 1 and name != "xor":
        raise ValueError(f"`jobs`={jobs!r} is for the xor recipe, not {name}")
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"`out` must be a path (a str or pathlib.Path), got {show(out)}")
    out = Path(out) / name
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if name == "gate":
        from .figures import figure1

        summary = {"panels": figure1(out / "figure1.png")}
        summary["charge_error_beyond_zone"] = max(abs(p["charge"] - 1) for p in summary["panels"].values()
                                                  if p["plateau"] >= 1)
    else:
        if name == "xor":
            summary, data = run_xor_recipe(out, quick=quick, candidates=candidates, progress=progress, jobs=jobs)
        else:
            train(default_config(name, quick=quick, **({} if quick else BUDGET.get(name, {}))), out, progress=progress)
            n_trials, duration = (None, None) if quick else EVAL_TRIALS.get(name, (None, None))
            summary, data = evaluate(out, n_trials, duration)
        draw_figures(name, out, data)
    summary["wall_s"] = time.perf_counter() - t0
    summary["quick"] = bool(quick)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return summary
