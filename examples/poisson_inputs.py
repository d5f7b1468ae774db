"""Poisson input spike trains driving a network of adaptive LIF neurons, with the exact gradient for ``U``.

Each input channel is a Poisson spike train that drives an input synapse,
``τ_in ds_in/dt = -s_in + Σ_k δ(t - t_k)`` (:meth:`odesnn.Signal.spike_trains`);
the neurons receive ``U s_in(t)``. The solvers stop at every input spike and
integrate the exact exponential between them, so the adjoint gradient of the
cost is exact for ``U`` (and every other parameter). The example compares
the adjoint gradient for ``U`` with forward sensitivity, on the SciPy
backend and, with ``--jax``, on the JAX backend too.

Run ``python examples/poisson_inputs.py [--rate 150] [--duration 200] [--jax]``.
"""

from __future__ import annotations

import argparse

import numpy as np

import odesnn


def poisson_trains(n_channels, rate_hz, duration, seed):
    """``n_channels`` Poisson spike trains of ``rate_hz`` on ``[0, duration)`` ms."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rate_hz * duration / 1000.0, n_channels)
    return [np.sort(rng.uniform(0.0, duration, n)) for n in counts]


def main(n_neurons=5, n_inputs=3, rate=150.0, duration=200.0, tau_in=5.0, seed=0, use_jax=False):
    """Simulate, then take ``dC/dU`` by the adjoint and by forward sensitivity (and JAX with ``use_jax``).

    Returns a dict with the solution, the two gradients (``adjoint``, ``forward``, and ``jax``) and the
    relative difference ``adjoint_vs_forward`` of their ``U`` parts.
    """
    net = odesnn.Network(n_neurons, n_inputs, 1, neuron=odesnn.ALIF(), gate=odesnn.Gate("smooth", 0.1), tau=10.0)
    rng = np.random.default_rng(seed)
    params = net.init_params(seed=seed, w_scale=0.5, u_scale=1.0)._replace(
        U=np.abs(rng.standard_normal((n_neurons, n_inputs))) * 3.0, I0=np.full(n_neurons, 1.1))
    inputs = odesnn.Signal.spike_trains(poisson_trains(n_inputs, rate, duration, seed), tau_in=tau_in)
    target = np.array([0.2])
    opts = dict(t_span=(0.0, duration), rtol=1e-10, atol=1e-12)
    sol = odesnn.simulate(net, params, inputs, target, **opts)
    adjoint = odesnn.gradient(net, params, inputs, target, method="adjoint", **opts)
    forward = odesnn.gradient(net, params, inputs, target, method="forward", **opts)
    out = {"solution": sol, "adjoint": adjoint, "forward": forward,
           "adjoint_vs_forward": float(np.linalg.norm(adjoint.grads.U - forward.grads.U)
                                       / np.linalg.norm(forward.grads.U))}
    if use_jax:
        import jax

        jax.config.update("jax_enable_x64", True)
        out["jax"] = odesnn.gradient(net, params, inputs, target, backend="jax", t_span=(0.0, duration),
                                     solver="dopri8", rtol=1e-10, atol=1e-12)
        out["jax_vs_scipy"] = float(np.linalg.norm(np.asarray(out["jax"].grads.U) - adjoint.grads.U)
                                    / np.linalg.norm(adjoint.grads.U))
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--neurons", type=int, default=5, help="number of ALIF neurons")
    ap.add_argument("--inputs", type=int, default=3, help="number of input spike trains")
    ap.add_argument("--rate", type=float, default=150.0, help="Poisson rate of each input (Hz)")
    ap.add_argument("--duration", type=float, default=200.0, help="ms")
    ap.add_argument("--tau-in", type=float, default=5.0, help="input synapse time constant (ms)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the network and the spike trains")
    ap.add_argument("--jax", action="store_true", help="also take the gradient on the JAX backend")
    args = ap.parse_args()
    res = main(args.neurons, args.inputs, args.rate, args.duration, args.tau_in, args.seed, args.jax)
    sol = res["solution"]
    n_in = sum(len(t) for t in poisson_trains(args.inputs, args.rate, args.duration, args.seed))
    print(f"{n_in} input spikes, {sol.n_spikes} network spikes, cost {sol.cost:.6g}")
    print(f"dC/dU, adjoint vs forward sensitivity: relative difference {res['adjoint_vs_forward']:.2e}")
    if args.jax:
        print(f"dC/dU, JAX vs SciPy adjoint: relative difference {res['jax_vs_scipy']:.2e}")
