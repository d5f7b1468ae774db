"""The delayed-memory XOR recipe: its stages, candidate stages and selection, as data
(``recipes/xor.json``), and the function that runs them.

The recipe is what found ``docs/data/xor_w2_seed127``, made into one command
(``odesnn reproduce xor``): three training stages, each starting from the
network the one before kept; then short candidate stages of that network on
other batch seeds, a pick among them on validation trials
(:func:`odesnn.tasks.pick_runs`), and one score of the pick on test trials
that no stage or selection saw. Every run directory is kept under ``out``, and
a run killed at any point resumes where it stopped when run again.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
from importlib import resources
from pathlib import Path

from .._checks import check_integer
from ..training.config import default_config
from ..training.loop import train
from ..training.runs import best_path
from ..training.workers import map_jobs
from .pick import pick_runs
from .scoring import evaluate

_RUN_FILES = ("train_config.json", "params.npz", "config.json")


def load_recipe() -> dict:
    """The XOR recipe (``odesnn/tasks/recipes/xor.json``): ``stages``, ``candidates``, ``pick``, ``test`` and
    the ``quick`` smoke-run overrides."""
    return json.loads(resources.files(__package__).joinpath("recipes", "xor.json").read_text())


def _kept(run: Path) -> Path:
    """The network a stage hands on: its best validated network where it validates, else its last."""
    return best_path(run) if (best_path(run) / "params.npz").is_file() else run


def _stderr(*args):
    print(*args, file=sys.stderr, flush=True)


def _prefixed(prefix, *args):
    _stderr(prefix, *args)


def _train_candidate(cfg, run, label):
    """One candidate stage in a worker: no progress bar, its messages on standard error under ``label``."""
    train(cfg, run, resume=True, progress=False, log=functools.partial(_prefixed, label))
    return str(run)


def run_xor_recipe(out, quick=False, candidates=None, progress=True, log=_stderr, jobs=1):
    """Run the XOR recipe into directory ``out``; returns ``(summary, data)`` as :func:`odesnn.tasks.evaluate`.

    Parameters
    ----------
    out : path
        Where the stages (``stage1_latch`` …), the candidate stages (``candidates/seedS``) and the picked
        network (``params.npz``, ``config.json``, ``train_config.json``) are written.
    quick : bool
        A smoke run on the small quick network: the same stages and selection, a step or two each.
    candidates : int or None
        How many candidate stages the pick chooses among (the first of the recipe's batch seeds); ``None``:
        all of them (56).
    progress : bool
        Progress bars of the training stages.
    log : callable
        Where each stage and score is reported (default: standard error, so that standard output holds only
        the summary ``odesnn reproduce`` prints).
    jobs : int
        Candidate stages trained, and pick scorings made, at once in worker processes
        (:func:`odesnn.training.workers.map_jobs`; about one CPU core each). The stages before them run
        here. The networks and scores do not depend on it.

    Returns
    -------
    summary : dict
        :func:`~odesnn.tasks.evaluate`'s metrics on the recipe's test trials, with ``pick`` (the scores on
        the validation seeds, and the best candidate) and ``stages`` (each stage's run directory and
        validation record).
    data : tuple
        For :func:`odesnn.tasks.write_evaluation` and the figures.
    """
    recipe = load_recipe()
    quick_kw = recipe["quick"] if quick else None
    seeds = recipe["candidates"]["seeds"]
    count = (quick_kw["candidates"]["count"] if quick else len(seeds)) if candidates is None else candidates
    count = check_integer("candidates", count, 1)
    jobs = check_integer("jobs", jobs, 1)
    if count > len(seeds):
        raise ValueError(f"`candidates`={count!r}: the recipe has {len(seeds)} candidate batch seeds")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start, stages = None, []
    for k, stage in enumerate(recipe["stages"]):
        kw = quick_kw["stages"][k] if quick else stage["config"]
        run = out / f"stage{k + 1}_{stage['name']}"
        log(f"xor recipe: stage {k + 1} ({stage['name']}) in {run}")
        train(default_config("xor", quick=quick, init_from=start, **kw), run, resume=True, progress=progress,
              log=log)
        record = best_path(run) / "validation.json"
        stages.append({"name": stage["name"], "run": str(run), "kept": str(_kept(run)),
                       "validation": json.loads(record.read_text()) if record.is_file() else None})
        start = str(_kept(run))
    work = []
    for k, seed in enumerate(seeds[:count]):
        kw = {"seed": seed, "steps": quick_kw["candidates"]["steps"]} if quick else \
            dict(recipe["candidates"]["config"], seed=seed)
        run = out / "candidates" / f"seed{seed}"
        work.append((default_config("xor", quick=quick, init_from=start, **kw), run,
                     f"candidate stage {k + 1}/{count} (batch seed {seed})"))
    if jobs == 1:
        for cfg, run, label in work:
            log(f"xor recipe: {label} in {run}")
            train(cfg, run, resume=True, progress=progress, log=log)
        runs = [str(run) for _, run, _ in work]
    else:
        log(f"xor recipe: {count} candidate stages in {out / 'candidates'}, {jobs} at a time")
        runs = map_jobs(_train_candidate, [(cfg, run, f"  {label}:") for cfg, run, label in work], jobs,
                        on_result=lambda i, run: log(f"xor recipe: {work[i][2]} done: {run}"))
    pick = quick_kw["pick"] if quick else recipe["pick"]
    picked = pick_runs(runs, pick["seeds"], min(pick["top"], len(runs)), pick["refit"], pick["trials"], jobs=jobs,
                       log=lambda rec: log(f"  seed {rec['seed']}: " + (rec.get("error") or
                                           f"accuracy {rec['accuracy']:.4f}") + f"  {rec['run']}"))
    for item in _RUN_FILES:
        shutil.copyfile(Path(picked["best"]) / item, out / item)
    test = quick_kw["test"] if quick else recipe["test"]
    log(f"xor recipe: {picked['best']} picked; scoring it on {test['trials']} test trials of seed {test['seed']}")
    summary, data = evaluate(out, n_trials=test["trials"], refit=test["refit"], seed=test["seed"])
    summary["pick"] = {k: picked[k] for k in ("best", "finalists", "failed", "seeds")}
    summary["candidates"] = count
    summary["stages"] = stages
    return summary, data
