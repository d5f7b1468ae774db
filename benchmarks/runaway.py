"""Time and peak memory to stop a runaway or Zeno network: ``python benchmarks/runaway.py --backend scipy --case zeno``.

Each run is one process, so that ``ru_maxrss`` is the peak of that simulation alone (``rss_before_mib``: the peak
after the imports and the network were built, before the simulation). Cases:

``runaway``  four NIF neurons exciting each other through strong fast synapses (W_f = 5 off the diagonal): the
             rate grows exponentially;
``zeno``     one neuron with ``dv/dt = I² + 0.01`` exciting itself (W = 20): the k-th interval shrinks as 1/k², so
             the spikes accumulate at a finite time (about 46.49 ms);
``nearreset`` one neuron reset to 0.999, just below its threshold 1, on a drive of 1000 per ms: a spike every
             1e-6 ms.

``--no-guard`` runs with ``max_rate=None`` (the behaviour before the rate guard), stopped by the event cap
(``--max-events``, SciPy) or the spike buffer (JAX).
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import time
from dataclasses import dataclass

import numpy as np

import odesnn


@dataclass(frozen=True)
class Accelerating(odesnn.NeuronModel):
    """``dv/dt = I² + 0.01``, threshold 1, reset 0."""

    name = "accelerating"

    @property
    def thresholds(self):
        return (odesnn.Threshold(1.0, +1, 0.0),)

    def f(self, v, I):  # noqa: E741
        return I * I + 0.01 + 0.0 * v


@dataclass(frozen=True)
class NearReset(odesnn.NeuronModel):
    """``dv/dt = I``, threshold 1, reset 0.999."""

    name = "nearreset"

    @property
    def thresholds(self):
        return (odesnn.Threshold(1.0, +1, 0.999),)

    def f(self, v, I):  # noqa: E741
        return I + 0.0 * v


def case(name):
    if name == "runaway":
        net = odesnn.Network(4, 1, 1, neuron=odesnn.NIF(negative_synapse=False), gate=odesnn.Gate("box", 0.1),
                             tau=10.0, tau_f=1.0)
        return net, odesnn.Params(np.zeros((4, 4)), 5.0 * (1 - np.eye(4)), np.zeros((4, 1)), np.ones((1, 4)),
                                  np.full(4, 0.05))
    if name == "zeno":
        net = odesnn.Network(1, 1, 1, neuron=Accelerating(), gate=odesnn.Gate("smooth", 0.1), tau=10.0)
        return net, odesnn.Params(np.array([[20.0]]), np.zeros((1, 0)), np.zeros((1, 1)), np.ones((1, 1)),
                                  np.array([0.1]))
    if name == "nearreset":
        net = odesnn.Network(1, 1, 1, neuron=NearReset(), gate=None, tau=10.0)
        return net, odesnn.Params(np.zeros((1, 1)), np.zeros((1, 0)), np.zeros((1, 1)), np.ones((1, 1)),
                                  np.array([1e3]))
    raise ValueError(f"`case`={name!r} unknown; known: runaway, zeno, nearreset")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["scipy", "jax"], default="scipy")
    parser.add_argument("--case", choices=["runaway", "zeno", "nearreset"], default="runaway")
    parser.add_argument("--no-guard", action="store_true", help="max_rate=None: the behaviour before the guard")
    parser.add_argument("--max-events", type=int, default=None, help="SciPy event cap (default: the backend's, 1e6)")
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    args = parser.parse_args(argv)
    net, params = case(args.case)
    options = {"max_rate": None} if args.no_guard else {}
    if args.backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        importlib.import_module("odesnn.jax")  # imported before the baseline memory is read
    elif args.max_events is not None:
        options["max_events"] = args.max_events
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.process_time()
    sol = odesnn.simulate(net, params, t_span=(0.0, args.duration), backend=args.backend, throw=False, **options)
    record = {"backend": args.backend, "case": args.case, "guard": not args.no_guard, **options,
              "wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2),
              "rss_before_mib": round(before), "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                                                     / 1024),
              "status": sol.status, "n_spikes": sol.n_spikes, "t_stop_ms": float(sol.t[-1]), "message": sol.message}
    print(json.dumps(record))
    return record


if __name__ == "__main__":
    main()
