"""The best of several runs of one task, screened on one seed's test trials and confirmed on others."""

from __future__ import annotations

import numpy as np

from .._checks import check_integer, show
from ..training.runs import load_listed_run, run_list
from ..training.validation import rank
from ..training.workers import map_jobs
from .scoring import evaluate


def _score(run, seed, n_trials, refit):
    """One run's scores on one seed's test trials: ``accuracy`` (XOR) and ``rel_error``, or the ``error``."""
    try:
        metrics, _ = evaluate(run, n_trials, refit=refit, seed=seed, figures=False)
    except RuntimeError as exc:  # a trial failed to simulate: the run drops out, the others go on
        return {"run": run, "seed": seed, "error": str(exc)}
    return {"run": run, "seed": seed, **{k: metrics[k] for k in ("accuracy", "rel_error") if k in metrics}}


def pick_runs(runs, seeds=(13, 17, 19), top=5, refit=300, n_trials=200, log=None, jobs=1):
    """Pick the best of several runs on held-out trials: screen all on one seed, confirm the best on others.

    Runs of one task that differ by chance (stages on other batch seeds, say)
    score differently on the same trials, and the best score among many is
    flattered by the trials it was picked on. So every run is scored on the
    first seed's test trials; the ``top`` best (by accuracy, ties by the
    lower ``rel_error``; by ``rel_error`` alone for the sinusoid tasks) are
    scored again on the other seeds' trials, and the best over all seeds is
    picked. Score the pick afterwards on test trials none of these seeds drew.

    Parameters
    ----------
    runs : sequence of path-like
        Run directories of one task (trained runs, snapshots, ``DIR/best``).
    seeds : sequence of int
        Seeds of the scoring trials (``evaluate``'s ``seed``): the first
        screens every run, the others score the finalists. At least one.
    top : int
        Finalists kept after screening, at least 1.
    refit : int or None
        Trials each run's readout is refitted to before scoring (``evaluate``'s
        ``refit``), drawn from the same seed; ``None`` keeps the trained readout.
    n_trials : int or None
        Test trials per seed (``None``: the run's ``eval_trials``).
    log : callable or None
        Called with each score as it is made (a dict: ``run``, ``seed`` and
        the scores or an ``error``), so that a long pick shows its progress
        and what it has scored survives an interruption.
    jobs : int
        Scorings made at once, each in a worker process of its own
        (:func:`odesnn.training.workers.map_jobs`): about one CPU core each.
        The scores do not depend on it.

    Returns
    -------
    dict
        ``"screen"``: one record per run on the first seed (``run``,
        ``accuracy`` for XOR, ``rel_error``), in the order given;
        ``"finalists"``: the runs among the ``top`` that every seed could
        score, best first, each with its ``scores`` per seed and their means;
        ``"failed"``: the scores that failed (a trial did not simulate), with
        their ``error``; ``"best"``: the first finalist's run. A run that
        fails is left out of the pick, and the others go on.

    Raises
    ------
    ValueError
        If ``runs`` or ``seeds`` is empty, a seed is not a non-negative
        integer or appears twice, ``top``, ``refit`` or ``n_trials`` is not a
        positive integer (or None for the last two), or the runs are of
        different tasks.
    FileNotFoundError
        If a run directory does not hold a trained network.
    RuntimeError
        If no finalist could be scored on every seed.
    """
    runs = [str(r) for r in run_list("runs", runs)]
    if not isinstance(seeds, (list, tuple)):
        raise TypeError(f"`seeds` must be a list of integer seeds, got {show(seeds)}")
    seeds = [check_integer(f"seeds[{i}]", s, 0) for i, s in enumerate(seeds)]
    if log is not None and not callable(log):
        raise TypeError(f"`log` must be None or a function of one score record, got {show(log)}")
    if not seeds:
        raise ValueError("`seeds` must hold at least one seed, got none")
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"`seeds` must be distinct (the same trials twice confirm nothing), got {seeds}")
    top = check_integer("top", top, 1)
    jobs = check_integer("jobs", jobs, 1)
    if refit is not None:
        refit = check_integer("refit", refit, 1)
    if n_trials is not None:
        n_trials = check_integer("n_trials", n_trials, 1)
    tasks = {r: load_listed_run(r)[0].task for r in runs}
    if len(set(tasks.values())) > 1:
        other = next(r for r in runs if tasks[r] != tasks[runs[0]])
        raise ValueError(f"`runs`: {other!r} is a run of the {tasks[other]} task, {runs[0]!r} of the "
                         f"{tasks[runs[0]]} task; pick among runs of one task")

    def score_all(pairs):
        return map_jobs(_score, [(run, seed, n_trials, refit) for run, seed in pairs], jobs,
                        on_result=None if log is None else lambda _, rec: log(rec))

    def scores_only(rec):
        return {k: v for k, v in rec.items() if k not in ("run", "seed")}

    screen = score_all([(r, seeds[0]) for r in runs])
    failed = [rec for rec in screen if "error" in rec]
    kept = sorted((rec for rec in screen if "error" not in rec), key=rank)[:top]
    confirm = score_all([(rec["run"], s) for rec in kept for s in seeds[1:]])
    finalists = []
    for i, rec in enumerate(kept):
        later = confirm[i * (len(seeds) - 1):(i + 1) * (len(seeds) - 1)]
        errors = [r for r in later if "error" in r]
        if errors:
            failed += errors
            continue
        scores = {r["seed"]: scores_only(r) for r in [rec, *later]}
        means = {k: float(np.mean([sc[k] for sc in scores.values()])) for k in scores[seeds[0]]}
        finalists.append({"run": rec["run"], "scores": scores, **means})
    if not finalists:
        raise RuntimeError(f"no run could be scored on every seed: {[(r['run'], r['error']) for r in failed]}")
    finalists.sort(key=rank)
    return {"screen": [{k: v for k, v in r.items() if k != "seed"} for r in screen], "finalists": finalists,
            "failed": failed, "best": finalists[0]["run"], "seeds": seeds, "refit": refit, "n_trials": n_trials}
