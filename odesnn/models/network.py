"""Network structure (static) and parameters (a pytree).

``I = W s + W_f s_f + U i(t) + I_o`` and ``o = O s``. The structure is a
frozen :class:`Network`; the trainable parameters are a :class:`Params`
named tuple, hence a JAX pytree that ``jax.grad`` and optax handle directly.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .._checks import as_float_array, check_bool, check_memory, check_number, check_real, check_seed, show
from .cost import Cost, QuadraticCost
from .gates import Gate, validate_gate_against_neuron
from .neurons import NIF, NeuronModel, check_neuron

__all__ = ["Network", "Params", "State"]

MASKS = ("full", "zero_diag", "lower", "strict_lower", "none")


class Params(NamedTuple):
    """Network parameters.

    Attributes
    ----------
    W : (N, N) regular recurrent weights.
    Wf : (N, N) fast recurrent weights, or (N, 0) without fast synapses.
    U : (N, M) input weights.
    O : (K, N) readout weights.
    I0 : (N,) tonic current.
    """

    W: object
    Wf: object
    U: object
    O: object
    I0: object


class State(tuple):
    """Network state: voltages ``v`` (N,), synaptic currents ``s`` (N,), fast ``sf`` (N,) or (0,), and the
    neurons' auxiliary variables ``w`` (m, N) for models that have them (``NeuronModel.aux``).

    A named tuple of three fields ``(v, s, sf)`` for one-variable neuron
    models (``w`` reads None) and of four, ``(v, s, sf, w)``, for models with
    auxiliary variables; a JAX pytree either way. Fields may carry leading or
    trailing axes (trials, times, tangent directions).
    """

    __slots__ = ()

    def __new__(cls, v, s, sf, w=None):
        return tuple.__new__(cls, (v, s, sf) if w is None else (v, s, sf, w))

    def __getnewargs__(self):
        return tuple(self)

    v = property(lambda self: self[0], doc="membrane voltages")
    s = property(lambda self: self[1], doc="regular synaptic currents")
    sf = property(lambda self: self[2], doc="fast synaptic currents")
    w = property(lambda self: self[3] if len(self) == 4 else None, doc="auxiliary variables (m, N), or None")

    @property
    def _fields(self):
        return ("v", "s", "sf", "w")[:len(self)]

    def _replace(self, **kwargs):
        return State(**{**dict(zip(("v", "s", "sf", "w"), self)), **kwargs})

    def __repr__(self):
        return "State(" + ", ".join(f"{n}={a!r}" for n, a in zip(self._fields, self)) + ")"


_REGISTERED = []


def register_state_pytree():
    """Make :class:`State` a JAX pytree (its fields are the children). Called where JAX is imported: at import
    of this module if JAX already is, by :mod:`odesnn.jax` and by the neuron models' autodiff; idempotent."""
    if _REGISTERED:
        return
    import jax

    jax.tree_util.register_pytree_node(State, lambda x: (tuple(x), None), lambda _, children: State(*children))
    _REGISTERED.append(True)


if "jax" in sys.modules:
    register_state_pytree()


@functools.lru_cache(maxsize=64)
def mask_array(kind, n, m=None):
    """Mask of the structural constraint ``kind`` (cached; do not modify)."""
    m = n if m is None else m
    if kind == "full":
        return np.ones((n, m))
    if kind == "zero_diag":
        return 1.0 - np.eye(n, m)
    if kind == "lower":
        return np.tril(np.ones((n, m)))
    if kind == "strict_lower":
        return np.tril(np.ones((n, m)), -1)
    if kind == "none":
        return np.zeros((n, m))
    raise ValueError(f"unknown mask {kind!r}; known: {MASKS}")


def _positive(name, x):
    check_number(name, x)


