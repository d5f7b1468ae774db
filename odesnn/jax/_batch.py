"""A batch of trials: per-trial inputs, targets and initial states on one shared time grid.

Each trial's input ``i(t)`` and target ``o_d(t)`` are either samples on the
shared grid ``t_grid`` (T,) with one interpolation kind per signal
(``"linear"``, ``"previous"`` or ``"exponential"``, as in
:mod:`odesnn.models.signals`), or the arguments of a function
``fn(t, args)`` written with ``jax.numpy`` (kind ``"callable"``, see
:class:`~odesnn.jax.Model`). Sample times are kinks (linear) or jumps
(previous, exponential) of the vector field, so the solver never steps
across one; a callable signal adds no stops.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import as_float_array, check_integer
from .._problem import Problem, check_t_span, has_grid
from ..models.network import Network, State
from ._model import CALLABLE

__all__ = ["Batch", "batch_from_problems"]


class Batch(NamedTuple):
    """Arrays of a batch of ``B`` trials (a pytree; every field but ``t_grid`` and ``t_span`` leads with ``B``).

    Attributes
    ----------
    t_grid : (T,) shared sample times in ms.
    inputs : (B, T, M) input samples.
    targets : (B, T, K) target samples.
    x0 : State of (B, N), (B, N), (B, N_f) initial states.
    t_span : (2,) start and end time in ms.
    """

    t_grid: object
    inputs: object
    targets: object
    x0: State
    t_span: object

    @property
    def size(self) -> int:
        return int(np.shape(self.inputs)[0])


def _grid_values(sig, grid, name):
    if sig.fn is not None:  # a callable signal: no samples (Model.input_fn reads the time alone)
        return np.zeros((1, 0))
    if not has_grid(sig):
        return np.repeat(sig.values, grid.size, axis=0)
    return sig.sample(grid)


def _check_traceable(fn, name, n_channels):
    """A callable signal must be written with ``jax.numpy``: evaluated on a traced time, it returns (n_channels,)."""
    import jax
    import jax.numpy as jnp

    try:
        out = jax.eval_shape(fn, jax.ShapeDtypeStruct((), jnp.result_type(float)))
    except Exception as exc:  # noqa: BLE001 - name the argument and what failed
        raise TypeError(f"the jax backend traces callable `{name}` with jax.numpy, and it fails on a traced time "
                        f"({type(exc).__name__}: {exc}); write it with jax.numpy, or sample it "
                        f"(Signal.sampled)") from None
    if getattr(out, "shape", None) != (n_channels,):
        raise ValueError(f"callable `{name}` returns shape {getattr(out, 'shape', None)} on a traced time, "
                         f"expected ({n_channels},)")


def batch_from_problems(problems) -> tuple[Batch, tuple[str, str]]:
    """Stack validated :class:`~odesnn._problem.Problem` objects into a :class:`Batch`.

    All problems must share the network, parameters and time span. Their
    signals are resampled (exactly) on the union of their grids. Returns the
    batch and the interpolation kinds ``(input_kind, target_kind)``.
    """
    if isinstance(problems, Problem):
        problems = [problems]
    problems = list(problems)
    if not problems:
        raise ValueError("`problems` must hold at least one Problem")
    first = problems[0]
    for j, pb in enumerate(problems[1:], 1):
        if pb.net != first.net:
            raise ValueError(f"problem {j} has a different network from problem 0; a batch shares one network")
        if (pb.t0, pb.t1) != (first.t0, first.t1):
            raise ValueError(f"problem {j} has t_span ({pb.t0}, {pb.t1}), problem 0 has ({first.t0}, {first.t1})")
        if any(not np.array_equal(a, b) for a, b in zip(pb.params, first.params)):
            raise ValueError(f"problem {j} has different params from problem 0; a batch shares its parameters")
    kinds = []
    for name in ("inputs", "target"):
        sigs = [getattr(pb, name) for pb in problems]
        fns = {sig.fn for sig in sigs}
        if None not in fns:
            if len(fns) > 1:
                raise ValueError(f"callable `{name}` of a batch must be one function, got {len(fns)}")
            _check_traceable(fns.pop(), name, sigs[0].n_channels)
            kinds.append(CALLABLE)
            continue
        if len(fns) > 1:
            raise ValueError(f"`{name}` of a batch must be all callables or all samples, not a mixture")
        ks = {sig.kind for sig in sigs if sig.t is not None and has_grid(sig)}
        if len(ks) > 1:
            raise ValueError(f"`{name}` signals of a batch must share one interpolation kind, got {sorted(ks)}")
        kinds.append(ks.pop() if ks else "linear")
    taus = {pb.inputs.tau for pb in problems}
    if len(taus) > 1:
        raise ValueError(f"the spike-train inputs of a batch must share one `tau_in`, got {sorted(taus, key=str)}")
    grids = [sig.t for pb in problems for sig in (pb.inputs, pb.target) if sig.t is not None and has_grid(sig)]
    grid = np.unique(np.concatenate(grids)) if grids else np.array([first.t0])
    inputs = np.stack([_grid_values(pb.inputs, grid, "inputs") for pb in problems])
    targets = np.stack([_grid_values(pb.target, grid, "target") for pb in problems])
    x0 = State(*(np.stack([getattr(pb.x0, f) for pb in problems]) for f in problems[0].x0._fields))
    return Batch(grid, inputs, targets, x0, np.array([first.t0, first.t1])), tuple(kinds)


def make_batch(net, t_grid, inputs=None, targets=None, t_span=None, v0=None, s0=None, sf0=None, batch_size=None,
               w0=None, input_args=None, target_args=None):
    """Build and check a :class:`Batch` from arrays (eager errors name the argument).

    ``inputs`` (B, T, M) and ``targets`` (B, T, K) may be omitted (zeros);
    ``v0``, ``s0``, ``sf0`` are (B, N) arrays or omitted (the neuron model's
    ``v_rest``, zeros); ``w0`` (B, m, N), for models with auxiliary
    variables, defaults to the model's ``aux_rest(v0)``. For a callable
    signal (``Model(input_fn=...)``), ``input_args`` (B, ...) replaces
    ``inputs``: each trial's arguments of the function, of any shape
    (``target_args`` likewise).
    """
    if not isinstance(net, Network):
        raise TypeError(f"`net` must be an odesnn.Network, got {type(net).__name__}")
    t_grid = np.atleast_1d(as_float_array("t_grid", t_grid, finite=False))
    if t_grid.ndim != 1 or (t_grid.size > 1 and np.any(np.diff(t_grid) <= 0)) or not np.all(np.isfinite(t_grid)):
        raise ValueError(f"`t_grid` must be 1-D, finite and strictly increasing, got shape {t_grid.shape}")
    T = t_grid.size
    for name, samples, args in (("inputs", inputs, input_args), ("targets", targets, target_args)):
        if samples is not None and args is not None:
            raise ValueError(f"give `{name}` (samples) or `{name[:-1]}_args` (a callable signal's arguments), "
                             f"not both")
    sizes = [np.shape(a)[0] for a in (inputs, targets, v0, s0, sf0, w0, input_args, target_args)
             if a is not None and np.ndim(a) > 0]
    B = check_integer("batch_size", batch_size, 1) if batch_size is not None else (sizes[0] if sizes else 1)
    arrays = {}
    for name, val in (("input_args", input_args), ("target_args", target_args)):
        if val is not None:
            arrays[name] = as_float_array(name, val)
            if arrays[name].ndim == 0 or arrays[name].shape[0] != B:
                raise ValueError(f"`{name}` must lead with the batch size {B}, got shape {arrays[name].shape}")
    for name, val, shape in (("inputs", inputs, (B, T, net.n_inputs)), ("targets", targets, (B, T, net.n_outputs)),
                             ("v0", v0, (B, net.n_neurons)), ("s0", s0, (B, net.n_neurons)),
                             ("sf0", sf0, (B, net.n_fast))):
        if name in ("inputs", "targets") and f"{name[:-1]}_args" in arrays:
            arrays[name] = arrays[f"{name[:-1]}_args"]
        elif val is None:
            arrays[name] = np.full(shape, float(net.neuron.v_rest)) if name == "v0" else np.zeros(shape)
        else:
            arrays[name] = as_float_array(name, val, shape)
    m = net.neuron.n_aux
    if m == 0 and w0 is not None:
        raise ValueError(f"`w0` is only for neuron models with auxiliary variables; "
                         f"{type(net.neuron).__name__} has none")
    if m:
        w0 = (np.stack([net.neuron.aux_rest(v) for v in arrays["v0"]]) if w0 is None
              else as_float_array("w0", w0, (B, m, net.n_neurons)))
    x0s = [net.initial_state(arrays["v0"][b], arrays["s0"][b], arrays["sf0"][b], None if not m else w0[b])
           for b in range(B)]
    t0, t1 = check_t_span(t_span)
    x0 = State(*(np.stack(parts) for parts in zip(*x0s)))
    return Batch(t_grid, arrays["inputs"], arrays["targets"], x0, np.array([t0, t1]))


class Trial(NamedTuple):
    """One trial's signals (what the vector field reads): shared grid and its own samples."""

    t_grid: object
    inputs: object
    targets: object
