"""Gradient verification: adjoint vs forward sensitivity vs finite differences."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ._fd import (
    best_fd_agreement,
    fd_directions,
    finite_differences,
    project,
    rel_error,
)
from ._io import save, save_npz
from ._problem import make_problem
from .models.adaptive import ALIF, AdEx, Izhikevich
from .models.gates import Gate
from .models.network import Network, Params
from .models.neurons import LIF, NIF, QIF
from .models.signals import Signal

MODELS = {"nif": NIF, "qif": QIF, "lif": LIF, "alif": ALIF, "izhikevich": Izhikevich, "adex": AdEx}
# per model: tonic drive (base, spread of the input weights) that makes it fire every ~10-25 ms, the unit of its
# current (recurrent weights scale with it), the range of initial voltages and the gate width (voltage units)
_DRIVE = {"nif": (0.05, 0.03), "qif": (0.02, 0.01), "lif": (1.3, 0.2), "alif": (1.6, 0.2),
          "izhikevich": (10.0, 2.0), "adex": (800.0, 100.0)}
_UNIT = {"izhikevich": 10.0, "adex": 300.0}
_V0 = {"izhikevich": (-70.0, -60.0), "adex": (-70.6, -60.0)}
_WIDTH = {"izhikevich": 5.0, "adex": 2.0}


def default_width(model) -> float:
    """The gate width :func:`random_problem` uses for ``model`` (0.1 for the dimensionless models; in mV for
    Izhikevich and AdEx, whose spike upstroke is tens of mV)."""
    return _WIDTH.get(model, 0.1)


def random_problem(model="nif", gate="smooth", neurons=8, duration=100.0, seed=0, width=None, min_spikes=20,
                   dt_input=1.0, inputs="continuous"):
    """A random network with fast and regular synapses, 2 inputs and 2 outputs, firing ``min_spikes``.

    ``gate`` is a gate profile of width ``width`` (default
    :func:`default_width`), or ``"none"`` (or None) for the zero-width
    threshold synapse (Δ = 0; ``width`` is then unused). ``model`` is a name
    of :data:`MODELS` or a :class:`~odesnn.NeuronModel` instance (which takes
    the dimensionless models' drive, scaled until it fires). ``inputs`` is
    ``"continuous"`` (two sums of sinusoids, sampled every ``dt_input`` ms) or
    ``"spikes"``: two Poisson spike trains of 200 Hz through input synapses
    of ``τ_in`` = 5 ms (:meth:`odesnn.Signal.spike_trains`).
    """
    if inputs not in ("continuous", "spikes"):
        raise ValueError(f"`inputs`={inputs!r} unknown; known: ('continuous', 'spikes')")
    if isinstance(model, str):
        if model not in MODELS:
            raise ValueError(f"`model`={model!r} unknown; known: {sorted(MODELS)}")
        neuron, key = MODELS[model](), model
    else:
        neuron, key = model, "custom"
    width = default_width(key) if width is None else width
    rng = np.random.default_rng(seed)
    net = Network(neurons, 2, 2, neuron=neuron, gate=None if gate in (None, "none") else Gate(gate, width),
                  tau=10.0, tau_f=2.0)
    base, spread = _DRIVE.get(key, (1.3, 0.2))
    unit = _UNIT.get(key, 1.0)
    W = rng.standard_normal((neurons, neurons)) * 0.3 / np.sqrt(neurons) * net.W_mask_array * unit
    Wf = rng.standard_normal((neurons, neurons)) * 0.1 / np.sqrt(neurons) * net.Wf_mask_array * unit
    U = rng.standard_normal((neurons, 2)) * spread
    O = rng.standard_normal((2, neurons)) / np.sqrt(neurons)
    I0 = base * (1 + 0.5 * rng.random(neurons))
    t = np.arange(0.0, duration + dt_input / 2, dt_input)
    phases = rng.uniform(0, 2 * np.pi, (2, 3))
    periods = np.array([duration, duration / 2, duration / 3])
    i = np.stack([np.sum(np.sin(2 * np.pi * t[:, None] / periods + phases[c]), axis=1) / 3 for c in range(2)], 1)
    o_d = 0.1 * np.stack([np.cos(2 * np.pi * t / duration), np.sin(2 * np.pi * t / duration)], 1)
    v0 = rng.uniform(*_V0.get(key, (0.0, 0.5)), neurons)
    input_signal = Signal.sampled(t, i)
    if inputs == "spikes":  # drawn last, so that the continuous case keeps its numbers
        counts = rng.poisson(0.2 * duration, 2)
        input_signal = Signal.spike_trains([np.sort(rng.uniform(0.0, duration, n)) for n in counts], tau_in=5.0)
        U = U * 2.0  # s_in averages 0.2 per ms (the rate) with jumps of 0.2: about the sinusoids' size
    params = Params(W, Wf, U, O, I0)
    from ._scipy.forward import simulate

    for _ in range(12):
        problem = make_problem(net, params, input_signal, Signal.sampled(t, o_d), (0.0, duration), v0=v0)
        n = simulate(problem, rtol=1e-8, atol=1e-10).n_spikes
        if n >= min_spikes:
            return problem
        scale = 1.08 if key in ("lif", "alif", "custom", "adex") else 1.3
        params = params._replace(I0=params.I0 * scale)
    raise RuntimeError(f"could not make the random {model} network fire {min_spikes} spikes (got {n})")


#: The bound each relative error of :func:`gradcheck` is held against (its ``verdict``): the adjoint and forward
#: sensitivity solve one ODE system two ways to a tolerance of 1e-12, finite differences carry truncation and
#: cancellation errors of order ``sqrt(eps)``, and the JAX backend solves at its own tolerance.
#: ``spike_times_vs_fd`` holds the spike-time sensitivities ``dt_k/dθ`` of forward sensitivity against finite
#: differences of the spike times.
BOUNDS = {"adjoint_vs_forward": 1e-8, "adjoint_vs_fd": 1e-6, "forward_vs_fd": 1e-6, "spike_times_vs_fd": 1e-6,
          "jax_vs_scipy": 1e-5}


def _no_progress(stage, units=1):
    pass


_no_progress.set_total = lambda total: None


def gradcheck(model="nif", backend="scipy", gate="smooth", neurons=8, duration=100.0, seed=0, save_dir=None,
              rtol=1e-12, atol=1e-12, n_directions=2, steps=None, progress=None, width=None, inputs="continuous"):
    """Compute the gradient three ways on a random network and report their agreement.

    ``gate`` is a gate profile (width 0.1) or ``"none"``, the zero-width
    threshold synapse (Δ = 0). Returns a dict with ``n_spikes``, ``loss``,
    ``adjoint_vs_fd``, ``forward_vs_fd``, ``adjoint_vs_forward`` (each the
    maximum over parameter groups of ``‖a-b‖/‖b‖``; FD comparisons use
    projections onto random directions at the best of a sweep of step sizes),
    ``spike_times_vs_fd`` (the spike-time sensitivities ``dt_k/dθ`` of forward
    sensitivity against differences of the spike times in the same runs, over
    the groups that enter the dynamics: ``O`` moves no spike), per-group
    errors and timings; ``verdict`` holds each of those errors beside its bound
    (:data:`BOUNDS`) and whether it passed, and ``passed`` whether all did.
    ``progress(stage, units)``, if given, is called as the work proceeds (its
    ``set_total`` first, with the number of units). ``steps`` are the
    finite-difference steps swept (default 1e-3 ... 1e-7 times the model's
    current unit: 1 for the dimensionless models, 10 for Izhikevich, 300 pA
    for AdEx, whose parameters are that large); ``width`` the gate width
    (default :func:`default_width`); ``inputs`` ``"continuous"`` or
    ``"spikes"`` (input spike trains, see :func:`random_problem`).
    """
    if backend not in ("scipy", "jax"):
        raise ValueError(f"`backend`={backend!r} unknown; known: ('scipy', 'jax')")
    from ._scipy.adjoint import adjoint
    from ._scipy.forward import simulate
    from ._scipy.sensitivity import sensitivity_run
    from ._spike_times import project_spike_times

    progress = progress or _no_progress
    problem = random_problem(model, gate, neurons, duration, seed, width=width, inputs=inputs)
    if steps is None:
        unit = _UNIT.get(model, 1.0) if isinstance(model, str) else 1.0
        steps = tuple(h * unit for h in (1e-3, 1e-4, 1e-5, 1e-6, 1e-7))
    dirs = fd_directions(problem.net, problem.params, n_directions, seed=seed)
    n_fd = 2 * len(steps) * sum(len(d) for d in dirs.values())
    progress.set_total(2 + n_fd + (backend == "jax"))
    opts = dict(rtol=rtol, atol=atol)
    t0 = time.perf_counter()
    sol = simulate(problem, **opts)
    adj = adjoint(sol).grads
    t_adj = time.perf_counter() - t0
    progress("adjoint")
    t0 = time.perf_counter()
    fwd_grad, spikes = sensitivity_run(problem, **opts)
    fwd = fwd_grad.grads
    t_fwd = time.perf_counter() - t0
    progress("forward sensitivity")

    def perturbed(p):
        # the cost and the spike times of one run (NaN times where the spikes changed)
        run = simulate(problem.with_params(p), **opts)
        progress("finite differences")
        same = run.n_spikes == sol.n_spikes and np.array_equal(run.spike_neurons, sol.spike_neurons)
        return np.concatenate([[run.cost], run.spike_times if same else np.full(sol.n_spikes, np.nan)])

    t0 = time.perf_counter()
    fd_all = finite_differences(perturbed, problem.params, dirs, steps)
    t_fd = time.perf_counter() - t0
    fd = {h: {name: vals[:, 0] for name, vals in per.items()} for h, per in fd_all.items()}
    fd_times = {h: {name: vals[:, 1:] for name, vals in per.items() if name != "O"} for h, per in fd_all.items()}
    h_adj, e_adj, errs_adj = best_fd_agreement(adj, dirs, fd)
    h_fwd, e_fwd, _ = best_fd_agreement(fwd, dirs, fd)
    proj_times = project_spike_times(spikes["grads"], dirs)
    # a step that changed the spikes gives NaN differences: it can never be the best step
    errs_times = {h: {name: float(np.nan_to_num(rel_error(proj_times[name], per[name]), nan=np.inf)) for name in per}
                  for h, per in fd_times.items()}
    h_times = min(errs_times, key=lambda h: max(errs_times[h].values(), default=0.0))
    groups = [name for name in Params._fields if np.size(getattr(adj, name))]
    report = {
        "model": model if isinstance(model, str) else model.name, "backend": backend, "gate": gate, "inputs": inputs,
        "neurons": neurons, "duration": duration, "seed": seed,
        "n_spikes": sol.n_spikes, "loss": sol.cost,
        "adjoint_vs_fd": e_adj, "forward_vs_fd": e_fwd,
        "adjoint_vs_forward": max(rel_error(getattr(adj, g), getattr(fwd, g)) for g in groups),
        "fd_best_step": {"adjoint": h_adj, "forward": h_fwd},
        "fd_error_by_step": {f"{h:g}": e for h, e in errs_adj.items()},
        "adjoint_vs_forward_by_group": {g: rel_error(getattr(adj, g), getattr(fwd, g)) for g in groups},
        "adjoint_vs_fd_by_group": {g: rel_error(project(adj, dirs)[g], fd[h_adj][g]) for g in dirs},
        "spike_times_vs_fd": max(errs_times[h_times].values(), default=0.0),
        "spike_times_fd_best_step": h_times,
        "spike_times_vs_fd_by_group": errs_times[h_times],
        "rtol": rtol, "atol": atol, "stats": sol.stats,
        "seconds": {"adjoint": t_adj, "forward_sensitivity": t_fwd, "finite_differences": t_fd},
    }
    if backend == "jax":
        report.update(_jax_comparison(problem, adj, sol, rtol, atol))
        progress("jax")
    report["verdict"] = {key: {"error": float(report[key]), "bound": bound, "pass": bool(report[key] <= bound)}
                         for key, bound in BOUNDS.items() if key in report}
    report["passed"] = all(check["pass"] for check in report["verdict"].values())
    if save_dir is not None:
        write_gradcheck(save_dir, problem, adj, report)
    return report


def _jax_comparison(problem, adj, sol, rtol, atol, solver="dopri8"):
    """The same network and inputs through the JAX backend: spike times, cost and adjoint gradient."""
    import jax

    jax.config.update("jax_enable_x64", True)
    from .jax import simulate as jax_simulate
    from .jax import value_and_grad

    t0 = time.perf_counter()
    jsol = jax_simulate(problem, solver=solver, rtol=rtol, atol=atol)
    value, grads = value_and_grad(problem.params, problem, solver=solver, rtol=rtol, atol=atol)
    seconds = time.perf_counter() - t0
    grads = Params(*(np.asarray(g) for g in grads))
    groups = [name for name in Params._fields if np.size(getattr(adj, name))]
    same_count = jsol.n_spikes == sol.n_spikes
    return {
        "jax_vs_scipy": max(rel_error(getattr(grads, g), getattr(adj, g)) for g in groups),
        "jax_vs_scipy_by_group": {g: rel_error(getattr(grads, g), getattr(adj, g)) for g in groups},
        "jax_spike_time_max_diff_ms": float(np.max(np.abs(jsol.spike_times - sol.spike_times))) if same_count
        else float("inf"),
        "jax_n_spikes": jsol.n_spikes,
        "jax_loss": float(value),
        "jax_solver": solver,
        "seconds_jax": seconds,
    }


def write_gradcheck(directory, problem, grads, report):
    """Write network, inputs, targets, initial state and gradients exactly as used."""
    directory = Path(directory)
    extra = {"inputs_interpolation": problem.inputs.kind, "target_interpolation": problem.target.kind}
    save(directory, problem.net, problem.params, extra_config=extra)
    t = problem.inputs.t
    save_npz(directory / "inputs.npz", t=t, i=problem.inputs.values, o_d=problem.target.sample(t),
             v0=problem.x0.v, s0=problem.x0.s, sf0=problem.x0.sf, t0=problem.t0, t1=problem.t1,
             **({} if problem.x0.w is None else {"w0": problem.x0.w}),
             **({} if problem.inputs.kind != "exponential" else {"t_target": problem.target.t,
                                                                  "o_d_target": problem.target.values,
                                                                  "tau_in": problem.inputs.tau}))
    save_npz(directory / "grads.npz", **grads._asdict())
    (directory / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
