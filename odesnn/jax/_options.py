"""Static options of the JAX backend: solver, tolerances and buffer sizes.

An :class:`Options` is hashable, so that it can be a static argument of
``jax.jit``; every field is checked eagerly with a ``ValueError`` that names it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import diffrax

from .._checks import check_horizon, check_integer, check_number

__all__ = ["Options", "SOLVERS"]

SOLVERS = {"tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5, "dopri8": diffrax.Dopri8}


@dataclass(frozen=True)
class Options:
    """Options of the JAX backend.

    Parameters
    ----------
    solver : {"tsit5", "dopri5", "dopri8"}
        diffrax explicit Runge-Kutta method (case-insensitive).
    rtol, atol : float
        Tolerances of the PID step-size controller.
    pcoeff, icoeff : float
        PID coefficients (default: I controller, ``pcoeff=0, icoeff=1``).
    dt0 : float or None
        First step in ms (default: diffrax's heuristic).
    dtmax : float or None
        Largest step in ms.
    max_steps : int
        Cap on accepted steps per trial (status 2 when reached). Only scalars
        are stored per step (times and the event of the step), so this buffer
        is cheap: ``3 * max_steps`` floats per trial.
    max_spikes : int
        Size of the spike buffer per trial (status 1 when exceeded).
    max_rate : float or None
        A trial stops (status 4) when one of its neurons fires faster than
        this, in Hz, over its latest 10 spikes. The default, 1e5 (one spike
        per 0.01 ms), is far above any biological or trained rate; it stops a
        runaway or Zeno network long before the spike buffer or the step
        budget would. ``None``: no such check.
    checkpoint_every : int
        The gradient stores the full state every ``checkpoint_every`` accepted
        steps and recomputes the steps in between (``K`` in docs).
    n_samples : int
        Interior points of each step at which the interpolant is checked for a
        crossing that returns within the step.
    root_iters : int
        Safeguarded Newton iterations that locate a spike time on the step's
        interpolant (a polynomial in time).
    root_finding : {"all", "compact"}
        Which components the root finder runs on. ``"all"`` (default): every
        neuron and threshold of every trial, masked (one fused elementwise
        kernel: a Newton iteration on the step's voltage polynomial is a few
        operations). ``"compact"``: only the crossings of accepted steps,
        gathered from the batch into a short vector, so the cost follows the
        spikes; the gather and scatter cost more than they save at the sizes
        measured (docs/benchmarks.md). The located times are the same.
    adjoint_substeps : int
        Runge-Kutta steps of the adjoint per forward step.
    adjoint_horizon : float or None
        None (default): the exact gradient. A time ``h`` in ms: the adjoint is
        discounted, ``dp/dt = -∂H/∂x + p/h``, so that a cost at time ``t'``
        credits the dynamics at ``t < t'`` with weight ``e^{-(t'-t)/h}``. This is
        the continuous analogue of truncated backpropagation through time: a
        biased gradient whose variance stays bounded in a chaotic network,
        where the exact per-trial gradient grows with the Lyapunov exponent
        over the trial. Not the gradient of any cost; use it knowingly.
    dtype : {"float64", "float32"} or None
        Floating type. None (default): float64 if ``jax_enable_x64`` is on;
        otherwise float32, with a ``UserWarning`` (the default tolerances are
        set for float64; pass ``dtype="float32"`` to choose it knowingly).
    """

    solver: str = "tsit5"
    rtol: float = 1e-6
    atol: float = 1e-8
    pcoeff: float = 0.0
    icoeff: float = 1.0
    dt0: float | None = None
    dtmax: float | None = None
    max_steps: int = 65536
    max_spikes: int = 8192
    max_rate: float | None = 1e5
    checkpoint_every: int = 64
    n_samples: int = 3
    root_iters: int = 4
    root_finding: str = "all"
    adjoint_substeps: int = 1
    adjoint_horizon: float | None = None
    dtype: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "solver", str(self.solver).lower())
        if self.solver not in SOLVERS:
            raise ValueError(f"`solver`={self.solver!r} unknown; known: {sorted(SOLVERS)}")
        for name in ("rtol", "atol"):
            check_number(name, getattr(self, name))
        for name in ("max_steps", "max_spikes", "checkpoint_every", "root_iters", "adjoint_substeps"):
            object.__setattr__(self, name, check_integer(name, getattr(self, name), 1))  # numpy ints as int
        object.__setattr__(self, "n_samples", check_integer("n_samples", self.n_samples, 0))
        for name in ("dt0", "dtmax"):
            check_number(name, getattr(self, name), optional=True, note=" of ms")
        object.__setattr__(self, "adjoint_horizon", check_horizon("adjoint_horizon", self.adjoint_horizon))
        check_number("max_rate", self.max_rate, optional=True, note=" of spikes per second")
        if self.root_finding not in ("compact", "all"):
            raise ValueError(f"`root_finding`={self.root_finding!r} unknown; known: 'all', 'compact'")
        if self.dtype not in (None, "float64", "float32"):
            raise ValueError(f"`dtype`={self.dtype!r} unknown; known: None, 'float64', 'float32'")

    def make_solver(self):
        return SOLVERS[self.solver]()

    def make_controller(self):
        return diffrax.PIDController(rtol=self.rtol, atol=self.atol, pcoeff=self.pcoeff, icoeff=self.icoeff,
                                     dtmax=self.dtmax)

    @property
    def n_checkpoints(self) -> int:
        return self.max_steps // self.checkpoint_every + 1

    def real_dtype(self):
        import jax
        import jax.numpy as jnp

        if self.dtype == "float32":
            return jnp.float32
        if self.dtype == "float64":
            if not jax.config.jax_enable_x64:
                raise ValueError("`dtype`='float64' needs jax.config.update('jax_enable_x64', True)")
            return jnp.float64
        if jax.config.jax_enable_x64:
            return jnp.float64
        warnings.warn(f"odesnn.jax computes in float32 because jax_enable_x64 is off (rtol={self.rtol!r}, "
                      f"atol={self.atol!r}; float32 resolves 1.2e-7). For float64, call "
                      "jax.config.update('jax_enable_x64', True) first; to choose float32, pass dtype='float32'",
                      UserWarning, stacklevel=2)
        return jnp.float32


def make_options(options=None, **kwargs) -> Options:
    """An :class:`Options` from an instance or keyword arguments (unknown keys raise ``TypeError``)."""
    if options is not None:
        if kwargs:
            raise TypeError(f"pass either `options` or keyword options, not both (got {sorted(kwargs)})")
        if not isinstance(options, Options):
            raise TypeError(f"`options` must be odesnn.jax.Options, got {type(options).__name__}")
        return options
    known = Options.__dataclass_fields__
    for key in kwargs:
        if key not in known:
            raise TypeError(f"unknown option {key!r} for the jax backend; known: {sorted(known)}")
    return Options(**kwargs)
