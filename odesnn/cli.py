"""Command line: ``odesnn gradcheck``, ``odesnn figure`` and friends.

Each subcommand lives in a function ``_cmd_<name>`` registered in
:data:`COMMANDS`; ``python -m odesnn`` is equivalent to ``odesnn``.
"""

from __future__ import annotations

import argparse
import json
import sys


def _add_gradcheck(sub):
    p = sub.add_parser("gradcheck", help="adjoint vs forward sensitivity vs finite differences on a random network",
                       description="The gradient of a random network three ways (and through the JAX backend with "
                                   "--backend jax), each relative error held against its bound; exits 1 on FAIL.")
    p.add_argument("--model", choices=["nif", "qif", "lif", "alif", "izhikevich", "adex"], default="nif",
                   help="neuron model of the random network")
    p.add_argument("--backend", choices=["scipy", "jax"], default="scipy",
                   help="jax: also check the JAX adjoint against the SciPy reference (jax_vs_scipy)")
    p.add_argument("--gate", choices=["box", "smooth", "poly2", "none"], default="smooth",
                   help="gate profile (width 0.1; 5 mV for izhikevich, 2 mV for adex), or none: the zero-width "
                        "threshold synapse (Δ = 0)")
    p.add_argument("--inputs", choices=["continuous", "spikes"], default="continuous",
                   help="continuous: two sums of sinusoids; spikes: two Poisson spike trains (200 Hz) through input "
                        "synapses (tau_in 5 ms)")
    p.add_argument("--neurons", type=int, default=6, help="number of neurons")
    p.add_argument("--duration", type=float, default=60.0, help="ms")
    p.add_argument("--seed", type=int, default=0, help="seed of the random network and its inputs")
    p.add_argument("--directions", type=int, default=1, help="random FD directions per parameter group")
    p.add_argument("--save", metavar="DIR", default=None, help="write network, inputs and gradients to DIR")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=_cmd_gradcheck)


def _cmd_gradcheck(args):
    from ._gradcheck import gradcheck
    from ._progress import stage_bar

    if args.neurons < 1:
        raise SystemExit(f"odesnn gradcheck: --neurons must be positive, got {args.neurons}")
    if not 0 < args.duration < float("inf"):
        raise SystemExit(f"odesnn gradcheck: --duration must be positive and finite, got {args.duration}")
    if args.directions < 1:
        raise SystemExit(f"odesnn gradcheck: --directions must be positive, got {args.directions}")
    if args.seed < 0:
        raise SystemExit(f"odesnn gradcheck: --seed must be non-negative, got {args.seed}")
    with stage_bar("gradcheck", enabled=not args.json and not args.no_progress) as progress:
        report = gradcheck(args.model, args.backend, args.gate, args.neurons, args.duration, args.seed,
                           save_dir=args.save, n_directions=args.directions, progress=progress, inputs=args.inputs)
    if args.json:
        print(json.dumps(report, indent=2, default=float))
        return 0 if report["passed"] else 1
    inputs = report.get("inputs", "continuous")
    print(f"odesnn gradcheck: model={report['model']} gate={report['gate']} inputs={inputs} "
          f"backend={report['backend']} "
          f"N={report['neurons']} T={report['duration']:g} ms seed={report['seed']}")
    print(f"  spikes             {report['n_spikes']}")
    print(f"  loss               {report['loss']:.12g}")
    for key, check in report["verdict"].items():
        print(f"  {key:<18} {check['error']:.3e}  (bound {check['bound']:.0e})  {'PASS' if check['pass'] else 'FAIL'}")
    if args.save:
        print(f"  saved to {args.save}")
    print("PASS: every relative error is within its bound" if report["passed"] else
          "FAIL: " + ", ".join(k for k, c in report["verdict"].items() if not c["pass"]) + " above the bound")
    return 0 if report["passed"] else 1


