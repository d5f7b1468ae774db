"""Benchmarks of the JAX backend (``python -m odesnn.bench [--case NAME] [--json]``).

Cases
-----
``xor``         80 theta neurons, regular and fast synapses, batch 50, 1000 ms: one
                gradient of the batch-mean cost, against ``jax.grad`` through
                ``diffeqsolve`` with RecursiveCheckpointAdjoint at the same tolerance.
``autoencoder`` 30 NIF neurons (±1 thresholds), about 850 spikes per 1200 ms trial,
                batch 50: forward per trial and gradient / forward.
``memory``      peak memory of one gradient for a 4000 ms trial over that for 1000 ms.

Each record has ``case, odesnn_s, baseline, baseline_s, speedup, floor_s, peak_mem_mb``.
``floor_s`` is the time of the vector-field evaluations the run needed, timed alone
(batched field evaluation × stages × the largest number of attempted steps in the batch).
Each case runs in its own process so that ``peak_mem_mb`` (max RSS) is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

CASES = ("xor", "xor32", "autoencoder", "memory")


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


def _floor(model, p, b, stages, steps):
    """Seconds for ``steps`` batched vector-field evaluations × ``stages`` (the compute floor)."""
    import jax
    import jax.numpy as jnp

    from odesnn.jax._batch import Trial
    from odesnn.jax._model import forward_field

    def ev(y, inputs, targets):
        return forward_field(model, 1.0, y, (p, Trial(b.t_grid, inputs, targets), 0))

    f = jax.vmap(ev)
    y = (b.x0, jnp.zeros(b.inputs.shape[0], b.t_grid.dtype))

    @jax.jit
    def loop(y):
        def body(_, y):
            dy = f(y, b.inputs, b.targets)
            return jax.tree.map(lambda a, d: a + 1e-9 * d, y, dy)
        return jax.lax.fori_loop(0, 200, body, y)

    jax.block_until_ready(loop(y))
    t = time.perf_counter()
    jax.block_until_ready(loop(y))
    per = (time.perf_counter() - t) / 200
    return per * stages * steps


def _timed(fn, *args):
    import jax

    jax.block_until_ready(fn(*args))  # compile
    t = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return time.perf_counter() - t, out


def run_case(name, baseline_batch=None):
    import jax
    import jax.numpy as jnp

    from odesnn.jax import Options, baseline_value_and_grad, cast
    from odesnn.jax._gradient import trial_costs
    from odesnn.jax._run import forward_jit

    rec = dict(case=name)
    if name in ("xor", "xor32"):
        dtype = "float64" if name == "xor" else "float32"
        net, params, b, model = _setup("xor", 50, 1000.0, dtype)
        opts = Options(rtol=1e-6, atol=1e-6, max_steps=8192, max_spikes=16384, checkpoint_every=64)
        p, bb = cast(params, b, opts.real_dtype())
        grad = jax.jit(jax.value_and_grad(lambda p, b: jnp.mean(trial_costs(model, opts, p, b))))
        rec["odesnn_s"], (val, g) = _timed(grad, p, bb)
        fwd = forward_jit(model, opts, p, bb, jnp.zeros(0, bb.t_grid.dtype))
        steps = int(np.max(np.asarray(fwd.n_steps) + np.asarray(fwd.n_rejected)))
        rec["spikes_per_trial"] = float(np.mean(np.asarray(fwd.spikes.count)))
        rec["steps_per_trial"] = float(np.mean(np.asarray(fwd.n_steps)))
        rec["rejected_per_trial"] = float(np.mean(np.asarray(fwd.n_rejected)))
        rec["forward_s"], _ = _timed(lambda p, b: forward_jit(model, opts, p, b, jnp.zeros(0, b.t_grid.dtype)).y, p, bb)
        rec["floor_s"] = _floor(model, p, bb, 6, steps)
        B = 0 if name == "xor32" else (baseline_batch or 50)
        rec["baseline"] = (f"jax.grad through diffeqsolve RecursiveCheckpointAdjoint (tsit5, rtol 1e-6), batch {B}"
                           if B else "not run for float32 (see the float64 row)")
        if B:
            sub = jax.tree.map(lambda a: a[:B], bb)
            sub = sub._replace(t_grid=bb.t_grid, t_span=bb.t_span)
            base = lambda p, b: baseline_value_and_grad(model, p, b, rtol=1e-6, atol=1e-6, max_steps=8192)  # noqa: E731
            tb, (vb, gb) = _timed(base, p, sub)
            rec["baseline_s"] = tb * 50 / B
            mine_sub = jax.jit(jax.value_and_grad(lambda p, b: jnp.mean(trial_costs(model, opts, p, b))))
            tm, (vm, gm) = _timed(mine_sub, p, sub)
            rec["baseline_s_measured"] = tb
            rec["odesnn_s_same_batch"] = tm
            rec["speedup"] = tb / tm
            rec["grad_rel_diff_vs_baseline"] = float(max(np.max(np.abs(np.asarray(a) - np.asarray(c)))
                                                         / (np.max(np.abs(np.asarray(c))) + 1e-30)
                                                         for a, c in zip(gm, gb)))
    elif name == "autoencoder":
        net, params, b, model = _setup("ae", 50, 1200.0, "float64")
        opts = Options(rtol=1e-6, atol=1e-6, max_steps=16384, max_spikes=4096, checkpoint_every=64)
        p, bb = cast(params, b, opts.real_dtype())
        fwd_fn = lambda p, b: forward_jit(model, opts, p, b, jnp.zeros(0, b.t_grid.dtype))  # noqa: E731
        tf, fwd = _timed(lambda p, b: fwd_fn(p, b).y, p, bb)
        fwd = fwd_fn(p, bb)
        grad = jax.jit(jax.value_and_grad(lambda p, b: jnp.mean(trial_costs(model, opts, p, b))))
        tg, _ = _timed(grad, p, bb)
        steps = int(np.max(np.asarray(fwd.n_steps) + np.asarray(fwd.n_rejected)))
        rec.update(odesnn_s=tg, forward_s=tf, forward_ms_per_trial=1e3 * tf / 50, grad_over_forward=tg / tf,
                   spikes_per_trial=float(np.mean(np.asarray(fwd.spikes.count))),
                   steps_per_trial=float(np.mean(np.asarray(fwd.n_steps))),
                   rejected_per_trial=float(np.mean(np.asarray(fwd.n_rejected))),
                   baseline="none (targets are absolute)", baseline_s=None, speedup=None,
                   floor_s=_floor(model, p, bb, 6, steps))
    elif name.startswith("memory"):
        t1 = float(name.split(":")[1]) if ":" in name else 1000.0
        net, params, b, model = _setup("xor", 1, t1, "float64")
        opts = Options(rtol=1e-6, atol=1e-6, max_steps=int(8 * t1), max_spikes=int(8 * t1), checkpoint_every=64)
        p, bb = cast(params, b, opts.real_dtype())
        grad = jax.jit(jax.value_and_grad(lambda p, b: jnp.mean(trial_costs(model, opts, p, b))))
        rec["odesnn_s"], _ = _timed(grad, p, bb)
        rec.update(baseline=None, baseline_s=None, speedup=None, floor_s=None, t1_ms=t1)
    rec["peak_mem_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rec.setdefault("baseline_s", None)
    rec.setdefault("speedup", None)
    return rec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", help=f"one of {CASES} (repeatable; default all)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--baseline-batch", type=int, default=None,
                    help="trials for the baseline (its time is scaled to 50; the speedup is measured on this batch)")
    ap.add_argument("--inner", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.inner:
        print(json.dumps(run_case(args.inner, args.baseline_batch)))
        return
    records = []
    for case in args.case or list(CASES):
        names = ["memory:1000", "memory:4000"] if case == "memory" else [case]
        for nm in names:
            cmd = [sys.executable, "-m", "odesnn.bench", "--inner", nm]
            if args.baseline_batch is not None:
                cmd += ["--baseline-batch", str(args.baseline_batch)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                print(out.stderr[-2000:], file=sys.stderr)
                continue
            rec = json.loads(out.stdout.strip().splitlines()[-1])
            records.append(rec)
            if not args.json:
                print(json.dumps(rec), flush=True)
    if args.json:
        print(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
