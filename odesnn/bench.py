"""Benchmarks of the JAX backend (``python -m odesnn.bench [--case NAME] [--json]``, or ``odesnn bench``).

Cases
-----
``xor``         80 theta neurons, regular and fast synapses, batch 50, 1000 ms, float64: one
                gradient of the batch-mean cost, side by side in one process with ``jax.grad``
                through ``diffeqsolve`` with RecursiveCheckpointAdjoint on the same batch, at
                equal tolerance and at equal accuracy: both gradients are compared with a
                tight-tolerance reference (Dopri8, rtol 1e-10), and odesnn's tolerance is
                loosened (``--ladder``) to the loosest one whose error is no larger than the
                baseline's at its tolerance.
``xor32``       the XOR gradient in float32 (default batch 1024; no baseline).
``autoencoder`` 30 NIF neurons (±1 thresholds), about 770 spikes per 1200 ms trial,
                batch 50: forward per trial and gradient / forward.
``memory``      peak memory of one gradient for a 4000 ms trial over that for 1000 ms.
``solvers``     work-precision of the JAX backend's solver and step-size controller choices: for
                the XOR and auto-encoder networks (batch 8 each), every solver of ``--solvers``
                with every controller of ``--controllers`` at every tolerance of ``--rtols``:
                the gradient's error against the tight reference, its time, and the attempted
                steps per trial (which do not depend on the machine's load).
``scipy``       the SciPy backend (the precision reference): 30 NIF neurons at zero gate width
                (``gate=None``), about 770 spikes in 1200 ms, at the default tolerances: the
                simulation's time (best of ``--repeat``), its spike-time error against a
                tight-tolerance run (rtol 1e-13, atol 1e-15), and one adjoint gradient's time.

Every record has ``case``, the batch, the times in seconds, the solver counts per trial
(``steps_per_trial``, ``rejected_per_trial``, ``passes``: loop passes of the batch, which
the slowest trial sets; ``steps_per_spike``), ``floor_s`` (the batched vector-field
evaluations that the run's passes need, timed alone: stages × passes) and
``peak_mem_mb``. Each case runs in its own process, so that ``peak_mem_mb`` (max RSS) is
its own, and prints its record as soon as it is done (with ``--json``, one JSON object per
line); progress goes to stderr as it happens, so a run cut short still leaves what it did.

Small options for a smoke test on a CPU: ``--batch 2 --t1 100 --neurons 10``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

CASES = ("xor", "xor32", "autoencoder", "memory", "scipy", "solvers")
DEFAULT_BATCH = {"xor": 50, "xor32": 1024, "autoencoder": 50, "memory": 1, "scipy": 1, "solvers": 8}
#: step-size controllers of the ``solvers`` case, ``(pcoeff, icoeff)``: diffrax's default I controller and
#: the PI controllers its documentation suggests for error estimates that do not vary smoothly
CONTROLLERS = ((0.0, 1.0), (0.4, 1.0), (0.3, 0.4), (0.2, 0.4), (0.4, 0.3))
DEFAULT_T1 = {"xor": 1000.0, "xor32": 1000.0, "autoencoder": 1200.0, "scipy": 1200.0}


def _setup(kind, batch, t1, dtype, seed=0, n=None):
    import jax

    jax.config.update("jax_enable_x64", dtype == "float64")
    from odesnn.jax import Model, make_batch
    from odesnn.models.gates import Gate
    from odesnn.models.network import Network
    from odesnn.models.neurons import NIF, QIF

    rng = np.random.default_rng(seed)
    if kind == "xor":
        net = Network(n or 80, 2, 1, neuron=QIF(), gate=Gate("smooth", 0.1), tau=20.0, tau_f=5.0)
        params = net.init_params(seed, w_scale=0.2, wf_scale=0.2, u_scale=0.05)
        params = params._replace(I0=np.full(net.n_neurons, -0.005))
        tg = np.linspace(0, t1, int(t1 / 50) + 1)
        inputs = (rng.uniform(size=(batch, 1, 2)) > 0.5) * 1.0 * np.ones((batch, tg.size, 2))
        inputs[:, tg > 0.4 * t1] = 0.0
        targets = np.where(inputs[:, :, :1].sum(-1, keepdims=True) == 1, 1.0, 0.0)
        x0 = rng.uniform(0, 0.5, (batch, net.n_neurons))
    else:
        net = Network(n or 30, 2, 2, neuron=NIF(), gate=Gate("smooth", 0.1), tau=20.0)
        params = net.init_params(seed, w_scale=0.01, u_scale=0.06)
        tg = np.linspace(0, t1, int(t1 / 20) + 1)
        inputs = rng.standard_normal((batch, tg.size, 2))
        targets = inputs.copy()
        x0 = rng.uniform(-0.5, 0.5, (batch, net.n_neurons))
    b = make_batch(net, tg, inputs, targets, (0, t1), v0=x0)
    return net, params, b, Model(net, "linear", "linear")


def _floor(model, p, b, stages, passes):
    """Seconds for ``passes`` batched vector-field evaluations × ``stages`` (the compute floor)."""
    import jax
    import jax.numpy as jnp

    from odesnn.jax._batch import Trial
    from odesnn.jax._model import forward_field, piece_of

    def ev(t, y, inputs, targets):
        trial = Trial(b.t_grid, inputs, targets)
        return forward_field(model, t, y, (p, trial, piece_of(b.t_grid, t)))

    f = jax.vmap(ev, in_axes=(None, 0, 0, 0))
    y = (b.x0, jnp.zeros(b.inputs.shape[0], b.t_grid.dtype))

    @jax.jit
    def loop(y):
        def body(i, y):
            dy = f(b.t_span[1] * i / 200.0, y, b.inputs, b.targets)  # a time per evaluation: nothing folds
            return jax.tree.map(lambda a, d: a + 1e-9 * d, y, dy)
        return jax.lax.fori_loop(0, 200, body, y)

    jax.block_until_ready(loop(y))
    t = time.perf_counter()
    jax.block_until_ready(loop(y))
    per = (time.perf_counter() - t) / 200
    return per * stages * passes


def _timed(fn, *args, repeat=1):
    """``(seconds, compile_seconds, output)``: the best of ``repeat`` runs after a compiling one."""
    import jax

    t = time.perf_counter()
    out = jax.block_until_ready(fn(*args))  # compile
    compile_s = time.perf_counter() - t
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t)
    return best, compile_s, out


def _note(msg):
    print(f"# {msg}", file=sys.stderr, flush=True)


def _rel(a, b):
    """Relative error of a gradient (``Params``) against a reference: norm of the difference over all groups."""
    num = sum(float(np.sum((np.asarray(x, float) - np.asarray(y, float)) ** 2)) for x, y in zip(a, b))
    den = sum(float(np.sum(np.asarray(y, float) ** 2)) for y in b)
    return float(np.sqrt(num / max(den, 1e-300)))


def _counts(fwd, rec):
    ns, nr = np.asarray(fwd.n_steps), np.asarray(fwd.n_rejected)
    spikes = float(np.mean(np.asarray(fwd.spikes.count)))
    rec.update(spikes_per_trial=spikes, steps_per_trial=float(np.mean(ns)), rejected_per_trial=float(np.mean(nr)),
               rejected_fraction=float(np.sum(nr) / max(np.sum(ns + nr), 1)), passes=int(np.max(ns + nr)),
               steps_per_spike=float(np.mean(ns + nr)) / max(spikes, 1e-300),
               status_ok=bool(np.all(np.asarray(fwd.status) == 0)))
    return rec["passes"]


def _grad_fn(model, opts):
    import jax
    import jax.numpy as jnp

    from odesnn.jax._gradient import trial_costs

    return jax.jit(jax.value_and_grad(lambda p, b: jnp.mean(trial_costs(model, opts, p, b))))


def _forward_fn(model, opts):
    import jax.numpy as jnp

    from odesnn.jax._run import forward_jit

    return lambda p, b: forward_jit(model, opts, p, b, jnp.zeros(0, b.t_grid.dtype))


def _stages(opts):
    from odesnn.jax._rk import method

    m = method(opts.solver)
    return m.n_stages - 1 if m.fsal else m.n_stages


def scipy_case(cfg):
    """The SciPy backend on one auto-encoder-sized trial at zero gate width (see the module docstring)."""
    import timeit

    import odesnn
    from odesnn._problem import make_problem, pack
    from odesnn._scipy.forward import forward_rhs
    from odesnn.models.network import Network
    from odesnn.models.neurons import NIF

    seed, t1, n = 0, cfg.get("t1") or DEFAULT_T1["scipy"], cfg.get("neurons") or 30
    rng = np.random.default_rng(seed)
    net = Network(n, 2, 2, neuron=NIF(), gate=None, tau=20.0)
    params = net.init_params(seed, w_scale=0.01, u_scale=0.06)
    tg = np.linspace(0, t1, int(t1 / 20) + 1)
    inputs = (tg, rng.standard_normal((tg.size, 2)))
    v0 = rng.uniform(-0.5, 0.5, n)
    args = (net, params, inputs, inputs, (0.0, t1))
    rec = dict(case="scipy", device="cpu", platform="scipy", batch=1, neurons=n, t1_ms=t1, gate=None,
               method="DOP853", rtol=1e-10, atol=1e-12)
    best = np.inf
    for _ in range(cfg.get("repeat") or 3):
        t = time.perf_counter()
        sol = odesnn.simulate(*args, v0=v0)
        best = min(best, time.perf_counter() - t)
    rec["simulate_s"] = best
    _note(f"scipy: simulate {best:.3f} s, {sol.spike_times.size} spikes")
    ref = odesnn.simulate(*args, v0=v0, rtol=1e-13, atol=1e-15)
    st = sol.stats
    rec.update(spikes=int(sol.spike_times.size), steps=st["n_steps"], rejected=st["n_rejected"], nfev=st["nfev"],
               steps_per_spike=(st["n_steps"] + st["n_rejected"]) / max(sol.spike_times.size, 1),
               reference="simulate at rtol 1e-13, atol 1e-15", reference_spikes=int(ref.spike_times.size))
    if np.array_equal(sol.spike_neurons, ref.spike_neurons):
        err = np.abs(sol.spike_times - ref.spike_times)
        rec.update(spike_time_error_median_ms=float(np.median(err)), spike_time_error_max_ms=float(np.max(err)))
    else:
        rec.update(spike_time_error_median_ms=None, spike_time_error_max_ms=None)
    problem = make_problem(net, params, inputs, inputs, (0.0, t1), v0, None, None, None)
    y0 = pack(problem.x0, [0.0])
    fun = forward_rhs(problem, y0, 0.0)
    per = min(timeit.repeat(lambda: fun(1.0, y0), number=2000, repeat=3)) / 2000
    rec.update(field_us=1e6 * per, floor_s=per * st["nfev"])
    t = time.perf_counter()
    odesnn.gradient(*args, v0=v0)
    rec["gradient_s"] = time.perf_counter() - t
    _note(f"scipy: gradient {rec['gradient_s']:.3f} s")
    rec.update(odesnn_s=best, baseline=None, baseline_s=None, speedup=None)
    return rec


def solvers_case(cfg):
    """Work-precision of solver x controller x tolerance on the XOR and auto-encoder networks."""
    import dataclasses

    import jax

    from odesnn.jax import Options, cast

    batch = cfg.get("batch") or DEFAULT_BATCH["solvers"]
    rec = dict(case="solvers", device=jax.devices()[0].device_kind, platform=jax.default_backend(), batch=batch,
               reference="odesnn adjoint, dopri8, rtol = atol = 1e-10", rows=[])
    for task, t1 in (("xor", 1000.0), ("ae", 1200.0)):
        net, params, b, model = _setup(task, batch, cfg.get("t1") or t1, "float64")
        base = Options(max_steps=16384, max_spikes=16384, checkpoint_every=64)
        p, bb = cast(params, b, base.real_dtype())
        ref_opts = dataclasses.replace(base, solver="dopri8", rtol=1e-10, atol=1e-10, checkpoint_every=32,
                                       max_steps=32768)
        _, _, (_, gref) = _timed(_grad_fn(model, ref_opts), p, bb, repeat=0)
        for solver in cfg.get("solvers") or ("tsit5", "dopri5"):
            for pc, ic in cfg.get("controllers") or CONTROLLERS:
                for rtol in cfg.get("rtols") or (1e-5, 1e-6, 1e-7):
                    o = dataclasses.replace(base, solver=solver, pcoeff=pc, icoeff=ic, rtol=rtol, atol=rtol)
                    t, _, (_, g) = _timed(_grad_fn(model, o), p, bb, repeat=2)
                    row = dict(task="xor" if task == "xor" else "autoencoder", solver=solver, pcoeff=pc, icoeff=ic,
                               rtol=rtol, gradient_s=t, error=_rel(g, gref))
                    _counts(_forward_fn(model, o)(p, bb), row)
                    rec["rows"].append(row)
                    _note(f"solvers: {row['task']} {solver} P{pc} I{ic} rtol {rtol:g}: {t:.3f} s, error "
                          f"{row['error']:.2e}, {row['steps_per_trial'] + row['rejected_per_trial']:.0f} attempted "
                          f"steps per trial")
    rec.update(odesnn_s=None, baseline=None, baseline_s=None, speedup=None)
    return rec


def run_case(name, cfg):
    if name == "solvers":
        rec = solvers_case(cfg)
        rec["peak_mem_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return rec
    if name == "scipy":
        rec = scipy_case(cfg)
        rec["peak_mem_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return rec
    import jax

    from odesnn.jax import Options, cast

    rec = dict(case=name, device=jax.devices()[0].device_kind, platform=jax.default_backend())
    rtol = cfg.get("rtol", 1e-6)
    extra = cfg.get("options", {})
    batch = cfg.get("batch") or DEFAULT_BATCH[name.split(":")[0]]
    rec["batch"] = batch
    if name in ("xor", "xor32"):
        dtype = "float64" if name == "xor" else "float32"
        t1 = cfg.get("t1") or DEFAULT_T1[name]
        net, params, b, model = _setup("xor", batch, t1, dtype, n=cfg.get("neurons"))
        opts = Options(**{**dict(rtol=rtol, atol=rtol, max_steps=8192, max_spikes=16384, checkpoint_every=64),
                          **extra})
        p, bb = cast(params, b, opts.real_dtype())
        rec.update(dtype=dtype, t1_ms=t1, neurons=net.n_neurons, rtol=rtol, solver=opts.solver,
                   pcoeff=opts.pcoeff, icoeff=opts.icoeff)
        rec["odesnn_s"], rec["odesnn_compile_s"], (val, g) = _timed(_grad_fn(model, opts), p, bb, repeat=2)
        _note(f"{name}: gradient {rec['odesnn_s']:.3f} s (compiled in {rec['odesnn_compile_s']:.1f} s)")
        fwd_fn = _forward_fn(model, opts)
        rec["forward_s"], _, fwd = _timed(fwd_fn, p, bb, repeat=2)
        passes = _counts(fwd, rec)
        rec["pass_ms"] = 1e3 * rec["forward_s"] / passes
        rec["floor_s"] = _floor(model, p, bb, _stages(opts), passes)
        _note(f"{name}: forward {rec['forward_s']:.3f} s, {passes} passes, floor {rec['floor_s']:.3f} s")
        if name == "xor32" or cfg.get("no_baseline"):
            rec.update(baseline=None, baseline_s=None, speedup=None)
        else:
            _xor_baseline(rec, cfg, model, opts, p, bb, g)
    elif name == "autoencoder":
        t1 = cfg.get("t1") or DEFAULT_T1[name]
        net, params, b, model = _setup("ae", batch, t1, "float64", n=cfg.get("neurons"))
        opts = Options(**{**dict(rtol=rtol, atol=rtol, max_steps=16384, max_spikes=4096, checkpoint_every=64),
                          **extra})
        p, bb = cast(params, b, opts.real_dtype())
        rec.update(dtype="float64", t1_ms=t1, neurons=net.n_neurons, rtol=rtol, solver=opts.solver,
                   pcoeff=opts.pcoeff, icoeff=opts.icoeff)
        fwd_fn = _forward_fn(model, opts)
        tf, rec["forward_compile_s"], fwd = _timed(fwd_fn, p, bb, repeat=2)
        passes = _counts(fwd, rec)
        rec.update(forward_s=tf, forward_ms_per_trial=1e3 * tf / batch, pass_ms=1e3 * tf / passes)
        _note(f"{name}: forward {tf:.3f} s = {1e3 * tf / batch:.2f} ms per trial, {passes} passes")
        rec["floor_s"] = _floor(model, p, bb, _stages(opts), passes)
        if not cfg.get("forward_only"):
            tg, rec["odesnn_compile_s"], _ = _timed(_grad_fn(model, opts), p, bb)
            rec.update(odesnn_s=tg, grad_over_forward=tg / tf)
            _note(f"{name}: gradient {tg:.3f} s = {tg / tf:.2f} x forward")
        rec.update(baseline="none (targets are absolute)", baseline_s=None, speedup=None)
    elif name.startswith("memory"):
        t1 = float(name.split(":")[1]) if ":" in name else 1000.0
        net, params, b, model = _setup("xor", 1, t1, "float64", n=cfg.get("neurons"))
        opts = Options(rtol=rtol, atol=rtol, max_steps=int(8 * t1), max_spikes=int(8 * t1), checkpoint_every=64)
        p, bb = cast(params, b, opts.real_dtype())
        rec["odesnn_s"], _, _ = _timed(_grad_fn(model, opts), p, bb)
        rec.update(baseline=None, baseline_s=None, speedup=None, floor_s=None, t1_ms=t1, batch=1)
    rec["peak_mem_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rec.setdefault("baseline_s", None)
    rec.setdefault("speedup", None)
    return rec


def _xor_baseline(rec, cfg, model, opts, p, bb, g):
    """The baseline on the same batch at the same tolerance, and both gradients against a tight reference."""
    import dataclasses

    import jax

    from odesnn.jax import baseline_value_and_grad

    B = cfg.get("baseline_batch") or rec["batch"]
    rtol = opts.rtol
    sub = bb if B == rec["batch"] else jax.tree.map(lambda a: a[:B], bb)._replace(t_grid=bb.t_grid, t_span=bb.t_span)
    rec["baseline"] = (f"jax.grad through diffeqsolve, RecursiveCheckpointAdjoint ({opts.solver}, rtol {rtol:g}), "
                       f"batch {B}")
    rec["baseline_batch"] = B

    def base(p, b, rtol=rtol):
        return baseline_value_and_grad(model, p, b, solver=opts.solver, rtol=rtol, atol=rtol, max_steps=65536)

    tb, rec["baseline_compile_s"], (vb, gb) = _timed(base, p, sub)
    _note(f"xor: baseline {tb:.3f} s on batch {B} (compiled in {rec['baseline_compile_s']:.1f} s)")
    if B == rec["batch"]:
        tm, gm = rec["odesnn_s"], g
    else:
        tm, _, (_, gm) = _timed(_grad_fn(model, opts), p, sub)
        rec["baseline_s_scaled"] = tb * rec["batch"] / B
    rec.update(baseline_s=tb, odesnn_s_same_batch=tm, speedup=tb / tm, grad_rel_diff_vs_baseline=_rel(gm, gb))
    if cfg.get("no_reference"):
        return
    ref_opts = dataclasses.replace(opts, solver="dopri8", rtol=cfg.get("reference_rtol", 1e-10),
                                   atol=cfg.get("reference_rtol", 1e-10), max_steps=32768, checkpoint_every=32)
    _, rec["reference_compile_s"], (_, gref) = _timed(_grad_fn(model, ref_opts), p, sub, repeat=0)
    rec["reference"] = f"odesnn adjoint, dopri8, rtol {ref_opts.rtol:g}"
    rec["odesnn_error"] = _rel(gm, gref)
    rec["baseline_error"] = _rel(gb, gref)
    _note(f"xor: error against the reference: odesnn {rec['odesnn_error']:.2e}, baseline {rec['baseline_error']:.2e}")
    # equal accuracy: odesnn at looser tolerances, the loosest whose error is at most the baseline's
    ladder = [dict(rtol=rtol, s=tm, error=rec["odesnn_error"])]
    for r in cfg.get("ladder", (1e-5, 1e-4, 1e-3)):
        o = dataclasses.replace(opts, rtol=r, atol=r)
        t, _, (_, gr) = _timed(_grad_fn(model, o), p, sub)
        ladder.append(dict(rtol=r, s=t, error=_rel(gr, gref)))
        _note(f"xor: odesnn at rtol {r:g}: {t:.3f} s, error {ladder[-1]['error']:.2e}")
    rec["odesnn_ladder"] = ladder
    base_ladder = [dict(rtol=rtol, s=tb, error=rec["baseline_error"])]
    for r in cfg.get("baseline_ladder") or ():
        t, _, (_, gr) = _timed(base, p, sub, r)
        base_ladder.append(dict(rtol=r, s=t, error=_rel(gr, gref)))
        _note(f"xor: baseline at rtol {r:g}: {t:.3f} s, error {base_ladder[-1]['error']:.2e}")
    # equal accuracy, per baseline tolerance: the fastest odesnn tolerance whose error is no larger
    for b in base_ladder:
        ok = [x for x in ladder if x["error"] <= b["error"]]
        if ok:
            best = min(ok, key=lambda x: x["s"])
            b.update(odesnn_rtol=best["rtol"], odesnn_s=best["s"], odesnn_error=best["error"],
                     speedup=b["s"] / best["s"])
    rec["baseline_ladder"] = base_ladder
    first = base_ladder[0]
    if "speedup" in first:
        rec.update(equal_accuracy_rtol=first["odesnn_rtol"], equal_accuracy_odesnn_s=first["odesnn_s"],
                   equal_accuracy_error=first["odesnn_error"], speedup_equal_accuracy=first["speedup"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", help=f"one of {CASES} (repeatable; default all)")
    ap.add_argument("--json", action="store_true", help="print one JSON record per line, each as its case ends")
    ap.add_argument("--batch", type=int, default=None, help="trials per batch (default: 50; xor32: 1024)")
    ap.add_argument("--t1", type=float, default=None, help="trial length in ms (default: xor 1000, autoencoder 1200)")
    ap.add_argument("--neurons", type=int, default=None, help="network size (default: xor 80, autoencoder 30)")
    ap.add_argument("--rtol", type=float, default=1e-6, help="tolerance (rtol = atol) of both methods")
    ap.add_argument("--baseline-batch", type=int, default=None,
                    help="trials for the baseline (default: the same batch as odesnn); its time is also "
                         "reported scaled to the full batch")
    ap.add_argument("--no-baseline", action="store_true", help="xor: skip the diffrax baseline")
    ap.add_argument("--no-reference", action="store_true", help="xor: skip the tight reference and the ladder")
    ap.add_argument("--ladder", type=float, nargs="*", default=[1e-5, 1e-4, 1e-3],
                    help="xor: looser tolerances of odesnn tried for the equal-accuracy comparison")
    ap.add_argument("--baseline-ladder", type=float, nargs="*", default=[],
                    help="xor: tighter tolerances of the baseline, each compared with the fastest odesnn "
                         "tolerance of --ladder whose gradient is as accurate")
    ap.add_argument("--forward-only", action="store_true", help="autoencoder: time the forward only")
    ap.add_argument("--solvers", nargs="*", default=None, help="solvers: the solvers compared (default tsit5 dopri5)")
    ap.add_argument("--rtols", type=float, nargs="*", default=None,
                    help="solvers: the tolerances (rtol = atol) of each (default 1e-5 1e-6 1e-7)")
    ap.add_argument("--repeat", type=int, default=3, help="scipy: simulations timed (the best is reported)")
    ap.add_argument("--options", type=json.loads, default={},
                    help='extra odesnn.jax.Options as JSON, e.g. \'{"solver": "dopri5", "pcoeff": 0.3}\'')
    ap.add_argument("--inner", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.inner:
        print(json.dumps(run_case(args.inner, json.loads(args.config))), flush=True)
        return
    cfg = dict(batch=args.batch, t1=args.t1, neurons=args.neurons, rtol=args.rtol, baseline_batch=args.baseline_batch,
               no_baseline=args.no_baseline, no_reference=args.no_reference, ladder=args.ladder,
               baseline_ladder=args.baseline_ladder,
               forward_only=args.forward_only, options=args.options, repeat=args.repeat,
               solvers=args.solvers, rtols=args.rtols)
    records = []
    for case in args.case or list(CASES):
        names = ["memory:1000", "memory:4000"] if case == "memory" else [case]
        for nm in names:
            cmd = [sys.executable, "-m", "odesnn.bench", "--inner", nm, "--config", json.dumps(cfg)]
            out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)  # stderr (progress) passes through
            if out.returncode:
                print(f"# case {nm} failed (exit code {out.returncode})", file=sys.stderr, flush=True)
                continue
            rec = json.loads(out.stdout.strip().splitlines()[-1])
            records.append(rec)
            print(json.dumps(rec) if args.json else _summary(rec), flush=True)
    return records


def _summary(rec):
    keys = ("case", "batch", "odesnn_s", "forward_s", "forward_ms_per_trial", "baseline_s", "speedup",
            "speedup_equal_accuracy", "steps_per_trial", "rejected_per_trial", "passes", "spikes",
            "spike_time_error_median_ms", "gradient_s", "floor_s")
    return "  ".join(f"{k}={rec[k]:.4g}" if isinstance(rec.get(k), float) else f"{k}={rec.get(k)}"
                     for k in keys if rec.get(k) is not None)


if __name__ == "__main__":
    main()