def _add_width_sweep(sub):
    p = sub.add_parser("width-sweep",
                       help="one random network's cost, spikes and gradient as the gate width Δ goes to 0",
                       description="Gate width Δ over a geometric sequence down to 0 on one random network and input "
                                   "(the SciPy adjoint at each width); grad_rel_diff is the gradient's relative "
                                   "distance from the Δ = 0 gradient. Writes OUT/sweep.json and OUT/width_sweep.png.")
    p.add_argument("--model", choices=["nif", "qif", "lif", "alif", "izhikevich", "adex"], default="qif",
                   help="neuron model of the random network")
    p.add_argument("--widths", type=float, nargs="+", default=None, metavar="DELTA",
                   help="gate widths (default: ten from 0.2 down to 2e-4, geometric); 0 is always added")
    p.add_argument("--gate", choices=["box", "smooth", "poly2"], default="smooth", help="gate profile for Δ > 0")
    p.add_argument("--neurons", type=int, default=3, help="number of neurons")
    p.add_argument("--duration", type=float, default=30.0, help="ms")
    p.add_argument("--seed", type=int, default=0, help="seed of the random network and its inputs")
    p.add_argument("--min-spikes", type=int, default=10, help="raise the drive until the network fires this many")
    p.add_argument("--rtol", type=float, default=1e-10, help="solver tolerance")
    p.add_argument("--out", default="width-sweep", metavar="DIR", help="directory for sweep.json and the figure")
    p.add_argument("--json", action="store_true", help="print sweep.json's rows (without the gradients) as JSON")
    p.set_defaults(func=_cmd_width_sweep)


def _cmd_width_sweep(args):
    from ._gradcheck import random_problem
    from ._width_sweep import DEFAULT_WIDTHS, sweep_slope, width_sweep, write_width_sweep

    if args.neurons < 1:
        raise SystemExit(f"odesnn width-sweep: --neurons must be positive, got {args.neurons}")
    if not args.duration > 0:
        raise SystemExit(f"odesnn width-sweep: --duration must be positive, got {args.duration}")
    widths = DEFAULT_WIDTHS if args.widths is None else args.widths
    try:
        problem = random_problem(args.model, args.gate, args.neurons, args.duration, args.seed,
                                 min_spikes=args.min_spikes)
        rows = width_sweep(problem.net, problem.params, problem.inputs, problem.target, (problem.t0, problem.t1),
                           v0=problem.x0.v, w0=problem.x0.w, widths=widths, kind=args.gate, rtol=args.rtol)
    except (ValueError, RuntimeError) as exc:
        raise SystemExit(f"odesnn width-sweep: {exc}") from None
    json_path, png_path = write_width_sweep(rows, args.out, title=f"{args.model}, {args.gate} gate, "
                                            f"N={args.neurons}, T={args.duration:g} ms, seed {args.seed}")
    if args.json:
        keep = ("width", "cost", "n_spikes", "grad_norm", "grad_rel_diff", "cost_diff", "same_spikes",
                "spike_time_max_diff")
        print(json.dumps({"slope_grad_rel_diff": sweep_slope(rows),
                          "rows": [{k: r[k] for k in keep} for r in rows]}, indent=2, default=float))
        return 0
    print(f"odesnn width-sweep: model={args.model} gate={args.gate} N={args.neurons} T={args.duration:g} ms "
          f"seed={args.seed}")
    print(f"  {'width':>9} {'spikes':>6} {'same':>5} {'cost':>14} {'grad_rel_diff':>14} {'max |dt_k| ms':>14}")
    for r in rows:
        print(f"  {r['width']:>9.3g} {r['n_spikes']:>6d} {str(r['same_spikes']):>5} {r['cost']:>14.8g} "
              f"{r['grad_rel_diff']:>14.3e} {r['spike_time_max_diff']:>14.3e}")
    print(f"  log-log slope of grad_rel_diff against Δ: {sweep_slope(rows):.3f}")
    print(f"  wrote {json_path} and {png_path}")
    return 0


def _add_figure(sub):
    p = sub.add_parser("figure", help="reproduce a figure of the paper")
    p.add_argument("name", choices=["gate"], help="gate: Figure 1 (gate and charge)")
    p.add_argument("--out", default="figure1.png", help="output PNG path")
    p.set_defaults(func=_cmd_figure)


def _cmd_figure(args):
    from .tasks.figures import figure1

    summary = figure1(args.out)
    print(json.dumps(summary, indent=2, default=float))
    return 0


def _add_train(sub):
    p = sub.add_parser("train", help="train on a task of the paper (JAX adjoint, optax Adam)")
    p.add_argument("task", choices=["autoencoder", "predictive", "xor"], help="the task of the paper to train on")
    p.add_argument("--config", default=None, help="JSON file of TrainConfig fields overriding the paper's settings")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its last checkpoint")
    p.add_argument("--quick", action="store_true", help="a short smoke-test run")
    p.set_defaults(func=_cmd_train)


