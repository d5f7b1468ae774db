"""A user-defined neuron model in a few lines: the exponential integrate-and-fire neuron.

Subclass :class:`odesnn.NeuronModel`, give the vector field ``f(v, I)`` and
the thresholds; the derivatives ``f_v`` and ``f_I`` that the adjoint needs
come from automatic differentiation (JAX), and no solver code changes::

    f(v, I) = (-v + Δ_T exp((v - v_T)/Δ_T) + I) / τ_m,   threshold 1, reset 0

(voltages scaled so that rest is 0 and the cut-off is 1). The example
simulates a small network of them and checks the adjoint gradient of the
cost with respect to the tonic currents against central differences.

Run ``python examples/custom_neuron.py``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

import odesnn


@dataclass(frozen=True)
class ExpIF(odesnn.NeuronModel):
    """Exponential IF neuron: ``τ_m dv/dt = -v + Δ_T exp((v - v_T)/Δ_T) + I``; threshold 1, reset 0."""

    tau_m: float = 10.0
    v_T: float = 0.7
    delta_T: float = 0.1
    name = "expif"

    @property
    def thresholds(self):
        return (odesnn.Threshold(1.0, +1, 0.0),)

    def f(self, v, I):  # noqa: E741 - I is the paper's name
        xp = odesnn.array_namespace(v, I)  # numpy in the SciPy backend, jax.numpy in the JAX backend
        return (-v + self.delta_T * xp.exp((v - self.v_T) / self.delta_T) + I) / self.tau_m


def main(n_neurons=3, duration=60.0, seed=0, h=1e-5):
    """Simulate ExpIF neurons, take the adjoint gradient and compare ``dC/dI0`` with finite differences.

    Returns ``(solution, grads, fd)``, ``fd`` the central differences of the cost along each ``I0[k]``.
    """
    net = odesnn.Network(n_neurons, 1, 1, neuron=ExpIF(), gate=odesnn.Gate("smooth", 0.1), tau=10.0)
    rng = np.random.default_rng(seed)
    params = net.init_params(seed=seed, w_scale=0.5, u_scale=0.2)._replace(I0=0.8 + 0.2 * rng.random(n_neurons))
    inputs = lambda t: np.array([np.sin(2 * np.pi * t / duration)])  # noqa: E731
    target = np.array([0.05])
    opts = dict(t_span=(0.0, duration), rtol=1e-10, atol=1e-12)
    sol = odesnn.simulate(net, params, inputs, target, **opts)
    cost, grads = odesnn.gradient(net, params, inputs, target, method="adjoint", **opts)
    fd = np.zeros(n_neurons)
    for k in range(n_neurons):
        step = np.zeros(n_neurons)
        step[k] = h
        up = odesnn.simulate(net, params._replace(I0=params.I0 + step), inputs, target, **opts).cost
        down = odesnn.simulate(net, params._replace(I0=params.I0 - step), inputs, target, **opts).cost
        fd[k] = (up - down) / (2 * h)
    print(sol)
    print("dC/dI0 adjoint:", grads.I0)
    print("dC/dI0 central differences:", fd)
    print(f"relative difference {np.linalg.norm(grads.I0 - fd) / np.linalg.norm(fd):.2e}")
    return sol, grads, fd


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=3)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    main(args.neurons, args.duration)