@dataclass(frozen=True)
class Network:
    """Structure of a spiking network.

    Parameters
    ----------
    n_neurons, n_inputs, n_outputs : int
        Sizes ``N``, ``M`` (input channels) and ``K`` (readouts).
    neuron : NeuronModel
        Membrane dynamics; default :class:`~odesnn.NIF`.
    gate : Gate or None
        Gate of the differentiable synapse; ``None`` selects the zero-width
        threshold synapse of eq. (1) (each spike adds ``±1/τ`` to ``s``).
    tau : float
        Regular synaptic time constant in ms.
    tau_f : float or None
        Fast synaptic time constant in ms, or ``None`` for no fast synapses.
    cost : Cost
        Running cost; default ``QuadraticCost(lam=0)``.
    W_mask : str
        Structural constraint on ``W`` (default ``"full"``): ``"full"``,
        ``"zero_diag"``, ``"lower"`` (feed-forward, with self-connections),
        ``"strict_lower"`` or ``"none"``. Masked entries are multiplied by
        zero in the dynamics, so their gradients vanish; parameters with a
        non-zero masked entry are refused (:meth:`check_params`), since the
        network would ignore it.
    Wf_mask : str
        Structural constraint on ``W_f`` (default ``"zero_diag"``: no fast
        self-connection), with the same choices.
    """

    n_neurons: int
    n_inputs: int = 1
    n_outputs: int = 1
    neuron: NeuronModel = field(default_factory=NIF)
    gate: Gate | None = field(default_factory=Gate)
    tau: float = 10.0
    tau_f: float | None = None
    cost: Cost = field(default_factory=QuadraticCost)
    W_mask: str = "full"
    Wf_mask: str = "zero_diag"

    def __post_init__(self):
        for name in ("n_neurons", "n_inputs", "n_outputs"):
            val = getattr(self, name)
            least = 1 if name == "n_neurons" else 0
            if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val < least:
                raise ValueError(f"`{name}` must be a {'positive' if name == 'n_neurons' else 'non-negative'} integer, "
                                 f"got {show(val)}")
        check_neuron(self.neuron)
        _positive("tau", self.tau)
        if self.tau_f is not None:
            _positive("tau_f", self.tau_f)
        if self.gate is not None:
            if not isinstance(self.gate, Gate):
                raise TypeError(f"`gate` must be a Gate or None, got {type(self.gate).__name__}")
            validate_gate_against_neuron(self.gate, self.neuron)
        if not isinstance(self.cost, Cost):
            raise TypeError(f"`cost` must be a Cost, got {type(self.cost).__name__}")
        for name in ("W_mask", "Wf_mask"):
            if not isinstance(getattr(self, name), str) or getattr(self, name) not in MASKS:
                raise ValueError(f"`{name}`={show(getattr(self, name))} unknown; known: {MASKS}")

    # -- sizes and masks ---------------------------------------------------
    @property
    def n_fast(self) -> int:
        """Number of fast synapses (N, or 0 without them)."""
        return 0 if self.tau_f is None else self.n_neurons

    @property
    def W_mask_array(self):
        return mask_array(self.W_mask, self.n_neurons)

    @property
    def Wf_mask_array(self):
        return mask_array(self.Wf_mask, self.n_neurons, self.n_fast)

    def param_shapes(self) -> Params:
        N, M, K = self.n_neurons, self.n_inputs, self.n_outputs
        return Params((N, N), (N, self.n_fast), (N, M), (K, N), (N,))

    # -- construction and checks -------------------------------------------
    def init_params(self, seed=0, *, w_scale=0.5, wf_scale=0.5, u_scale=1.0, o_scale=0.5, i0_scale=0.0,
                    u_sphere=False, i0_mean=0.0, w_self=0.0, w_self_fraction=1.0) -> Params:
        """Random Gaussian parameters scaled by ``1/sqrt(fan_in)``; masks applied.

        With ``u_sphere=True`` each row of ``U`` is a uniformly random direction of
        norm ``u_scale`` instead (every neuron receives the same input power).
        ``I0`` is drawn from a normal distribution of mean ``i0_mean`` and standard
        deviation ``i0_scale``.

        ``w_self`` is added to the diagonal of ``W`` (each neuron's synapse onto
        itself), after the mask. Strong enough, it makes every neuron bistable: an
        excitable neuron (``I0 < 0``) stays silent until an input kicks it, then
        keeps itself firing. For the theta (QIF) neuron, where the steady rate is
        ``2 sqrt(I/tau_v)`` per ms and ``s`` equals the rate, that takes
        ``w_self > sqrt(-I0 * tau_v)``. With ``w_self_fraction`` below 1 only the
        first ``round(w_self_fraction * N)`` neurons get it; the weights are drawn
        independently, so which ones does not matter.
        """
        rng = np.random.default_rng(check_seed("seed", seed))
        N, M, K = self.n_neurons, self.n_inputs, self.n_outputs
        for name, scale in (("w_scale", w_scale), ("wf_scale", wf_scale), ("u_scale", u_scale),
                            ("o_scale", o_scale), ("i0_scale", i0_scale)):
            check_number(name, scale, positive=False, note=" (a standard deviation)")
        i0_mean = check_real("i0_mean", i0_mean)
        u_sphere = check_bool("u_sphere", u_sphere)
        w_self = check_real("w_self", w_self)
        w_self_fraction = check_real("w_self_fraction", w_self_fraction, 0.0, 1.0)
        self.check_memory()
        if w_self != 0.0 and not self.W_mask_array.diagonal().all():
            raise ValueError(f"`w_self`={w_self!r} needs a W mask with a free diagonal, got W_mask={self.W_mask!r}")
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, naming the scale
            W = w_scale * rng.standard_normal((N, N)) / np.sqrt(N) * self.W_mask_array
            W = W + w_self * np.diag((np.arange(N) < round(w_self_fraction * N)).astype(float))
            Wf = wf_scale * rng.standard_normal((N, self.n_fast)) / np.sqrt(N) * self.Wf_mask_array
            U = u_scale * rng.standard_normal((N, M)) / np.sqrt(max(M, 1))
            if u_sphere and M > 0:
                U = u_scale * U / np.maximum(np.linalg.norm(U, axis=1, keepdims=True), 1e-300)
            O = o_scale * rng.standard_normal((K, N)) / np.sqrt(N)
            I0 = i0_mean + i0_scale * rng.standard_normal(N)
        for name, scale, value in (("w_scale", w_scale, W), ("wf_scale", wf_scale, Wf), ("u_scale", u_scale, U),
                                   ("o_scale", o_scale, O), ("i0_scale", i0_scale, I0)):
            if not np.all(np.isfinite(value)):  # a finite scale near the float limit overflows
                raise ValueError(f"`{name}`={scale!r} is too large: the parameters it scales overflow to inf")
        return Params(W, Wf, U, O, I0)

    def check_memory(self, copies=2):
        """Refuse, naming ``n_neurons``, a network whose dense parameters (``W`` and ``Wf``, ``N × N`` floats
        each) would not fit ``copies`` times into the memory available: drawing them, or a gradient of the
        same shape, would fail with numpy's MemoryError part-way."""
        n_bytes = 8 * copies * sum(int(np.prod(shape)) for shape in self.param_shapes())
        check_memory(n_bytes, f"{copies} copies of the parameters of a network of {self.n_neurons} neurons "
                              "(W and Wf are N x N float64 arrays)", "n_neurons", self.n_neurons)

    def check_params(self, params) -> Params:
        """Return ``params`` as float arrays after checking shapes, finiteness and masks.

        Raises ``ValueError`` naming the group, the mask and the entries if ``W`` or ``Wf`` is non-zero
        where its mask (``W_mask``, ``Wf_mask``) is zero."""
        if not isinstance(params, Params):
            if isinstance(params, dict):
                missing = [k for k in Params._fields if k not in params]
                unknown = sorted(set(params) - set(Params._fields))
                if missing or unknown:
                    raise ValueError(f"`params` as a dict must have the keys {Params._fields}; missing {missing}, "
                                     f"unknown {unknown}")
                params = Params(**params)
            else:
                raise TypeError(f"`params` must be odesnn.Params, got {type(params).__name__}")
        out = []
        for name, shape, value in zip(Params._fields, self.param_shapes(), params):
            if isinstance(value, (str, bytes)) or np.iscomplexobj(value) or np.asarray(value).dtype == object:
                raise TypeError(f"`params.{name}` must be a real array, got {show(value)}")
            arr = as_float_array(f"params.{name}", value, finite=False)
            if arr.shape != tuple(shape):
                raise ValueError(f"`params.{name}` must have shape {tuple(shape)}, got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"`params.{name}` contains non-finite values (NaN or inf)")
            if name in ("W", "Wf"):
                self._check_masked(name, arr)
            out.append(arr)
        return Params(*out)

    def _check_masked(self, name, arr):
        """Refuse non-zero entries of ``W`` or ``Wf`` where the group's mask is zero: the dynamics multiply
        them by zero, so a value set there would be dropped without a word."""
        kind = self.W_mask if name == "W" else self.Wf_mask
        if kind == "full" or arr.size == 0:
            return
        mask = self.W_mask_array if name == "W" else self.Wf_mask_array
        bad = np.argwhere((mask == 0) & (arr != 0))
        if bad.size:
            shown = ", ".join(f"({i}, {j}) = {arr[i, j]:.6g}" for i, j in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            raise ValueError(
                f"`params.{name}` has {len(bad)} non-zero entries where `{name}_mask`={kind!r} is zero: "
                f"{shown}{more}; the network ignores them. Set them to 0 (e.g. `{name} * net.{name}_mask_array`) "
                f"or choose another `{name}_mask`")

    def initial_state(self, v0=None, s0=None, sf0=None, w0=None) -> State:
        """Check and assemble an initial :class:`State`.

        ``v0`` defaults to the neuron model's ``v_rest`` (0 for the
        dimensionless models), ``s0`` and ``sf0`` to zeros and ``w0`` (shape
        ``(m, N)``, models with auxiliary variables only) to the model's
        :meth:`~odesnn.NeuronModel.aux_rest` at ``v0``.
        """
        N, m = self.n_neurons, self.neuron.n_aux
        parts = []
        for name, val, n in (("v0", v0, N), ("s0", s0, N), ("sf0", sf0, self.n_fast)):
            if val is None:
                arr = np.full(n, float(self.neuron.v_rest) if name == "v0" else 0.0)
            else:
                arr = as_float_array(name, val, finite=False)
            if arr.shape != (n,):
                raise ValueError(f"`{name}` must have shape ({n},), got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"`{name}` contains non-finite values: {arr}")
            parts.append(arr)
        v = parts[0]
        for th in self.neuron.thresholds:
            bad = (v - th.value) * th.direction >= 0
            if np.any(bad):
                raise ValueError(
                    f"`v0` has entries at or beyond threshold {th.value}: indices {np.flatnonzero(bad).tolist()}"
                )
        if m == 0:
            if w0 is not None:
                raise ValueError(f"`w0` is only for neuron models with auxiliary variables; "
                                 f"{type(self.neuron).__name__} has none, got {show(w0)}")
            return State(*parts)
        w = np.asarray(self.neuron.aux_rest(v), dtype=float) if w0 is None else as_float_array("w0", w0, finite=False)
        if w.ndim == 1 and m == 1:
            w = w[None, :]
        if w.shape != (m, N):
            raise ValueError(f"`w0` must have shape ({m}, {N}) (the model's {self.neuron.aux} per neuron), "
                             f"got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"`w0` contains non-finite values: {w}")
        return State(*parts, w)

    def config(self) -> dict:
        """JSON-serialisable structure (the ``config.json`` of :func:`odesnn.save`)."""
        return {
            "format": "odesnn-network-1",
            "n_neurons": self.n_neurons,
            "n_inputs": self.n_inputs,
            "n_outputs": self.n_outputs,
            "neuron": self.neuron.config(),
            "thresholds": [
                {"value": th.value, "direction": th.direction, "reset": th.reset, "synaptic": th.synaptic}
                for th in self.neuron.thresholds
            ],
            "gate": None if self.gate is None else self.gate.config(),
            "tau": float(self.tau),
            "tau_f": None if self.tau_f is None else float(self.tau_f),
            "cost": self.cost.config(),
            "lam": float(getattr(self.cost, "lam", 0.0)),
            "W_mask": self.W_mask,
            "Wf_mask": self.Wf_mask,
        }