def config_overrides(path, task):
    """The ``TrainConfig`` fields of the JSON file ``path`` (None: no overrides) for ``odesnn train TASK``.

    A run's saved ``train_config.json`` names its task; it may be passed back as ``--config`` when that
    task is ``task``, so that a saved run can be trained again as it was.
    """
    if path is None:
        return {}
    from ._checks import read_json

    overrides = read_json(path, "--config")
    if not isinstance(overrides, dict):
        raise SystemExit(f"--config {path}: expected a JSON object of TrainConfig fields, "
                         f"got {type(overrides).__name__}")
    named = overrides.pop("task", task)
    if named != task:
        raise SystemExit(f"--config {path} is for task {named!r}, but the command trains {task!r}")
    return overrides


def _cmd_train(args):
    import jax

    from .training.checkpoint import CheckpointError
    from .training.config import default_config
    from .training.loop import TrainingDiverged, train

    overrides = config_overrides(args.config, args.task)
    if overrides.get("dtype", "float64") == "float64":
        jax.config.update("jax_enable_x64", True)
    cfg = default_config(args.task, quick=args.quick, **overrides)
    try:
        train(cfg, args.out, resume=args.resume)
    except (CheckpointError, TrainingDiverged) as exc:  # diverged: no network saved, the checkpoint kept
        raise SystemExit(f"odesnn train: {exc}") from None
    print(f"trained network saved in {args.out} (params.npz, config.json)")
    return 0


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="metrics of a trained run on fresh test trials")
    p.add_argument("dir", help="run directory (trained, a snapshot, DIR/best, or a run in progress)")
    p.add_argument("--trials", type=int, default=None,
                   help="number of test trials (default: the task's, TrainConfig.eval_trials)")
    p.add_argument("--duration", type=float, default=None, help="length of the test trials in ms")
    p.add_argument("--refit-readout", type=int, default=None, metavar="N",
                   help="score the network with its readout refitted to N fresh trials (ridge regression)")
    p.add_argument("--seed", type=int, default=None,
                   help="draw the test (and refitting) trials from this seed instead of the run's training seed")
    p.add_argument("--refit-window-weight", type=float, default=None, metavar="W",
                   help="XOR diagnostic: fit the refitted readout with the response window weighted W times "
                        "(not the paper's cost; needs --refit-readout)")
    p.add_argument("--width", type=float, default=None, metavar="DELTA",
                   help="evaluate with a gate of this width instead of the trained one (pair with --refit-readout)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="also write summary.json and the task's figures (PNG, as odesnn reproduce draws them) into DIR")
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args):
    import jax

    from .tasks.scoring import evaluate, write_evaluation

    jax.config.update("jax_enable_x64", True)  # float64 runs' JAX forwards need it; float32 runs still cast down
    metrics, data = evaluate(args.dir, args.trials, args.duration, args.refit_readout, args.seed, args.width,
                             figures=args.out is not None,  # the figure trials are simulated only to be drawn
                             refit_window_weight=args.refit_window_weight)
    if args.out is not None:
        write_evaluation(args.out, metrics, data)
    print(json.dumps(metrics, indent=2, default=float))
    return 0


def _add_average(sub):
    p = sub.add_parser("average", help="the parameter average of several runs of one network (a new run directory)")
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="run directories: trained runs, snapshots (DIR/snapshots/stepNNNNN) or DIR/best")
    p.add_argument("--out", required=True, metavar="DIR", help="where to write the averaged network")
    p.set_defaults(func=_cmd_average)


def _cmd_average(args):
    from .training.runs import average_runs

    try:
        average_runs(args.runs, args.out)
    except (ValueError, FileNotFoundError) as exc:
        raise SystemExit(f"odesnn average: {exc}") from None
    print(f"average of {len(args.runs)} runs saved in {args.out} (params.npz, config.json, train_config.json)")
    return 0


def _add_pick(sub):
    p = sub.add_parser("pick", help="the best of several runs: screen all on one seed's trials, confirm on others")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories of one task")
    p.add_argument("--seeds", type=int, nargs="+", default=[13, 17, 19],
                   help="seeds of the scoring trials: the first screens every run, the others the finalists")
    p.add_argument("--top", type=int, default=5, help="finalists kept after screening")
    p.add_argument("--refit-readout", type=int, default=300, metavar="N",
                   help="refit each readout to N fresh trials of the seed before scoring (0: the trained readout)")
    p.add_argument("--trials", type=int, default=200, help="test trials per seed")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="scorings made at once (one process and about one CPU core each)")
    p.add_argument("--json", action="store_true", help="print the whole record as JSON")
    p.set_defaults(func=_cmd_pick)


def _cmd_pick(args):
    import jax

    from .tasks.pick import pick_runs

    def progress(rec):  # each score as it is made, on stderr
        what = rec.get("error") or "  ".join(f"{k} {rec[k]:.4f}" for k in ("accuracy", "rel_error") if k in rec)
        print(f"  seed {rec['seed']}: {what}  {rec['run']}", file=sys.stderr, flush=True)

    jax.config.update("jax_enable_x64", True)
    try:
        result = pick_runs(args.runs, args.seeds, args.top, args.refit_readout or None, args.trials, log=progress,
                           jobs=args.jobs)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        raise SystemExit(f"odesnn pick: {exc}") from None
    if args.json:
        print(json.dumps(result, indent=2, default=float))
        return 0
    key = "accuracy" if "accuracy" in result["finalists"][0] else "rel_error"
    print(f"odesnn pick: {len(args.runs)} runs screened on seed {args.seeds[0]}, {key} / rel_error "
          f"({args.trials} trials per seed)")
    for rec in sorted((r for r in result["screen"] if "error" not in r), key=lambda r: r["run"]):
        print(f"  {rec[key]:.4f} / {rec['rel_error']:.4f}  {rec['run']}")
    print(f"finalists, mean over seeds {' '.join(str(s) for s in args.seeds)}:")
    for rec in result["finalists"]:
        each = "  ".join(f"{sc[key]:.4f}" for sc in rec["scores"].values())
        print(f"  {rec[key]:.4f} / {rec['rel_error']:.4f}  ({each})  {rec['run']}")
    for rec in result["failed"]:
        print(f"  failed on seed {rec['seed']}: {rec['error']}  {rec['run']}")
    print(f"best: {result['best']}")
    return 0


REPRODUCE_TIMES = """\
expected wall time on a 2-core x86-64 CPU (jax 0.10):
  gate          3 s
  autoencoder   18 min
  predictive    18 min
  xor           2 h with --jobs 2: stages 1-3 40 min, 56 candidate stages 26 min,
                the pick's 66 scorings 49 min, the test 4 min (an estimated 3 h with --jobs 1)
  --quick       under 1 min each

on a GPU: not shorter (not timed on a GPU in this version). The recipes train
batches of 8 to 16 trials, whose gradient is latency-bound: an XOR gradient at
batch 16 took 3.5-3.8 s on an NVIDIA H100 against 3.8-4.4 s on the 2-core CPU
(docs/benchmarks.md). On a machine with more cores run
JAX_PLATFORMS=cpu odesnn reproduce xor --jobs N, one core per job, and do not
share one GPU between jobs.
"""


def _add_reproduce(sub):
    p = sub.add_parser("reproduce", help="train with the paper's settings, evaluate and draw the figures",
                       epilog=REPRODUCE_TIMES, formatter_class=_EpilogFormatter)
    p.add_argument("name", choices=["gate", "autoencoder", "predictive", "xor"], help="the figure or task to reproduce")
    p.add_argument("--out", default="reproduce", help="directory; the run goes into OUT/NAME")
    p.add_argument("--quick", action="store_true", help="a smoke run of under a minute (the same steps, tiny)")
    p.add_argument("--candidates", type=int, default=None, metavar="N",
                   help="xor: how many 8-step candidate stages the pick chooses among (default: the recipe's 56)")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="xor: candidate stages trained, and pick scorings made, at once (one process and about "
                        "one CPU core each; the result does not depend on it)")
    p.set_defaults(func=_cmd_reproduce)


def _cmd_reproduce(args):
    import jax

    from .tasks.reproduction import reproduce

    jax.config.update("jax_enable_x64", True)
    if args.candidates is not None and args.name != "xor":
        raise SystemExit(f"odesnn reproduce: --candidates is for xor, not {args.name}")
    if args.jobs != 1 and args.name != "xor":
        raise SystemExit(f"odesnn reproduce: --jobs is for xor, not {args.name}")
    summary = reproduce(args.name, args.out, args.quick, candidates=args.candidates, jobs=args.jobs)
    print(json.dumps(summary, indent=2, default=float))
    return 0


def _add_bench(sub):
    p = sub.add_parser("bench", help="benchmarks: the JAX backend against autodiff through diffrax, and the SciPy "
                                     "backend's speed and precision")
    p.add_argument("--case", action="append",
                   help="xor, xor32, autoencoder, memory or scipy (repeatable; default all)")
    p.add_argument("--json", action="store_true", help="print a list of records")
    p.add_argument("--baseline-batch", type=int, default=None,
                   help="trials for the baseline (its time is scaled to the full batch)")
    p.set_defaults(func=_cmd_bench)


def _cmd_bench(args):
    from . import bench

    argv = [item for case in (args.case or []) for item in ("--case", case)]
    argv += ["--json"] if args.json else []
    argv += ["--baseline-batch", str(args.baseline_batch)] if args.baseline_batch is not None else []
    bench.main(argv)
    return 0


def _add_tolerance(sub):
    p = sub.add_parser("tolerance", help="a run's gradients at loose tolerances against a tight solve")
    p.add_argument("dir", help="run directory (trained, or in progress: its last checkpoint)")
    p.add_argument("--rtols", type=float, nargs="+", default=[1e-4, 1e-5, 1e-6], help="tolerances to check")
    p.add_argument("--reference", type=float, default=1e-9, metavar="RTOL", help="rtol of the reference gradients")
    p.add_argument("--trials", type=int, default=16, help="fresh trials in the batch")
    p.add_argument("--v0-shifts", type=float, nargs="*", default=[], metavar="EPS",
                   help="also compare, at the reference tolerance, gradients from initial voltages moved by EPS")
    p.add_argument("--json", action="store_true", help="print a list of records")
    p.set_defaults(func=_cmd_tolerance)


def _cmd_tolerance(args):
    import jax
    import numpy as np

    from .training.config import build_network
    from .training.diagnostics import gradient_agreement
    from .training.runs import load_run

    jax.config.update("jax_enable_x64", True)
    cfg, _, params = load_run(args.dir)
    rows = gradient_agreement(cfg, build_network(cfg), params, args.rtols, args.reference, args.trials,
                              args.v0_shifts)
    records = [{"rtol": r.rtol, "atol": r.atol, "v0_shift": r.v0_shift, "cosine_median": float(np.median(r.cosines)),
                "cosine_min": float(np.min(r.cosines)), "norm_ratio_median": float(np.median(r.norm_ratios)),
                "batch_cosine": r.batch_cosine, "cost_error": r.cost_error, "seconds": r.seconds} for r in rows]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    print(f"odesnn tolerance: {args.dir}, {args.trials} trials, reference rtol {args.reference:g}")
    print(f"  {'rtol':>8} {'v0 shift':>9} {'cosine median':>14} {'cosine min':>11} {'norm ratio':>11} "
          f"{'step cosine':>12} {'cost error':>11} {'seconds':>8}")
    for r in records:
        print(f"  {r['rtol']:>8.0e} {r['v0_shift']:>9.0e} {r['cosine_median']:>14.4f} {r['cosine_min']:>11.4f} "
              f"{r['norm_ratio_median']:>11.3f} {r['batch_cosine']:>12.4f} {r['cost_error']:>11.2e} "
              f"{r['seconds']:>8.2f}")
    return 0


COMMANDS = [_add_gradcheck, _add_width_sweep, _add_figure, _add_train, _add_evaluate, _add_average, _add_pick,
            _add_tolerance, _add_reproduce, _add_bench]


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows each option's default (a flag's, or a ``None`` that the help text explains, is left out)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class _EpilogFormatter(argparse.RawDescriptionHelpFormatter, _Formatter):
    """As ``_Formatter``, but the description and epilog (a table) keep their line breaks."""


class _Parser(argparse.ArgumentParser):
    """A subcommand's parser: every option's help shows its default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def build_parser():
    parser = argparse.ArgumentParser(prog="odesnn", description="Exact gradients for spiking networks posed as ODEs",
                                     formatter_class=_Formatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:  # a bad argument or file, named by the message: no traceback
        raise SystemExit(f"odesnn {args.command}: {exc}") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
